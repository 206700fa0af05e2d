"""Faust's Kafka transport and table manager, each with one change.

1. How long a fetch may wait for new records. Faust hard-codes ``fetch_max_wait_ms=1500`` for
   the worker's consumer. A broker that holds a fetch until that wait is up instead of
   answering when records arrive (the dev broker, Tansu, answers after about 0.5 s, measured)
   then adds that much to every hop between stages, and the stages run in bursts. A short wait
   keeps each hop at milliseconds; on a broker that answers early it only bounds how often an
   idle worker polls.
2. Faust's table manager sleeps 1 s at start before subscribing, for tables to register; this
   app has no tables (all state is in Redis), so without any it starts at once.
3. ``@app.task`` functions start only once the consumer group has formed (Faust runs them
   after recovery), which on Kafka and Tansu alike takes the broker's initial rebalance delay
   (3 s). ``@app.early_task`` functions start with the app, before the consumer joins, so
   slow set-up (loading the model) overlaps that wait instead of following it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import faust
import faust.tables
from faust.transport.drivers import aiokafka as faust_aiokafka


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads this when the consumer starts and builds its fetcher.
        consumer._fetch_max_wait_ms = getattr(self.app, "fetch_max_wait_ms", 1500)
        return consumer


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer


class TableManager(faust.tables.TableManager):
    async def on_start(self) -> None:
        if len(self):  # tables registered: Faust's own start, with its wait
            await super().on_start()
        elif not self.should_stop:
            await self._update_channels()
            await self.recovery.start()


class App(faust.App):
    """``faust.App`` whose worker consumer uses :class:`Transport`."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int = 1500, **kwargs: Any) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self._early_tasks: list[Callable[[], Awaitable[None]]] = []
        kwargs.setdefault("TableManager", TableManager)
        super().__init__(*args, **kwargs)

    def early_task(self, fun: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """Run ``fun`` in the background as the app starts, before the consumer group forms."""
        self._early_tasks.append(fun)
        return fun

    async def on_start(self) -> None:
        await super().on_start()
        for fun in self._early_tasks:
            self.add_future(fun())

    def _new_transport(self) -> Any:
        return Transport(self.conf.broker_consumer, self)
