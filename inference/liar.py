"""LIAR-binary reader: PolitiFact rows as statement fields plus a binary 'likely false' label.

The five credit-history count columns (8..12) are never read: they include the row's own
label (leakage).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from inference.model_input import kind_from_context, model_input_text

DEFAULT_LIAR_DIR = Path("/work/shared/data/liar")
POSITIVE_LABELS = frozenset({"pants-fire", "false", "barely-true"})
NEGATIVE_LABELS = frozenset({"half-true", "mostly-true", "true"})


@dataclass(frozen=True)
class LiarRow:
    """One LIAR statement with the fields a live ``Statement`` also has."""

    id: str
    label: int
    text: str
    author: str
    role: str
    state: str
    party: str
    venue: str
    subjects: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return kind_from_context(self.venue)

    def model_text(self) -> str:
        return model_input_text(
            author=self.author,
            party=self.party,
            role=self.role,
            state=self.state,
            venue=self.venue,
            subjects=self.subjects,
            kind=self.kind,
            text=self.text,
        )


def binary_label(label: str) -> int:
    if label in POSITIVE_LABELS:
        return 1
    if label in NEGATIVE_LABELS:
        return 0
    raise ValueError(f"unknown LIAR label {label!r}")


def read_liar(path: Path) -> list[LiarRow]:
    """Parse one LIAR TSV (14 columns, no header)."""
    rows: list[LiarRow] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for n, cols in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if len(cols) != 14:
                raise ValueError(f"{path}:{n}: expected 14 columns, got {len(cols)}")
            rows.append(
                LiarRow(
                    id=cols[0].removesuffix(".json"),
                    label=binary_label(cols[1]),
                    text=cols[2],
                    subjects=[s for s in cols[3].split(",") if s],
                    author=cols[4],
                    role=cols[5],
                    state=cols[6],
                    party=cols[7],
                    # cols[8:13] are the credit-history counts: deliberately skipped.
                    venue=cols[13],
                )
            )
    return rows


def load_split(name: str, data_dir: Path = DEFAULT_LIAR_DIR) -> list[LiarRow]:
    """``train`` or ``valid``."""
    return read_liar(data_dir / f"{name}.tsv")
