"""The block-weight coordinate search: pure cross-validation over hand-made texts, no I/O."""

from __future__ import annotations

import random

from inference.fields_tfidf import BlockSpec
from inference.model_input import model_input_text
from ops.member_search import coordinate_search


def _texts(n: int) -> tuple[list[str], list[int]]:
    """Party carries the label (90 %), the statement's words are noise."""
    rng = random.Random(0)
    words = ["tax", "jobs", "crime", "school", "road", "war", "health", "money", "vote", "law"]
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        party = ("red" if label else "blue") if rng.random() < 0.9 else ("blue" if label else "red")
        statement = " ".join(rng.choice(words) for _ in range(6))
        texts.append(
            model_input_text(
                author=None,
                party=party,
                role=None,
                state=None,
                venue=None,
                kind="transcript",
                subjects=None,
                text=statement,
            )
        )
        labels.append(label)
    return texts, labels


def test_search_keeps_the_best_candidate_it_tried_and_logs_each() -> None:
    texts, labels = _texts(60)
    specs = (BlockSpec("party", "whole"), BlockSpec("text", "word", (1, 1)))
    lines: list[str] = []
    found = coordinate_search(
        texts,
        labels,
        specs,
        weights=(0.5, 1.0, 2.0),
        cs=(0.5, 1.0),
        folds=3,
        passes=2,
        log=lines.append,
    )
    assert (1.0, 1.0) in found.tried  # the search starts from equal weights
    assert set(found.weights) <= {0.5, 1.0, 2.0} and found.c in (0.5, 1.0)
    best_tried = max(max(cells.values()) for cells in found.tried.values())
    assert found.auc >= best_tried - 1e-5 and found.auc == found.tried[found.weights][found.c]
    assert found.auc > 0.8  # the party block alone nearly separates the labels
    assert sum("party:whole=" in line for line in lines) == len(found.tried)
    assert any(line.startswith("# pass 1 after text:word") for line in lines)
