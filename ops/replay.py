"""``claimwatch replay FILE.jsonl``: send a recorded stream into the pipeline.

Without ``--evaluate`` the statements go to the running pipeline (``CLAIMWATCH_BROKER_URL``)
as replays: scored and decided, never posted. With ``--evaluate`` a private pipeline is
started for the run, and a report (global accuracy, ROC AUC, MCC, per-bucket metrics,
confusion matrices by bucket and time window, would-be posts under the current and an
alternative rule set, throughput) is printed and, with ``--report DIR``, written as JSON,
PNGs and an HTML page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from bot.replay import replay_file
from config.log import configure_logging, get_logger
from config.settings import get_settings
from ops.services import RUN_DIR

log = get_logger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="claimwatch replay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", type=Path, help="JSON lines, one raw statement event per line")
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, help="keep the original gaps, divided by SPEED")
    pace.add_argument("--as-fast-as-possible", action="store_true", help="no pacing (default)")
    parser.add_argument("--limit", type=int, help="replay only the first N lines")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--evaluate",
        action="store_true",
        help="run a private pipeline and report how the model did",
    )
    parser.add_argument("--report", type=Path, metavar="DIR", help="write the report here")
    parser.add_argument(
        "--alternative",
        type=Path,
        metavar="RULES.yaml",
        help="also show what this rule set would have posted",
    )
    return parser


def print_summary(report: dict[str, object]) -> None:
    g = report.get("global")
    t = report.get("throughput", {})
    print(f"\nreplayed {report['n']} statements ({report['n_labelled']} labelled)")
    if isinstance(g, dict):
        print(
            f"  accuracy {g.get('accuracy'):.3f}  ROC AUC {g.get('auc'):.3f}  "
            f"MCC {g.get('mcc'):.3f}"
        )
    would_be = report.get("would_be_posts")
    for name, posts in would_be.items() if isinstance(would_be, dict) else []:
        channels = {
            ch: {k: v for k, v in c.items() if k in ("posts", "share", "precision")}
            for ch, c in posts.get("channels", {}).items()
        }
        print(f"  would be posted under {name}: {json.dumps(channels)}")
    if isinstance(t, dict):
        print(f"  throughput: {t.get('statements_per_s')} statements/s over {t.get('seconds')} s")


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings)
    if not args.file.is_file():
        log.error("no such replay file", file=str(args.file))
        return 2
    if (args.report or args.alternative) and not args.evaluate:
        log.error("--report and --alternative need --evaluate")
        return 2
    if args.evaluate:
        from ops.evaluate import evaluate_replay

        report = evaluate_replay(
            args.file,
            settings,
            report_dir=args.report,
            alternative=args.alternative,
            limit=args.limit,
            speed=args.speed,
            progress=not args.no_progress,
            log_dir=RUN_DIR / "evaluate",
        )
        print_summary(report)
        if args.report:
            print(f"  report: {args.report / 'index.html'}")
        return 0
    sent = asyncio.run(
        replay_file(
            args.file,
            settings.bootstrap_servers,
            speed=args.speed,
            limit=args.limit,
            progress=not args.no_progress,
        )
    )
    log.info("replay sent", statements=sent, topic="claimwatch.ingest", broker=settings.broker_url)
    return 0
