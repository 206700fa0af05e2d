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


async def test_table_manager_starts_without_the_one_second_wait_when_there_are_no_tables() -> None:
    """Faust sleeps 1 s for tables to register; this app has none, so it goes straight on
    to the channel update and recovery (both stubbed here: they need a started consumer; the
    integration tests run them for real in a worker)."""
    import time

    from streams.transport import TableManager

    app = App("tables-test", broker="kafka://127.0.0.1:1", store="memory://", autodiscover=False)
    manager = app.tables
    assert isinstance(manager, TableManager) and len(manager) == 0
    started: list[str] = []

    async def update_channels() -> None:
        started.append("channels")

    async def recovery_start() -> None:
        started.append("recovery")

    manager._update_channels = update_channels  # type: ignore[method-assign]
    manager.recovery.start = recovery_start  # type: ignore[method-assign]
    t0 = time.perf_counter()
    await manager.on_start()
    assert started == ["channels", "recovery"] and time.perf_counter() - t0 < 0.5
    if app.loop is not asyncio.get_running_loop():
        app.loop.close()
