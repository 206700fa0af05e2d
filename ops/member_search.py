"""The block-weight search behind ``fields+char14+w`` (``claimwatch baselines --weight-search``).

Each block of the per-field member is l2-normalised on its own, so by default every block
weighs the same before the one C. Scaling a block by w penalises it as if its C were w**2
times larger. A coordinate search over a few weights per block, on cross-validation folds of
LIAR *train* (never validation), finds which blocks deserve more or less. The winner is then
confirmed with the full ``--cv`` and written into ``ops.baselines._MEMBER_WEIGHTS`` by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference.fields_tfidf import BlockSpec


@dataclass
class SearchResult:
    weights: tuple[float, ...]
    auc: float
    c: float
    tried: dict[tuple[float, ...], dict[float, float]] = field(default_factory=dict)


def block_name(spec: BlockSpec) -> str:
    return f"{spec.field}:{spec.analyzer}"


def coordinate_search(
    texts: Sequence[str],
    labels: Sequence[int],
    specs: Sequence[BlockSpec],
    *,
    weights: Sequence[float] = (0.5, 1.0, 1.5, 2.0),
    cs: Sequence[float] = (0.2, 0.3),
    folds: int = 5,
    passes: int = 2,
    seed: int = 1,
    log: Callable[[str], None] = print,
) -> SearchResult:
    """Start from all weights 1; for each block in turn keep the weight (of ``weights``) with
    the best mean fold AUC at its best C; stop after ``passes`` or a pass that changes nothing.
    Block matrices are built once per fold and only rescaled per candidate."""
    from scipy.sparse import hstack
    from sklearn.model_selection import RepeatedStratifiedKFold

    from inference.metrics import roc_auc
    from ops.baselines import _logreg, block_matrices

    y = np.asarray(labels)
    # one repeat of the same splitter --cv uses, so the seed means the same folds
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=1, random_state=seed)
    splits = list(splitter.split(y, y))
    cached: list[list[tuple[Any, Any]]] = []
    for tr, te in splits:
        train_t, test_t = [texts[i] for i in tr], [texts[i] for i in te]
        cached.append([block_matrices([s], train_t, test_t)[1:] for s in specs])
    result = SearchResult(tuple(1.0 for _ in specs), -1.0, cs[0])

    def evaluate(w: tuple[float, ...]) -> tuple[float, float]:
        if w not in result.tried:
            aucs: dict[float, list[float]] = {c: [] for c in cs}
            for (tr, te), blocks in zip(splits, cached, strict=True):
                x_tr = hstack([a * wi for (a, _), wi in zip(blocks, w, strict=True)]).tocsr()
                x_te = hstack([b * wi for (_, b), wi in zip(blocks, w, strict=True)]).tocsr()
                for c in cs:
                    p = _logreg(c).fit(x_tr, y[tr]).predict_proba(x_te)[:, 1]
                    aucs[c].append(roc_auc(y[te].tolist(), p))
            result.tried[w] = {c: float(np.mean(v)) for c, v in aucs.items()}
            cells = " ".join(f"C={c:g}:{m:.4f}" for c, m in result.tried[w].items())
            log(
                " ".join(f"{block_name(s)}={wi:g}" for s, wi in zip(specs, w, strict=True))
                + f" | {cells}"
            )
        c_best = max(result.tried[w], key=lambda c: result.tried[w][c])
        return result.tried[w][c_best], c_best

    result.auc, result.c = evaluate(result.weights)
    for n in range(1, passes + 1):
        changed = False
        for k, spec in enumerate(specs):
            for wk in weights:
                candidate = tuple(wk if i == k else wi for i, wi in enumerate(result.weights))
                auc, c = evaluate(candidate)
                if auc > result.auc + 1e-5:
                    result.weights, result.auc, result.c, changed = candidate, auc, c, True
            log(f"# pass {n} after {block_name(spec)}: {result.weights} {result.auc:.4f}")
        if not changed:
            break
    return result
