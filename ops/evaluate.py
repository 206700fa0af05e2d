"""Replay for evaluation: the recorded stream through the real pipeline, never posting.

A private broker + Redis and a real worker process run the file's statements through
normalize → score → decide → publish exactly as live, except that every statement is marked a
replay, so the decide stage forces dry-run on every channel (nothing is posted or added to
IPFS; the ledger records the rehearsal under ``<channel>.dry-run``). The scored records are
read back from the broker and turned into the report (``ops.report``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from config.log import get_logger
from config.settings import Settings
from ops.localstack import local_stack, start_worker, wait_for_pipeline
from ops.proc_cpu import cpu_seconds, main_thread_cpu_seconds
from ops.report import ReportRecord, build_report, write_report
from ops.services import stop_process
from ops.topic_reader import read_topic
from streams import topics
from streams.decide import evaluate
from streams.records import ScoredStatement
from streams.rules import RuleSet, load_rule_file
from streams.topics import ensure_topics, topic_specs

log = get_logger(__name__)


@dataclass(frozen=True)
class EvaluationRun:
    scored: list[ScoredStatement]
    sent: int
    seconds: float
    counts: dict[str, dict[str, int]]
    dry_run_requests: int
    live_requests: int
    cpu_s: dict[str, float]  # core-seconds each process used during the replay
    worker_loop_cpu_s: float  # of the worker's, its main thread's: the event loop, not the model


def decisions(scored: ScoredStatement, rule_sets: dict[str, RuleSet]) -> dict[str, list[str]]:
    """Pure: for each named rule set, the channels that would have posted this statement."""
    return {
        name: [ch for ch, result in evaluate(scored, rules).items() if result.publish]
        for name, rules in rule_sets.items()
    }


def report_records(
    scored: list[ScoredStatement], rule_sets: dict[str, RuleSet]
) -> list[ReportRecord]:
    return [
        ReportRecord(
            id=s.statement.id,
            said_at=s.statement.said_at,
            kind=s.statement.kind,
            p_false=s.p_false,
            bucket=s.bucket,
            bucket_ppv=s.bucket_ppv,
            label=s.statement.label,
            decisions=decisions(s, rule_sets),
        )
        for s in scored
    ]


async def run_pipeline(
    path: Path,
    settings: Settings,
    *,
    log_dir: Path,
    limit: int | None = None,
    speed: float | None = None,
    progress: bool = True,
    deadline_s: float = 3600.0,
) -> EvaluationRun:
    """Replay ``path`` through a private pipeline and collect what the score stage produced."""
    from tqdm import tqdm

    from bot.replay import read_lines, replay_file

    expected = sum(1 for _ in read_lines(path))
    expected = min(expected, limit) if limit else expected
    with local_stack(log_dir, with_publishers=False, use_external=False) as stack:
        # Rehearsals need no cards: an evaluation measures the model, not the renderer.
        stack.extra_env["CLAIMWATCH_CARDS__ENABLED"] = "false"
        specs = topic_specs(settings.partitions, settings.replication_factor)
        await ensure_topics(stack.bootstrap, specs)
        worker = start_worker(stack.env, log_dir / "worker.log")
        processes = {"worker": worker.pid, "replaying process": os.getpid()}
        for service in (stack.services.broker, stack.services.redis):
            if service.process is not None:
                processes[service.name] = service.process.pid
        cpu_before = {name: cpu_seconds(pid) or 0.0 for name, pid in processes.items()}
        loop_before = main_thread_cpu_seconds(worker.pid) or 0.0
        signalled = False
        try:
            started = time.monotonic()
            sent = await replay_file(
                path, stack.bootstrap, speed=speed, limit=limit, progress=progress, source="replay"
            )
            with tqdm(total=expected, unit="stmt", desc="pipeline", disable=not progress) as bar:
                counts = await wait_for_pipeline(
                    stack, sent, deadline_s, worker, log_dir / "worker.log", bar
                )
            seconds = time.monotonic() - started
            cpu = {
                name: round((cpu_seconds(pid) or 0.0) - cpu_before[name], 2)
                for name, pid in processes.items()
            }
            loop_cpu = round((main_thread_cpu_seconds(worker.pid) or 0.0) - loop_before, 2)
            # Everything is in the broker now: the worker's shutdown (~1.5 s) overlaps the
            # read-back instead of following it.
            worker.send_signal(signal.SIGTERM)
            signalled = True
            scored = [
                ScoredStatement.loads(r.value)
                for r in await read_topic(stack.bootstrap, topics.SCORED)
            ]
            requests = [
                json.loads(r.value) for r in await read_topic(stack.bootstrap, topics.PUBLISH)
            ]
        finally:
            stop_process(worker, signalled=signalled)
    unique = {s.statement.id: s for s in scored}  # a redelivered batch may score twice
    return EvaluationRun(
        scored=sorted(unique.values(), key=lambda s: (s.statement.said_at, s.statement.id)),
        sent=sent,
        seconds=seconds,
        counts=counts,
        dry_run_requests=sum(1 for r in requests if r.get("dry_run")),
        live_requests=sum(1 for r in requests if not r.get("dry_run")),
        cpu_s=cpu,
        worker_loop_cpu_s=loop_cpu,
    )


def scoring_window(scored: list[ScoredStatement]) -> dict[str, float | None]:
    """The score stage's own pace: from its first batch done to its last (no worker start-up,
    no tail), so a slow pipeline can be told from a slow start."""
    times = sorted(datetime.fromisoformat(s.scored_at).timestamp() for s in scored if s.scored_at)
    if len(times) < 2 or times[-1] <= times[0]:
        return {"scoring_window_s": None, "scored_per_s_in_window": None}
    after_first = sum(1 for t in times if t > times[0])
    window = times[-1] - times[0]
    return {
        "scoring_window_s": round(window, 2),
        "scored_per_s_in_window": round(after_first / window, 2),
    }


def current_rules(settings: Settings) -> RuleSet:
    """The live rules when the configured Redis holds some (read only), else the config seed."""
    from redis.asyncio import Redis

    from streams.rules import RedisRuleStore

    async def load() -> RuleSet | None:
        client = Redis.from_url(settings.redis_url, socket_connect_timeout=1)
        try:
            return await RedisRuleStore(client).load()
        except Exception:
            return None
        finally:
            await client.aclose()

    return asyncio.run(load()) or RuleSet.from_table(settings.thresholds.rules)


def evaluate_replay(
    path: Path,
    settings: Settings,
    *,
    report_dir: Path | None,
    alternative: Path | None,
    limit: int | None,
    speed: float | None,
    progress: bool,
    log_dir: Path,
) -> dict[str, Any]:
    rule_sets = {"current": current_rules(settings)}
    descriptions = {"current": f"rules v{rule_sets['current'].version} in force"}
    if alternative is not None:
        rule_sets["alternative"] = load_rule_file(alternative)
        descriptions["alternative"] = str(alternative)
    run = asyncio.run(
        run_pipeline(path, settings, log_dir=log_dir, limit=limit, speed=speed, progress=progress)
    )
    if run.live_requests:
        raise RuntimeError(f"replay produced {run.live_requests} live publish requests")
    throughput = {
        "statements_sent": run.sent,
        "statements_scored": len(run.scored),
        "seconds": round(run.seconds, 2),
        "statements_per_s": round(run.sent / run.seconds, 2) if run.seconds else None,
        "dry_run_publish_requests": run.dry_run_requests,
        "stage_counts": run.counts,
        "cpu_s": run.cpu_s,
        "worker_loop_cpu_s": run.worker_loop_cpu_s,
        **scoring_window(run.scored),
    }
    report = build_report(
        report_records(run.scored, rule_sets), rule_sets=descriptions, throughput=throughput
    )
    if report_dir is not None:
        written = write_report(report, report_dir)
        log.info("report written", dir=str(report_dir), files=len(written))
    return report
