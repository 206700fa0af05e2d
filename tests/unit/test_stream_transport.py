"""The worker's consumer gets our fetch wait, not Faust's hard-coded 1.5 s (streams/transport)."""

from __future__ import annotations

import asyncio

from streams.transport import App, ConsumerThread


async def test_worker_consumer_uses_the_configured_fetch_wait() -> None:
    app = App(
        "transport-test",
        broker="kafka://127.0.0.1:1",  # never contacted: the consumer is built, not started
        fetch_max_wait_ms=77,
        store="memory://",
        autodiscover=False,
    )
    thread = app.consumer._thread  # type: ignore[attr-defined]
    try:
        assert isinstance(thread, ConsumerThread)
        consumer = thread._create_worker_consumer(app.transport)
        assert consumer._fetch_max_wait_ms == 77
        await consumer.stop()
    finally:
        thread.thread_loop.close()  # the consumer thread's own loop, never started here
        if app.loop is not asyncio.get_running_loop():
            app.loop.close()


def test_the_default_is_fausts_own() -> None:
    assert App("transport-default", broker="kafka://127.0.0.1:1").fetch_max_wait_ms == 1500
