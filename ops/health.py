"""``claimwatch health``: is everything the worker needs reachable, and is it keeping up?

Checks the broker, Redis and the IPFS RPC API; shows each stage's outcome counters (from
Redis) and the worker group's lag per topic (end offset minus committed offset). Exits 1 when
the broker or Redis is unreachable, so it can serve as a container health check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from config.settings import Settings, get_settings
from streams import keys, topics

STAGES = ("normalize", "score", "decide", "publish")
CONSUMED = (topics.INGEST, topics.STATEMENTS, topics.SCORED, topics.PUBLISH)


async def group_lag(settings: Settings) -> dict[str, int]:
    """Messages not yet committed by the worker group, per consumed topic.

    A consumer that names the group but never subscribes reads its committed offsets without
    joining it, so the check never triggers a rebalance of the running workers.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.faust.app_id,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        lag: dict[str, int] = {}
        for topic in CONSUMED:
            tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            ends = await consumer.end_offsets(tps) if tps else {}
            total = 0
            for tp, end in ends.items():
                total += end - (await consumer.committed(tp) or 0)
            lag[topic] = total
        return lag
    finally:
        await consumer.stop()


async def check(settings: Settings) -> dict[str, Any]:
    import httpx
    from redis.asyncio import Redis

    from ops.services import broker_ready

    report: dict[str, Any] = {"ok": True}
    broker_ok = await asyncio.to_thread(broker_ready, settings.bootstrap_servers[0])
    report["broker"] = {"url": settings.broker_url, "ok": broker_ok}
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2)
    try:
        await redis.ping()
        report["redis"] = {"ok": True}
        counters = {}
        for stage in STAGES:
            raw = await redis.hgetall(keys.counters(stage))
            counters[stage] = {k.decode(): int(v) for k, v in raw.items()}
        report["counters"] = counters
    except Exception as exc:
        report["redis"] = {"ok": False, "error": str(exc)}
    finally:
        await redis.aclose()
    try:
        async with httpx.AsyncClient(timeout=3) as client:
            response = await client.post(f"{settings.ipfs.api_url.rstrip('/')}/api/v0/version")
        report["ipfs"] = {"url": settings.ipfs.api_url, "ok": response.status_code == 200}
    except httpx.HTTPError as exc:
        report["ipfs"] = {"url": settings.ipfs.api_url, "ok": False, "error": str(exc)}
    if broker_ok:
        try:
            report["lag"] = await group_lag(settings)
        except Exception as exc:
            report["lag"] = {"error": str(exc)}
    report["ok"] = broker_ok and report["redis"]["ok"]
    return report


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="claimwatch health", description=__doc__)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = asyncio.run(check(get_settings()))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for part in ("broker", "redis", "ipfs"):
            info = report[part]
            state = "ok" if info.get("ok") else f"DOWN ({info.get('error', 'no answer')})"
            print(f"{part:<8} {state}")
        for stage, counts in report.get("counters", {}).items():
            print(f"{stage:<9} {json.dumps(counts, sort_keys=True)}")
        if "lag" in report:
            print(f"lag      {json.dumps(report['lag'])}")
    return 0 if report["ok"] else 1
