"""``claimwatch baselines``: the reference models the shipped one is compared against, and the
linear ensemble member.

TF-IDF + logistic regression on LIAR-binary validation, on the statement text alone, on the
same model input the transformer sees (metadata prefix + text) as one word block, and as
per-field blocks plus character n-grams of the statement (inference/fields_tfidf.py).
``--save`` writes the per-field model as JSON: the numpy ensemble member of the shipped
artifact. ``--cv`` prints the train-only repeated 5-fold cross-validation that chose its
configuration and C (validation is the calibration and report set, so it selects nothing).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from inference.fields_tfidf import BlockSpec

# The per-field configurations compared by --cv; every block is one TfidfVectorizer.
_FIELDS = (
    BlockSpec("text", "word", (1, 2), min_df=2, sublinear_tf=True),
    BlockSpec("speaker", "whole", min_df=2),
    BlockSpec("party", "whole"),
    BlockSpec("role", "word", (1, 2), min_df=2),
    BlockSpec("state", "whole", min_df=2),
    BlockSpec("venue", "word", (1, 2), min_df=2, sublinear_tf=True),
    BlockSpec("subjects", "list", min_df=2),
    BlockSpec("kind", "whole"),
)
_CHAR14 = BlockSpec("text", "char_wb", (1, 4), min_df=3, sublinear_tf=True)
# Block weights of _FIELDS + _CHAR14 (a block scaled by w is penalised as if its C were w**2
# times larger): statement words up, party, state and subjects down. Chosen by a train-only
# 5-fold coordinate search over {0.5, 1, 1.5, 2} per block (--weight-search), confirmed by --cv.
_MEMBER_WEIGHTS = (1.5, 1.0, 0.5, 1.0, 0.5, 1.0, 0.5, 1.0, 1.0)
CONFIGS: dict[str, tuple[BlockSpec, ...]] = {
    "metadata": (BlockSpec("full", "word", (1, 2), min_df=2, sublinear_tf=True),),
    "fields": _FIELDS,
    "fields+char25": (
        *_FIELDS,
        BlockSpec("text", "char_wb", (2, 5), min_df=3, sublinear_tf=True, max_features=100000),
    ),
    "fields+char14": (*_FIELDS, _CHAR14),
    "fields+char14+w": tuple(
        replace(s, weight=w) for s, w in zip((*_FIELDS, _CHAR14), _MEMBER_WEIGHTS, strict=True)
    ),
}
MEMBER_CONFIG = "fields+char14+w"  # the --cv winner (docs/model.md)
MEMBER_C = 0.15
CV_C = (0.1, 0.15, 0.2, 0.3, 1.0)


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


def block_matrices(
    specs: Sequence[BlockSpec], train_texts: Sequence[str], other_texts: Sequence[str]
) -> tuple[list[Any], Any, Any]:
    """Fit one vectorizer per block on ``train_texts``; hstacked matrices for both sets
    (``None`` for an empty ``other_texts``), each block scaled by its ``spec.weight``."""
    from scipy.sparse import hstack

    from inference.fields_tfidf import parse_fields, sklearn_vectorizer

    train_fields = [parse_fields(t) for t in train_texts]
    other_fields = [parse_fields(t) for t in other_texts]
    vecs, train_x, other_x = [], [], []
    for spec in specs:
        vec = sklearn_vectorizer(spec)
        train_x.append(vec.fit_transform([f[spec.field] for f in train_fields]) * spec.weight)
        if other_fields:
            other_x.append(vec.transform([f[spec.field] for f in other_fields]) * spec.weight)
        vecs.append(vec)
    return vecs, hstack(train_x).tocsr(), hstack(other_x).tocsr() if other_x else None


def _logreg(c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=3000)


def fit_fields_member(
    train_texts: list[str],
    train_labels: list[int],
    *,
    config: str = MEMBER_CONFIG,
    c: float = MEMBER_C,
    check_texts: Sequence[str] = (),
) -> Any:
    """The per-field member fitted with scikit-learn, returned as the numpy model.

    ``check_texts`` are scored both ways; the largest |difference| is kept in ``meta``.
    """
    import numpy as np
    import sklearn

    from inference.fields_tfidf import FieldsTfidfLogReg

    specs = CONFIGS[config]
    vecs, x, x_check = block_matrices(specs, train_texts, check_texts)
    clf = _logreg(c).fit(x, train_labels)
    meta: dict[str, Any] = {
        "config": config,
        "C": c,
        "trained_on": f"LIAR-binary train (n={len(train_texts)})",
        "selected_by": "claimwatch baselines --cv (train-only repeated 5-fold ROC AUC)",
        "sklearn_version": sklearn.__version__,
    }
    model = FieldsTfidfLogReg.from_sklearn(specs, vecs, clf, meta=meta)
    if len(check_texts):
        expected = clf.predict_proba(x_check)[:, 1]
        diff = float(np.max(np.abs(model.predict_proba(check_texts) - expected)))
        model.meta["parity_max_abs_diff"] = diff
        model.meta["parity_n"] = len(check_texts)
    return model


def cross_validate(
    texts: list[str],
    labels: list[int],
    configs: Sequence[str],
    cs: Sequence[float],
    *,
    repeats: int = 3,
    seed: int = 1,
) -> dict[tuple[str, float], tuple[float, float]]:
    """Mean and standard error of ROC AUC over repeated stratified 5-fold splits of ``texts``.

    Each fold's vectorizers are fitted once and shared by every C.
    """
    import numpy as np
    from sklearn.model_selection import RepeatedStratifiedKFold

    from inference.metrics import roc_auc

    y = np.asarray(labels)
    folds = RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=seed)
    aucs: dict[tuple[str, float], list[float]] = {(n, c): [] for n in configs for c in cs}
    for tr, te in folds.split(np.zeros(len(y)), y):
        for name in configs:
            _, x_tr, x_te = block_matrices(
                CONFIGS[name], [texts[i] for i in tr], [texts[i] for i in te]
            )
            for c in cs:
                p = _logreg(c).fit(x_tr, y[tr]).predict_proba(x_te)[:, 1]
                aucs[(name, c)].append(roc_auc(y[te].tolist(), p))
    return {k: (float(np.mean(v)), float(np.std(v) / np.sqrt(len(v)))) for k, v in aucs.items()}


def cv_table(results: dict[tuple[str, float], tuple[float, float]], repeats: int) -> str:
    """The --cv result as Markdown, the winner (highest mean AUC) named below it."""
    configs = list(dict.fromkeys(n for n, _ in results))
    cs = list(dict.fromkeys(c for _, c in results))
    lines = [
        f"| config | {' | '.join(f'C={c:g}' for c in cs)} |",
        f"| --- | {' | '.join('---:' for _ in cs)} |",
    ]
    for name in configs:
        cells = [f"{results[(name, c)][0]:.4f} ± {results[(name, c)][1]:.4f}" for c in cs]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    best = max(results, key=lambda k: results[k][0])
    lines += [
        "",
        f"Mean ROC AUC ± standard error over {5 * repeats} folds (5-fold x {repeats}, "
        f"LIAR-binary train only). Best: {best[0]} C={best[1]:g}; "
        f"--save fits {MEMBER_CONFIG} C={MEMBER_C:g}.",
    ]
    return "\n".join(lines)


def run(data_dir: Path, save: Path | None, c: float, fields_c: float = MEMBER_C) -> dict[str, Any]:
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
    valid_texts = [r.model_text() for r in valid]
    member = fit_fields_member(
        [r.model_text() for r in train], y_train, c=fields_c, check_texts=valid_texts
    )
    results["tfidf_lr_fields_char"] = summary(y_valid, member.predict_proba(valid_texts))
    diff = member.meta["parity_max_abs_diff"]
    print(f"numpy vs scikit-learn, fields member: max |p diff| {diff:.1e}")
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_text(json.dumps(member.to_json()), encoding="utf-8")
        print(f"wrote {save} ({save.stat().st_size / 1e6:.1f} MB)")
    return results


def main(argv: list[str]) -> int:
    from inference.liar import DEFAULT_LIAR_DIR, load_split

    p = argparse.ArgumentParser(prog="claimwatch baselines", description=__doc__)
    p.add_argument("--data-dir", type=Path, default=DEFAULT_LIAR_DIR)
    p.add_argument(
        "--save", type=Path, default=None, help="write the per-field ensemble member JSON here"
    )
    p.add_argument("--c", type=float, default=1.0, help="inverse L2 strength, word-block rows")
    p.add_argument("--fields-c", type=float, default=MEMBER_C, help="C of the per-field member")
    p.add_argument(
        "--cv",
        action="store_true",
        help="print the train-only repeated 5-fold CV table (config x C) instead",
    )
    p.add_argument("--cv-configs", default=",".join(CONFIGS), help="comma-separated")
    p.add_argument("--cv-c", default=",".join(f"{c:g}" for c in CV_C), help="comma-separated")
    p.add_argument("--cv-repeats", type=int, default=3)
    p.add_argument(
        "--weight-search",
        action="store_true",
        help="train-only coordinate search over the fields+char14 block weights",
    )
    args = p.parse_args(argv)
    if args.weight_search:
        from ops.member_search import coordinate_search

        train = load_split("train", args.data_dir)
        found = coordinate_search(
            [r.model_text() for r in train], [r.label for r in train], CONFIGS["fields+char14"]
        )
        print(
            f"best: weights {found.weights} C={found.c:g} 5-fold AUC {found.auc:.4f} "
            f"({len(found.tried)} tried); confirm with --cv before using"
        )
        return 0
    if args.cv:
        configs = [n for n in args.cv_configs.split(",") if n]
        unknown = set(configs) - set(CONFIGS)
        if unknown:
            p.error(f"unknown --cv-configs {sorted(unknown)}; known: {', '.join(CONFIGS)}")
        train = load_split("train", args.data_dir)
        cv = cross_validate(
            [r.model_text() for r in train],
            [r.label for r in train],
            configs,
            [float(c) for c in args.cv_c.split(",") if c],
            repeats=args.cv_repeats,
        )
        print(cv_table(cv, args.cv_repeats))
        return 0
    results = run(args.data_dir, args.save, args.c, args.fields_c)
    print(f"{'model':<22} {'n':>5} {'acc':>6} {'auc':>6} {'mcc':>6}")
    for name, m in results.items():
        print(f"{name:<22} {m['n']:>5} {m['accuracy']:.3f} {m['auc']:.3f} {m['mcc']:.3f}")
    return 0
