"""A fitted TF-IDF + logistic-regression model applied with numpy only.

scikit-learn fits it (``claimwatch baselines``); the worker applies the exported JSON with the
same tokenisation (lower-case, ``\\b\\w\\w+\\b`` tokens, word n-grams), so it can be averaged
with the transformer in an ensemble without scikit-learn at run time. This is the first
ensemble member's format (``"kind": "tfidf-logreg"``); :func:`load_linear_member` also reads the
per-field model (inference/fields_tfidf.py) by its ``kind``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from inference.fields_tfidf import FieldsTfidfLogReg

TOKEN = re.compile(r"(?u)\b\w\w+\b")


class LinearMember(Protocol):
    """What the scorer needs of an ensemble member: p(label=1) per model-input text."""

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


class TfidfLogReg:
    def __init__(
        self,
        vocabulary: dict[str, int],
        idf: np.ndarray,
        coef: np.ndarray,
        intercept: float,
        ngram_range: tuple[int, int] = (1, 2),
        sublinear_tf: bool = True,
    ) -> None:
        self.vocabulary = vocabulary
        self.idf = idf
        self.coef = coef
        self.intercept = intercept
        self.ngram_range = ngram_range
        self.sublinear_tf = sublinear_tf

    def _features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        tokens = TOKEN.findall(text.lower())
        lo, hi = self.ngram_range
        grams: list[str] = []
        for n in range(lo, hi + 1):
            grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        counts = Counter(g for g in grams if g in self.vocabulary)
        cols = np.array([self.vocabulary[g] for g in counts], dtype=np.int64)
        tf = np.array(list(counts.values()), dtype=np.float64)
        if self.sublinear_tf:
            tf = 1.0 + np.log(tf)
        vals = tf * self.idf[cols] if len(cols) else tf
        norm = np.linalg.norm(vals)
        return cols, (vals / norm if norm > 0 else vals)

    def decision(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty(len(texts), dtype=np.float64)
        for i, text in enumerate(texts):
            cols, vals = self._features(text)
            out[i] = float(vals @ self.coef[cols]) + self.intercept if len(cols) else self.intercept
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """p(label=1) per text."""
        return 1.0 / (1.0 + np.exp(-self.decision(texts)))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "tfidf-logreg",
            "ngram_range": list(self.ngram_range),
            "sublinear_tf": self.sublinear_tf,
            "vocabulary": self.vocabulary,
            "idf": self.idf.round(6).tolist(),
            "coef": self.coef.round(6).tolist(),
            "intercept": round(self.intercept, 6),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TfidfLogReg:
        lo, hi = data["ngram_range"]
        return cls(
            vocabulary={str(k): int(v) for k, v in data["vocabulary"].items()},
            idf=np.asarray(data["idf"], dtype=np.float64),
            coef=np.asarray(data["coef"], dtype=np.float64),
            intercept=float(data["intercept"]),
            ngram_range=(int(lo), int(hi)),
            sublinear_tf=bool(data["sublinear_tf"]),
        )

    @classmethod
    def load(cls, path: Path) -> TfidfLogReg:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_sklearn(cls, vectorizer: Any, classifier: Any) -> TfidfLogReg:
        return cls(
            vocabulary={str(k): int(v) for k, v in vectorizer.vocabulary_.items()},
            idf=np.asarray(vectorizer.idf_, dtype=np.float64),
            coef=np.asarray(classifier.coef_[0], dtype=np.float64),
            intercept=float(classifier.intercept_[0]),
            ngram_range=tuple(vectorizer.ngram_range),
            sublinear_tf=bool(vectorizer.sublinear_tf),
        )


def load_linear_member(path: Path) -> LinearMember:
    """An ensemble member JSON of either kind (``tfidf-logreg`` or ``fields-tfidf-logreg``)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    kind = data.get("kind")
    if kind == "tfidf-logreg":
        return TfidfLogReg.from_json(data)
    if kind == "fields-tfidf-logreg":
        return FieldsTfidfLogReg.from_json(data)
    raise ValueError(f"{path}: unknown ensemble member kind {kind!r}")
