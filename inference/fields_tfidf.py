"""Per-field TF-IDF + logistic regression, applied with numpy/Python only.

The model-input text (``kind | speaker | party | role | state | venue | subjects || statement``,
see inference/model_input.py) is split back into its fields; each *block* vectorises one field
with its own analyzer and vocabulary, is l2-normalised on its own (as scikit-learn's
``TfidfVectorizer`` does per matrix), and the blocks are stacked before one logistic
regression. Unlike one word block over the whole text (inference/tfidf.py), speaker, party,
subjects and the statement's character n-grams each get their own vocabulary settings and
norm; this won the train-only cross-validation (docs/model.md). scikit-learn fits it
(``claimwatch baselines --save``); this module reproduces ``predict_proba`` of the fitted
pipeline (to float rounding) so the worker needs neither scikit-learn nor scipy.

Analyzers (``BlockSpec.analyzer``):

- ``word``: scikit-learn's default word analyzer (lower-case, ``\\b\\w\\w+\\b``, word n-grams);
- ``char_wb``: scikit-learn's ``char_wb`` (lower-case, n-grams inside space-padded words);
- ``whole``: the field value as one token (none when empty);
- ``list``: comma-separated items, stripped (the subjects field).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

KIND = "fields-tfidf-logreg"
FORMAT_VERSION = 1
FIELDS = ("kind", "speaker", "party", "role", "state", "venue", "subjects", "text", "full")
ANALYZERS = ("word", "char_wb", "whole", "list")
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
_WHITE_SPACES = re.compile(r"\s\s+")  # scikit-learn's whitespace normalisation for char n-grams
WORD_CACHE_SIZE = 1 << 15  # words whose character-block columns are kept (per block)


@dataclass(frozen=True)
class BlockSpec:
    """One block: which field, how it is tokenised, and its TfidfVectorizer settings."""

    field: str
    analyzer: str
    ngram_range: tuple[int, int] = (1, 1)
    min_df: int = 1
    sublinear_tf: bool = False
    max_features: int | None = None
    # Training only: the block's normalised matrix is scaled by this before the regression (a
    # per-block regularisation strength). ``from_sklearn`` folds it into the coefficients, so
    # a fitted model's specs all have weight 1 and the JSON does not carry it.
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.field not in FIELDS:
            raise ValueError(f"unknown field {self.field!r}; one of {FIELDS}")
        if self.analyzer not in ANALYZERS:
            raise ValueError(f"unknown analyzer {self.analyzer!r}; one of {ANALYZERS}")


def parse_fields(model_text: str) -> dict[str, str]:
    """The model-input text back into its fields (the scorer only has the text); ``full`` is
    the whole text (the single-block metadata model of ``claimwatch baselines``).

    Prefix fields cannot contain ``|`` (model_input replaces it), so the first ``" || "`` ends
    the prefix. A text without the prefix is treated as a bare statement with empty fields.
    """
    prefix, sep, text = model_text.partition(" || ")
    if not sep:
        return dict.fromkeys(FIELDS, "") | {"text": model_text, "full": model_text}
    values = prefix.split(" | ")
    values += [""] * (7 - len(values))
    out = dict(zip(FIELDS[:7], values[:7], strict=True))
    out["text"] = text
    out["full"] = model_text
    return out


def whole_field(value: str) -> list[str]:
    """The ``whole`` analyzer (also handed to scikit-learn as a callable when fitting)."""
    return [value] if value else []


def comma_list(value: str) -> list[str]:
    """The ``list`` analyzer: ``"health care, taxes"`` -> ``["health care", "taxes"]``."""
    return [item.strip() for item in value.split(",") if item.strip()]


def word_ngrams(value: str, ngram_range: tuple[int, int]) -> list[str]:
    """scikit-learn's word analyzer (no stop words)."""
    tokens = _TOKEN.findall(value.lower())
    lo, hi = ngram_range
    grams = list(tokens) if lo == 1 else []
    n_tokens = len(tokens)
    for n in range(max(lo, 2), min(hi + 1, n_tokens + 1)):
        grams += [" ".join(tokens[i : i + n]) for i in range(n_tokens - n + 1)]
    return grams


def _padded_word_ngrams(w: str, lo: int, hi: int) -> list[str]:
    """n-grams of one space-padded word; one shorter than n yields itself once, then stops."""
    grams: list[str] = []
    w_len = len(w)
    for n in range(lo, hi + 1):
        if w_len <= n:
            grams.append(w)
            break
        grams += [w[i : i + n] for i in range(w_len - n + 1)]
    return grams


def _char_wb_words(value: str) -> list[str]:
    """The space-padded words ``char_wb`` cuts n-grams from (lower-cased first, as sklearn)."""
    return [f" {word} " for word in _WHITE_SPACES.sub(" ", value.lower()).split()]


def char_wb_ngrams(value: str, ngram_range: tuple[int, int]) -> list[str]:
    """scikit-learn's ``char_wb`` analyzer: n-grams of each space-padded word."""
    lo, hi = ngram_range
    return [g for w in _char_wb_words(value) for g in _padded_word_ngrams(w, lo, hi)]


def analyzer_for(spec: BlockSpec) -> Callable[[str], list[str]]:
    """The tokens of one field value under ``spec`` (what the vocabulary is looked up with)."""
    if spec.analyzer == "word":
        return lambda v: word_ngrams(v, spec.ngram_range)
    if spec.analyzer == "char_wb":
        return lambda v: char_wb_ngrams(v, spec.ngram_range)
    if spec.analyzer == "whole":
        return whole_field
    return comma_list


class _Block:
    """A fitted block: term -> column, with idf and coefficient per column.

    Word and whole-field blocks touch a few columns per statement: a Python loop over Python
    floats beats numpy's per-call overhead there. The character block touches hundreds, and
    its n-grams depend only on the word, so each word's columns are cached and the arithmetic
    is done in numpy.
    """

    def __init__(
        self, spec: BlockSpec, terms: list[str], idf: np.ndarray, coef: np.ndarray
    ) -> None:
        self.spec = spec
        self.analyze = analyzer_for(spec)
        self.columns = {t: i for i, t in enumerate(terms)}
        self.idf_array, self.coef_array = idf, coef
        self.idf, self.coef = idf.tolist(), coef.tolist()
        self._word_columns = lru_cache(maxsize=WORD_CACHE_SIZE)(self._word_columns_uncached)

    def decision(self, value: str) -> float:
        """This block's share of the logit: (l2-normalised tf-idf row) . coef."""
        if self.spec.analyzer == "char_wb":
            return self._char_decision(value)
        counts = Counter(self.analyze(value))
        columns, idf, coef, sublinear = self.columns, self.idf, self.coef, self.spec.sublinear_tf
        dot = 0.0
        sumsq = 0.0
        for term, count in counts.items():
            j = columns.get(term)
            if j is None:
                continue
            v = ((1.0 + math.log(count)) if sublinear else float(count)) * idf[j]
            dot += v * coef[j]
            sumsq += v * v
        return dot / math.sqrt(sumsq) if sumsq > 0.0 else 0.0

    def _word_columns_uncached(self, padded_word: str) -> np.ndarray:
        lo, hi = self.spec.ngram_range
        grams = _padded_word_ngrams(padded_word, lo, hi)
        found = np.asarray([j for j in map(self.columns.get, grams) if j is not None], np.int64)
        found.flags.writeable = False  # shared through the cache
        return found

    def _char_decision(self, value: str) -> float:
        words = _char_wb_words(value)
        if not words:
            return 0.0
        cols, counts = np.unique(
            np.concatenate([self._word_columns(w) for w in words]), return_counts=True
        )
        if not len(cols):
            return 0.0
        tf = counts.astype(np.float64)
        if self.spec.sublinear_tf:
            tf = 1.0 + np.log(tf)
        v = tf * self.idf_array[cols]
        sumsq = float(v @ v)
        return float(v @ self.coef_array[cols]) / math.sqrt(sumsq) if sumsq > 0.0 else 0.0


class FieldsTfidfLogReg:
    """The fitted pipeline: blocks (each with a slice of the coefficient vector) + intercept."""

    def __init__(
        self,
        specs: Sequence[BlockSpec],
        vocabularies: Sequence[Sequence[str]],
        idfs: Sequence[np.ndarray],
        coef: np.ndarray,
        intercept: float,
        meta: dict[str, Any] | None = None,
    ) -> None:
        sizes = [len(v) for v in vocabularies]
        if [len(i) for i in idfs] != sizes or sum(sizes) != len(coef):
            raise ValueError(f"block sizes {sizes} do not match idf/coef ({len(coef)} columns)")
        if any(s.weight != 1.0 for s in specs):
            raise ValueError("block weights belong in coef (FieldsTfidfLogReg.from_sklearn)")
        self.specs = list(specs)
        self.vocabularies = [list(v) for v in vocabularies]
        self.idfs = [np.asarray(i, dtype=np.float64) for i in idfs]
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = float(intercept)
        self.meta = dict(meta or {})
        offsets = np.cumsum([0, *sizes])
        self._blocks = [
            _Block(s, list(v), i, self.coef[lo:hi])
            for s, v, i, lo, hi in zip(
                self.specs, self.vocabularies, self.idfs, offsets[:-1], offsets[1:], strict=True
            )
        ]

    @property
    def n_features(self) -> int:
        return len(self.coef)

    def decision(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty(len(texts), dtype=np.float64)
        for i, text in enumerate(texts):
            fields = parse_fields(text)
            out[i] = self.intercept + sum(b.decision(fields[b.spec.field]) for b in self._blocks)
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """p(label=1) per model-input text."""
        return 1.0 / (1.0 + np.exp(-self.decision(texts)))

    def to_json(self) -> dict[str, Any]:
        """Full float precision (``repr``): rounding would move scores by ~1e-6."""
        offsets = np.cumsum([0, *(len(v) for v in self.vocabularies)])
        return {
            "kind": KIND,
            "format_version": FORMAT_VERSION,
            "input": "model-input text v1, fields parsed by inference.fields_tfidf.parse_fields",
            "meta": self.meta,
            "blocks": [
                {
                    **{k: v for k, v in asdict(s).items() if k != "weight"},
                    "offset": int(lo),
                    "terms": v,
                    "idf": i.tolist(),
                }
                for s, v, i, lo in zip(
                    self.specs, self.vocabularies, self.idfs, offsets[:-1], strict=True
                )
            ],
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FieldsTfidfLogReg:
        if data.get("kind") != KIND or int(data.get("format_version", 0)) != FORMAT_VERSION:
            raise ValueError(f"not a {KIND} v{FORMAT_VERSION} model: {data.get('kind')!r}")
        specs, vocabularies, idfs = [], [], []
        for block in data["blocks"]:
            lo, hi = block["ngram_range"]
            specs.append(
                BlockSpec(
                    field=block["field"],
                    analyzer=block["analyzer"],
                    ngram_range=(int(lo), int(hi)),
                    min_df=int(block["min_df"]),
                    sublinear_tf=bool(block["sublinear_tf"]),
                    max_features=block.get("max_features"),
                )
            )
            vocabularies.append([str(t) for t in block["terms"]])
            idfs.append(np.asarray(block["idf"], dtype=np.float64))
        return cls(
            specs,
            vocabularies,
            idfs,
            np.asarray(data["coef"], dtype=np.float64),
            float(data["intercept"]),
            meta=data.get("meta"),
        )

    @classmethod
    def load(cls, path: Path) -> FieldsTfidfLogReg:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_sklearn(
        cls,
        specs: Sequence[BlockSpec],
        vectorizers: Sequence[Any],
        classifier: Any,
        meta: dict[str, Any] | None = None,
    ) -> FieldsTfidfLogReg:
        """From fitted ``TfidfVectorizer`` per block (in ``specs`` order) and the classifier.

        The classifier saw each block scaled by ``spec.weight``; coef . (w x) = (w coef) . x,
        so the weight is folded into that block's coefficients (serving never scales) and
        kept in ``meta["block_weights"]``.
        """
        vocabularies = []
        for vec in vectorizers:
            terms = [""] * len(vec.vocabulary_)
            for term, col in vec.vocabulary_.items():
                terms[int(col)] = str(term)
            vocabularies.append(terms)
        coef = np.array(classifier.coef_[0], dtype=np.float64)
        lo = 0
        for spec, terms in zip(specs, vocabularies, strict=True):
            coef[lo : lo + len(terms)] *= spec.weight
            lo += len(terms)
        weights = [s.weight for s in specs]
        if any(w != 1.0 for w in weights):
            meta = {**(meta or {}), "block_weights": weights}
        return cls(
            [replace(s, weight=1.0) for s in specs],
            vocabularies,
            [np.asarray(v.idf_, dtype=np.float64) for v in vectorizers],
            coef,
            float(classifier.intercept_[0]),
            meta=meta,
        )


def sklearn_vectorizer(spec: BlockSpec) -> Any:
    """The scikit-learn ``TfidfVectorizer`` a block is fitted with (fit time only)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    common: dict[str, Any] = {
        "min_df": spec.min_df,
        "sublinear_tf": spec.sublinear_tf,
        "max_features": spec.max_features,
    }
    if spec.analyzer in ("word", "char_wb"):
        return TfidfVectorizer(analyzer=spec.analyzer, ngram_range=spec.ngram_range, **common)
    return TfidfVectorizer(
        analyzer=whole_field if spec.analyzer == "whole" else comma_list, **common
    )
