"""``claimwatch card --text "..."``: score a statement with the shipped model and render its card.

For operators (what would the bot post?) and for the README's example card. Uses integrated
gradients when the artifact folder holds the gradient graph (``claimwatch export-ig``), else
the leave-one-out fallback, and the card says which.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _parse_time(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC).replace(microsecond=0)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    from config.settings import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="claimwatch card", description=__doc__)
    parser.add_argument("--text", required=True, help="the statement")
    parser.add_argument("--author", default="Unknown speaker", help="who said it")
    parser.add_argument("--party", default=None)
    parser.add_argument("--role", default=None)
    parser.add_argument("--state", default=None)
    parser.add_argument("--venue", default=None)
    parser.add_argument("--subjects", default="", help="comma-separated")
    parser.add_argument("--kind", default="transcript", choices=["transcript", "tweet"])
    parser.add_argument("--said-at", default=None, help="ISO time (default: now, UTC)")
    parser.add_argument("--url", default=None, help="source link")
    parser.add_argument("--out", default="card.png", help="PNG path (alt text goes to .txt)")
    parser.add_argument("--model-dir", default=settings.model.artifact_path)
    parser.add_argument("--steps", type=int, default=settings.cards.ig_steps, help="IG steps")
    parser.add_argument("--ig-graph", default=settings.cards.ig_graph_file, help="in model-dir")
    parser.add_argument(
        "--attribution",
        choices=["auto", "ig", "loo", "none"],
        default=settings.cards.attribution,
        help="auto: integrated gradients if the IG graph exists, else leave-one-out",
    )
    return parser


def render_statement(args: argparse.Namespace) -> tuple[Any, dict[str, float]]:
    """Score, attribute and render; returns the rendered card and timings in seconds."""
    from cards.build import card_data, short_id
    from cards.render import render_card
    from inference.attributions import attribute, load_attributor
    from inference.buckets import lookup
    from inference.model_input import model_input_text
    from inference.scorer import Scorer

    scorer = Scorer.from_artifact(args.model_dir, provider="cpu")
    full = model_input_text(
        author=args.author,
        party=args.party,
        role=args.role,
        state=args.state,
        venue=args.venue,
        subjects=[s.strip() for s in args.subjects.split(",") if s.strip()],
        kind=args.kind,
        text=args.text,
    )
    timings: dict[str, float] = {}
    probs, _ = scorer.p_false_texts([full])
    p_false = float(probs[0])
    attributions = None
    suffix = ""
    if args.attribution != "none":
        start = time.perf_counter()
        method = load_attributor(
            args.model_dir,
            steps=args.steps,
            ig_filename=args.ig_graph,
            prefer=args.attribution,
            scoring_filename=str(scorer.manifest["model_file"]),
        )
        attributions = attribute(
            method,
            scorer.tokenizer,
            full,
            args.text,
            baseline="mask" if method.method_name == "leave-one-out" else "pad",
            max_tokens=scorer.max_length,
        )
        timings["attribution_s"] = time.perf_counter() - start
        if scorer.tfidf is not None:
            suffix = ", transformer part"
    said_at = _parse_time(args.said_at)
    card = card_data(
        statement=args.text,
        p_false=p_false,
        bucket_row=lookup(scorer.table, p_false),
        global_summary=scorer.buckets["global"],
        speaker=args.author,
        said_at=said_at,
        source_url=args.url,
        model_version=scorer.model_version,
        statement_id=short_id(args.author, args.text, said_at.isoformat()),
        attributions=attributions,
        method_suffix=suffix,
    )
    start = time.perf_counter()
    rendered = render_card(card)
    timings["render_s"] = time.perf_counter() - start
    return rendered, timings


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from cards.data import CardError
    from inference.attributions import AttributionError

    if not (Path(args.model_dir) / "manifest.json").exists():
        print(
            f"claimwatch card: no model artifact in {args.model_dir} "
            "(run 'claimwatch export-model' first)",
            file=sys.stderr,
        )
        return 2
    try:
        rendered, timings = render_statement(args)
    except (CardError, AttributionError) as exc:
        print(f"claimwatch card: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(rendered.png)
    out.with_suffix(".txt").write_text(rendered.alt_text + "\n", encoding="utf-8")
    times = ", ".join(f"{k} {v:.2f}" for k, v in timings.items())
    print(f"wrote {out} ({len(rendered.png) / 1024:.0f} KiB; {times})")
    print(rendered.alt_text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
