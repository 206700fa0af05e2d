"""``claimwatch bench replay``: end-to-end replay throughput against scoring alone.

In one run, on the same statements: (1) the shipped model scoring them directly (the ceiling),
(2) ``claimwatch replay --evaluate`` pushing them through the real pipeline (broker, worker,
normalize → score → decide → dry-run publish) and writing the report. Pipeline overhead is
1 - (end-to-end rate / scoring rate). Goals: overhead < 10 %, and 13,000 statements replayed
with the report in under 3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from config.log import configure_logging
from config.settings import get_settings
from ops.bench_doc import machine, write_section
from ops.services import RUN_DIR
from streams.records import Statement
from streams.validation import validate

SAMPLE = Path("ops/samples/liar_valid.jsonl")


def build_stream(n: int, sample: Path, out: Path) -> Path:
    """``n`` statements: the sample repeated, each copy with its own external id."""
    lines = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines() if line]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for i in range(n):
            event = dict(lines[i % len(lines)])
            event["external_id"] = f"{event['external_id']}#copy{i // len(lines)}"
            fh.write(json.dumps(event) + "\n")
    return out


def statements(path: Path) -> list[Statement]:
    settings = get_settings()
    now = datetime.now(UTC)
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        result = validate(line.encode(), settings.stream, now)
        if isinstance(result, Statement):
            out.append(result)
    return out


def scoring_only(items: list[Statement]) -> tuple[float, float]:
    """Statements/s and the CPU core-seconds it took (every thread of this process).

    The score agent's takes, scored ``model.score_concurrency`` at a time as its actors do,
    with the same threads per call: the model using the cores the worker gives it, nothing
    else."""
    from inference.scorer import Scorer

    m = get_settings().model
    scorer = Scorer.from_settings(m)
    takes = [items[i : i + m.take_max] for i in range(0, len(items), m.take_max)]
    scorer.score(takes[0][:8])  # the first call builds ONNX Runtime's kernels: not counted
    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(m.score_concurrency) as pool:
        for _ in pool.map(scorer.score, takes):
            pass
    return len(items) / (time.perf_counter() - started), time.process_time() - cpu


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="claimwatch bench replay", description=__doc__)
    parser.add_argument("--n", type=int, default=13_000)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.model_copy(update={"log_level": "warning"}))
    bench_dir = RUN_DIR / "bench-replay"
    stream = build_stream(args.n, SAMPLE, bench_dir / f"stream-{args.n}.jsonl")

    score_rate, model_cpu = scoring_only(statements(stream))

    from ops.evaluate import evaluate_replay

    started = time.perf_counter()
    report = evaluate_replay(
        stream,
        settings,
        report_dir=bench_dir / "report",
        alternative=None,
        limit=None,
        speed=None,
        progress=True,
        log_dir=bench_dir,
    )
    wall = time.perf_counter() - started
    e2e_rate = args.n / wall
    overhead = 1 - e2e_rate / score_rate
    t = report["throughput"]
    in_window = t.get("scored_per_s_in_window")
    window_gap = f"{1 - in_window / score_rate:.1%}" if in_window else "n/a"
    cpu = t.get("cpu_s", {})
    pipeline_cpu = sum(cpu.values())
    loop_cpu = t.get("worker_loop_cpu_s", 0.0)
    cpu_parts = ", ".join(f"{name} {value:.1f}" for name, value in cpu.items())
    body = "\n".join(
        [
            "## Replay (end to end) vs scoring only",
            "",
            f"Command: `{shlex.join(['claimwatch', 'bench', 'replay', *argv])}`",
            f"Machine: {machine()}; run {datetime.now(UTC):%Y-%m-%d}",
            "",
            "| measure | value | goal |",
            "| --- | --- | --- |",
            f"| statements replayed | {args.n:,} | 13,000 |",
            f"| scoring only (same model and statements, in-process) | "
            f"{score_rate:.1f} statements/s | |",
            f"| end to end incl. services start, report written | "
            f"{wall:.1f} s = {e2e_rate:.1f} statements/s | < 180 s |",
            f"| pipeline (replay → scored → decided, excl. report) | {t['seconds']} s = "
            f"{t['statements_per_s']} statements/s | |",
            f"| pipeline overhead vs scoring only | {overhead:.1%} | < 10 % |",
            f"| score stage's own pace, first to last batch (no start-up, no tail) | "
            f"{t['scored_per_s_in_window']} statements/s over {t['scoring_window_s']} s = "
            f"{window_gap} below scoring only | |",
            f"| statements scored / dry-run publish requests | {t['statements_scored']:,} / "
            f"{t['dry_run_publish_requests']:,} | |",
            f"| CPU of scoring only (model and member, all threads) | {model_cpu:.1f} "
            f"core-s = {1000 * model_cpu / args.n:.2f} ms a statement | |",
            f"| CPU of the pipeline's processes during the replay ({cpu_parts}) | "
            f"{pipeline_cpu:.1f} core-s = {1000 * pipeline_cpu / args.n:.2f} ms a statement | |",
            f"| of the worker's, its event-loop thread (every stage's Python, broker and Redis "
            f"clients; the model runs on other threads) | {loop_cpu:.1f} core-s = "
            f"{1000 * loop_cpu / args.n:.2f} ms a statement | |",
            f"| CPU beyond the model's | {pipeline_cpu - model_cpu:.1f} core-s = "
            f"{(pipeline_cpu - model_cpu) / model_cpu:.0%} of the model's | < 10 % needs "
            f"< {0.1 * model_cpu:.1f} core-s |",
            "",
            "End to end includes starting a private broker and Redis, the worker's start and model "
            "load, every stage's broker round trips and Redis writes, and the report (JSON, PNGs, "
            "HTML). Scoring only is the same model called directly on the same statements, in the "
            f"score agent's takes of {settings.model.take_max} (length-sorted, model calls of "
            f"{settings.model.max_batch}), {settings.model.score_concurrency} at a time on "
            f"{settings.model.intra_op_threads or 'all'} thread(s) each, as the worker runs them. "
            f"Faust flow control: max_poll_records={settings.faust.max_poll_records}, "
            f"stream_buffer_maxsize={settings.faust.stream_buffer_maxsize}.",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("replay", body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
