"""The Faust app and its topics. Agents are stateless: all state lives in Redis.

Faust tables are deliberately not used: the dev broker (Tansu) breaks their changelog
recovery, and Redis state is shared with the sources and the operator tools anyway.
"""

from __future__ import annotations

from pathlib import Path

from config.settings import Settings, get_settings
from streams import topics
from streams.records import DeadLetter, Published, PublishRequest, ScoredStatement, Statement
from streams.transport import App

RUN_DIR = Path(__file__).resolve().parent.parent / ".run"


def create_app(settings: Settings) -> App:
    f = settings.faust
    return App(
        f.app_id,
        fetch_max_wait_ms=f.fetch_max_wait_ms,
        broker=settings.broker_url,
        store="memory://",
        datadir=str(RUN_DIR / "faust-data"),
        autodiscover=False,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=False,  # ops/ creates topics explicitly with the right counts
        broker_session_timeout=f.session_timeout_s,
        broker_heartbeat_interval=f.heartbeat_interval_s,
        broker_rebalance_timeout=f.rebalance_timeout_s,
        broker_commit_interval=f.commit_interval_s,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        web_enabled=f.web_enabled,
        web_port=f.web_port,
        stream_ack_exceptions=False,
        broker_max_poll_records=f.max_poll_records,
        stream_buffer_maxsize=f.stream_buffer_maxsize,
    )


settings = get_settings()
app = create_app(settings)

ingest_topic = app.topic(
    topics.INGEST, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
)
statements_topic = app.topic(
    topics.STATEMENTS, key_type=bytes, key_serializer="raw", value_type=Statement
)
scored_topic = app.topic(
    topics.SCORED, key_type=bytes, key_serializer="raw", value_type=ScoredStatement
)
publish_topic = app.topic(
    topics.PUBLISH, key_type=bytes, key_serializer="raw", value_type=PublishRequest
)
published_topic = app.topic(
    topics.PUBLISHED, key_type=bytes, key_serializer="raw", value_type=Published
)
deadletter_topic = app.topic(
    topics.DEADLETTER, key_type=bytes, key_serializer="raw", value_type=DeadLetter
)
