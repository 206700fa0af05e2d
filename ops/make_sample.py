"""Build the bundled sample stream from LIAR validation statements.

LIAR (Wang, ACL 2017; research use) carries no dates, so each statement gets a synthetic
``said_at`` 17 minutes after the previous one, starting 2024-01-01. The credit-history counts
are never copied (they leak the label). Binary label: pants-fire, false, barely-true -> 1.
"""

from __future__ import annotations

import argparse
import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ops.services import REPO_ROOT

LIAR_VALID = REPO_ROOT.parent / "shared" / "data" / "liar" / "valid.tsv"
OUT = REPO_ROOT / "ops" / "samples" / "liar_valid.jsonl"
FALSE_LABELS = {"pants-fire", "false", "barely-true"}
START = datetime(2024, 1, 1, tzinfo=UTC)


def kind_of(context: str) -> str:
    lowered = context.lower()
    return "tweet" if "tweet" in lowered or "twitter" in lowered else "transcript"


def rows_to_events(rows: list[list[str]]) -> list[dict[str, object]]:
    events = []
    for i, row in enumerate(rows):
        if len(row) < 14:
            continue
        liar_id, label, text, subjects, speaker, job, state, party = row[:8]
        context = row[13]
        events.append(
            {
                "schema_version": 1,
                "source": "replay",
                "kind": kind_of(context),
                "external_id": f"liar:{liar_id}",
                "author": speaker.replace("-", " ").title() if speaker else "unknown",
                "text": text,
                "said_at": (START + timedelta(minutes=17 * i)).isoformat(),
                "url": f"https://www.politifact.com/search/?q={liar_id.removesuffix('.json')}",
                "party": party or None,
                "role": job or None,
                "state": state or None,
                "venue": context or None,
                "subjects": [s for s in subjects.split(",") if s],
                "label": 1 if label in FALSE_LABELS else 0,
            }
        )
    return events


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="claimwatch make-sample", description=__doc__)
    parser.add_argument("--liar", type=Path, default=LIAR_VALID)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with args.liar.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    events = rows_to_events(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for event in events:
            fh.write(json.dumps(event, ensure_ascii=False) + "\n")
    print(f"wrote {len(events)} statements to {args.out}")
    return 0
