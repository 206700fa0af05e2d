"""Topic names, owned here and nowhere else, and their explicit creation.

Topics are created explicitly with the configured partition count before any worker starts:
brokers that auto-create (Tansu does, with 4 partitions) would otherwise pick the count.
"""

from __future__ import annotations

from dataclasses import dataclass

INGEST = "claimwatch.ingest"  # raw, unvalidated events from sources (bytes, JSON expected)
STATEMENTS = "claimwatch.statements"  # validated, de-duplicated Statement
SCORED = "claimwatch.scored"  # ScoredStatement
PUBLISH = "claimwatch.publish"  # PublishRequest, one per enabled channel
PUBLISHED = "claimwatch.published"  # Published
DEADLETTER = "claimwatch.deadletter"  # DeadLetter

ALL_TOPICS = (INGEST, STATEMENTS, SCORED, PUBLISH, PUBLISHED, DEADLETTER)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int


def topic_specs(partitions: int, replication_factor: int = 1) -> list[TopicSpec]:
    return [TopicSpec(name, partitions, replication_factor) for name in ALL_TOPICS]


async def ensure_topics(bootstrap_servers: list[str], specs: list[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            await admin.create_topics(
                [NewTopic(s.name, s.partitions, s.replication_factor) for s in missing]
            )
        return [s.name for s in missing]
    finally:
        await admin.close()
