"""Per-word attributions of p(false), at run time with onnxruntime only (no torch).

Two methods, one output type (:class:`Attributions`):

- :class:`IntegratedGradients` runs the gradient graph built by :mod:`inference.ig_export`
  (Gauss-Legendre quadrature over ``steps`` points on the straight path from a pad/mask
  baseline to the input embeddings) and reports the convergence delta
  ``sum(attributions) - (p(input) - p(baseline))``.
- :class:`LeaveOneOut` is the cheap fallback when that graph is missing: one batched run of the
  *scoring* graph with each statement word replaced by the mask (or pad) token; a word's score
  is ``p(input) - p(input without the word)``. Cards label which method was used.

Scores are "pushes toward false" when positive. Sub-word tokens are merged into the
statement's whitespace-separated words; tokens of the metadata prefix (speaker, party, ...)
are summed into one ``context_score`` instead of being shown word by word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from config.errors import ClaimWatchError
from inference.model_input import normalise_text

DEFAULT_STEPS = 32
Baseline = Literal["pad", "mask"]
_WORD = re.compile(r"\S+")


class AttributionError(ClaimWatchError, RuntimeError):
    """Attributions could not be computed (bad graph, empty statement, ...)."""


@dataclass(frozen=True)
class WordScore:
    """One statement word and its attribution (``None``: beyond the model's token limit)."""

    text: str
    score: float | None


@dataclass(frozen=True)
class Attributions:
    """Word attributions of p(false) for one statement, with how they were obtained."""

    words: tuple[WordScore, ...]
    method: str
    p_false: float
    context_score: float
    convergence_delta: float | None = None
    steps: int | None = None
    truncated: bool = False


@dataclass(frozen=True)
class TokenScores:
    """Raw per-token output of an attribution method, before merging into words."""

    scores: np.ndarray  # [seq] float
    p_input: float
    p_baseline: float | None = None


class Session(Protocol):
    """The slice of ``onnxruntime.InferenceSession`` used here (a fake in tests)."""

    def run(
        self, output_names: Sequence[str] | None, input_feed: dict[str, np.ndarray]
    ) -> list: ...

    def get_inputs(self) -> list: ...

    def get_outputs(self) -> list: ...


def gauss_legendre(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature points and weights on [0, 1] (captum's default ``gausslegendre``)."""
    if steps < 1:
        raise AttributionError(f"steps must be >= 1, got {steps}")
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return ((nodes + 1.0) / 2.0).astype(np.float32), (weights / 2.0).astype(np.float32)


def cpu_session(path: str | Path, threads: int | None = None) -> ort.InferenceSession:
    """A CPU onnxruntime session (attributions are rare: one per published card)."""
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _softmax_false(out: np.ndarray, false_index: int, output_name: str) -> np.ndarray:
    """p(false) per row from the scoring graph's first output (logits or probabilities)."""
    out = np.asarray(out, dtype=np.float64)
    if out.ndim == 1:  # already p(false) per row
        return out
    if "prob" in output_name.lower():
        return out[:, false_index]
    shifted = out - out.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=1, keepdims=True))[:, false_index]


class IntegratedGradients:
    """Runs the IG gradient graph; ``chunk_steps`` bounds memory for long statements."""

    method_name = "integrated gradients"

    def __init__(self, session: Session, *, steps: int = DEFAULT_STEPS, chunk_steps: int = 16):
        names = {i.name for i in session.get_inputs()}
        missing = {"input_ids", "baseline_ids", "attention_mask", "alphas", "weights"} - names
        if missing:
            raise AttributionError(f"not an IG graph: missing inputs {sorted(missing)}")
        self.session = session
        self.steps = steps
        self.chunk_steps = max(1, chunk_steps)

    def token_scores(self, ids: np.ndarray, baseline_ids: np.ndarray) -> TokenScores:
        alphas, weights = gauss_legendre(self.steps)
        # Two zero-weight rows give p(baseline) and p(input) for the convergence delta.
        alphas = np.concatenate([alphas, np.array([0.0, 1.0], dtype=np.float32)])
        weights = np.concatenate([weights, np.zeros(2, dtype=np.float32)])
        feed_ids = ids.astype(np.int64)[None, :]
        feed_base = baseline_ids.astype(np.int64)[None, :]
        mask = np.ones_like(feed_ids)
        total = np.zeros(ids.shape[0], dtype=np.float64)
        probs: list[np.ndarray] = []
        for start in range(0, alphas.shape[0], self.chunk_steps):
            attr, path_probs = self.session.run(
                ["attributions", "path_probs"],
                {
                    "input_ids": feed_ids,
                    "baseline_ids": feed_base,
                    "attention_mask": mask,
                    "alphas": alphas[start : start + self.chunk_steps],
                    "weights": weights[start : start + self.chunk_steps],
                },
            )
            total += np.asarray(attr, dtype=np.float64)
            probs.append(np.asarray(path_probs, dtype=np.float64))
        all_probs = np.concatenate(probs)
        return TokenScores(total, p_input=float(all_probs[-1]), p_baseline=float(all_probs[-2]))

    def describe(self) -> str:
        return f"{self.method_name} ({self.steps} steps)"


class LeaveOneOut:
    """Batched occlusion with the scoring graph: one row per statement word plus the input."""

    method_name = "leave-one-out"

    def __init__(self, session: Session, *, false_index: int = 1, batch_size: int = 32):
        self.session = session
        self.false_index = false_index
        self.batch_size = max(1, batch_size)
        self.input_names = [i.name for i in session.get_inputs()]
        self.output_name = session.get_outputs()[0].name
        if "input_ids" not in self.input_names:
            raise AttributionError(f"scoring graph has no input_ids: {self.input_names}")

    def p_false(self, rows: np.ndarray) -> np.ndarray:
        """p(false) for a batch of equal-length id rows."""
        out: list[np.ndarray] = []
        for start in range(0, rows.shape[0], self.batch_size):
            chunk = rows[start : start + self.batch_size].astype(np.int64)
            feed: dict[str, np.ndarray] = {"input_ids": chunk}
            if "attention_mask" in self.input_names:
                feed["attention_mask"] = np.ones_like(chunk)
            if "token_type_ids" in self.input_names:
                feed["token_type_ids"] = np.zeros_like(chunk)
            (logits,) = self.session.run([self.output_name], feed)
            out.append(_softmax_false(logits, self.false_index, self.output_name))
        return np.concatenate(out)

    def group_scores(
        self, ids: np.ndarray, groups: Sequence[Sequence[int]], replacement: int
    ) -> tuple[np.ndarray, float]:
        """Score of each token group (p(input) minus p with the group replaced)."""
        rows = np.repeat(ids[None, :], len(groups) + 1, axis=0)
        for row, group in enumerate(groups, start=1):
            rows[row, list(group)] = replacement
        probs = self.p_false(rows)
        return probs[0] - probs[1:], float(probs[0])

    def describe(self) -> str:
        return f"{self.method_name} (word masked)"


@dataclass(frozen=True)
class _Layout:
    """Which tokens belong to which statement word, and which to the metadata prefix."""

    word_spans: tuple[tuple[int, int], ...]  # char spans of the statement's words in full text
    word_tokens: tuple[tuple[int, ...], ...]
    context_tokens: tuple[int, ...]
    truncated: bool


def _layout(encoding: Encoding, full_text: str, statement_start: int) -> _Layout:
    spans = tuple(
        (m.start() + statement_start, m.end() + statement_start)
        for m in _WORD.finditer(full_text[statement_start:])
    )
    word_tokens: list[list[int]] = [[] for _ in spans]
    context: list[int] = []
    last_end = 0
    for index, ((start, end), special) in enumerate(
        zip(encoding.offsets, encoding.special_tokens_mask, strict=True)
    ):
        if special or end <= start:
            continue
        last_end = max(last_end, end)
        if end <= statement_start:
            context.append(index)
            continue
        for word, (w_start, w_end) in enumerate(spans):
            if start < w_end and end > w_start:
                word_tokens[word].append(index)
                break
    truncated = bool(spans) and last_end < spans[-1][1]
    return _Layout(spans, tuple(tuple(t) for t in word_tokens), tuple(context), truncated)


def _encode(tokenizer: Tokenizer, text: str, max_tokens: int) -> Encoding:
    """Encode truncated and unpadded, leaving the caller's tokenizer settings as they were."""
    truncation, padding = tokenizer.truncation, tokenizer.padding
    tokenizer.enable_truncation(max_tokens)
    tokenizer.no_padding()
    try:
        return tokenizer.encode(text)
    finally:
        if truncation:
            tokenizer.enable_truncation(**truncation)
        else:
            tokenizer.no_truncation()
        if padding:
            tokenizer.enable_padding(**padding)


def _special_id(tokenizer: Tokenizer, baseline: Baseline) -> int:
    candidates = ("[PAD]", "<pad>") if baseline == "pad" else ("[MASK]", "<mask>")
    for token in candidates:
        token_id = tokenizer.token_to_id(token)
        if token_id is not None:
            return int(token_id)
    raise AttributionError(f"tokenizer has no {baseline} token (tried {candidates})")


def attribute(
    method: IntegratedGradients | LeaveOneOut,
    tokenizer: Tokenizer,
    full_text: str,
    statement: str,
    *,
    baseline: Baseline = "pad",
    max_tokens: int = 256,
) -> Attributions:
    """Attributions over the words of ``statement`` inside the model input ``full_text``.

    ``full_text`` is what :func:`inference.model_input.model_input_text` returned; it ends with
    the normalised statement, which fixes where the statement's words start.
    """
    body = normalise_text(statement)
    if not body:
        raise AttributionError("empty statement")
    if not full_text.endswith(body):
        raise AttributionError("full_text does not end with the normalised statement")
    statement_start = len(full_text) - len(body)
    encoding = _encode(tokenizer, full_text, max_tokens)
    layout = _layout(encoding, full_text, statement_start)
    ids = np.asarray(encoding.ids, dtype=np.int64)
    replacement = _special_id(tokenizer, baseline)
    words_text = [full_text[s:e] for s, e in layout.word_spans]

    if isinstance(method, IntegratedGradients):
        special = np.asarray(encoding.special_tokens_mask, dtype=bool)
        baseline_ids = np.where(special, ids, replacement)
        scores = method.token_scores(ids, baseline_ids)
        token = scores.scores
        word_scores = [
            float(token[list(toks)].sum()) if toks else None for toks in layout.word_tokens
        ]
        context = float(token[list(layout.context_tokens)].sum()) if layout.context_tokens else 0.0
        assert scores.p_baseline is not None
        delta = float(token.sum() - (scores.p_input - scores.p_baseline))
        return Attributions(
            words=tuple(WordScore(w, s) for w, s in zip(words_text, word_scores, strict=True)),
            method=method.describe(),
            p_false=scores.p_input,
            context_score=context,
            convergence_delta=delta,
            steps=method.steps,
            truncated=layout.truncated,
        )

    present = [i for i, toks in enumerate(layout.word_tokens) if toks]
    groups = [layout.word_tokens[i] for i in present]
    if layout.context_tokens:
        groups.append(layout.context_tokens)
    deltas, p_input = method.group_scores(ids, groups, replacement)
    by_word: dict[int, float] = {w: float(d) for w, d in zip(present, deltas, strict=False)}
    context = float(deltas[-1]) if layout.context_tokens else 0.0
    return Attributions(
        words=tuple(WordScore(w, by_word.get(i)) for i, w in enumerate(words_text)),
        method=method.describe(),
        p_false=p_input,
        context_score=context,
        truncated=layout.truncated,
    )


def load_attributor(
    model_dir: str | Path,
    *,
    steps: int = DEFAULT_STEPS,
    false_index: int = 1,
    ig_filename: str = "attributions.ig.onnx",
    scoring_filename: str = "model.int8.onnx",
    prefer: Literal["auto", "ig", "loo"] = "auto",
) -> IntegratedGradients | LeaveOneOut:
    """IG when the gradient graph sits in ``model_dir`` (``auto``), else leave-one-out."""
    folder = Path(model_dir)
    ig_path = folder / ig_filename
    if prefer == "ig" and not ig_path.exists():
        raise AttributionError(f"no IG graph at {ig_path} (build it: claimwatch export-ig)")
    if ig_path.exists() and prefer != "loo":
        return IntegratedGradients(cpu_session(ig_path), steps=steps)
    scoring = folder / scoring_filename
    if not scoring.exists():
        candidates = sorted(folder.glob("*.onnx"))
        if not candidates:
            raise AttributionError(f"no ONNX graph in {folder}")
        scoring = candidates[0]
    return LeaveOneOut(cpu_session(scoring), false_index=false_index)
