"""Does a topic already hold a record with this key, written since a given time?

Used only on the rare path where a worker died between sending a statement and recording that
it did: rather than risk a second copy, look at the output partition's recent records.
"""

from __future__ import annotations

from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition

# Records are looked for from this long before the claim, to allow for clock skew.
SKEW_MS = 10_000


class OutputProbe(Protocol):
    async def found(self, keys: set[bytes], since_ms: int) -> set[bytes]:
        """Which of ``keys`` the topic holds in records written since ``since_ms``."""
        ...


class KafkaOutputProbe:
    def __init__(self, bootstrap_servers: list[str], topic: str) -> None:
        self._bootstrap = bootstrap_servers
        self._topic = topic

    async def found(self, keys: set[bytes], since_ms: int) -> set[bytes]:
        hits: set[bytes] = set()
        if not keys:
            return hits
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(self._topic) or set()
            tps = [TopicPartition(self._topic, p) for p in sorted(partitions)]
            if not tps:
                return hits
            consumer.assign(tps)
            end = await consumer.end_offsets(tps)
            starts = await consumer.offsets_for_times(
                {tp: max(0, since_ms - SKEW_MS) for tp in tps}
            )
            pending = set()
            for tp in tps:
                found = starts.get(tp)
                start = found.offset if found is not None else end[tp]
                if start < end[tp]:
                    consumer.seek(tp, start)
                    pending.add(tp)
            while pending:
                batch = await consumer.getmany(*pending, timeout_ms=1000)
                for tp, records in batch.items():
                    for record in records:
                        if record.key in keys:
                            hits.add(record.key)
                        if record.offset + 1 >= end[tp]:
                            pending.discard(tp)
                if not batch or hits == keys:
                    break
            return hits
        finally:
            await consumer.stop()
