"""``claimwatch baselines``: the reference models the shipped one is compared against.

TF-IDF + logistic regression on LIAR-binary validation, on the statement text alone and on
the same model input the transformer sees (metadata prefix + text). ``--save`` writes the
metadata model as JSON for the numpy ensemble member (inference/tfidf.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def fit_tfidf_lr(
    train_texts: list[str], train_labels: list[int], *, c: float = 1.0, min_df: int = 2
) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=min_df, sublinear_tf=True)
    x = vec.fit_transform(train_texts)
    clf = LogisticRegression(C=c, max_iter=2000)
    clf.fit(x, train_labels)
    return vec, clf


def run(data_dir: Path, save: Path | None, c: float) -> dict[str, Any]:
    from inference.liar import load_split
    from inference.metrics import summary
    from inference.tfidf import TfidfLogReg

    train, valid = load_split("train", data_dir), load_split("valid", data_dir)
    y_train = [r.label for r in train]
    y_valid = [r.label for r in valid]
    results: dict[str, Any] = {}
    for name, pick in (
        ("tfidf_lr_text", lambda r: r.text),
        ("tfidf_lr_metadata", lambda r: r.model_text()),
    ):
        vec, clf = fit_tfidf_lr([pick(r) for r in train], y_train, c=c)
        model = TfidfLogReg.from_sklearn(vec, clf)
        p = model.predict_proba([pick(r) for r in valid])
        results[name] = summary(y_valid, p)
        if save is not None and name == "tfidf_lr_metadata":
            save.parent.mkdir(parents=True, exist_ok=True)
            save.write_text(json.dumps(model.to_json()), encoding="utf-8")
    return results


def main(argv: list[str]) -> int:
    from inference.liar import DEFAULT_LIAR_DIR

    p = argparse.ArgumentParser(prog="claimwatch baselines", description=__doc__)
    p.add_argument("--data-dir", type=Path, default=DEFAULT_LIAR_DIR)
    p.add_argument("--save", type=Path, default=None, help="write the metadata model JSON here")
    p.add_argument("--c", type=float, default=1.0, help="inverse L2 strength")
    args = p.parse_args(argv)
    results = run(args.data_dir, args.save, args.c)
    print(f"{'model':<22} {'n':>5} {'acc':>6} {'auc':>6} {'mcc':>6}")
    for name, m in results.items():
        print(f"{name:<22} {m['n']:>5} {m['accuracy']:.3f} {m['auc']:.3f} {m['mcc']:.3f}")
    return 0
