"""Score statements with the exported artifact: tokenizers + onnxruntime + numpy only.

The stream's ``score`` agent hands a micro-batch of ``Statement`` records to
:meth:`Scorer.score`; each comes back as a :class:`ScoreResult` or, when the model cannot score
it (tokenizer error, empty after normalisation), a :class:`ScoreError` to dead-letter.
Inside, statements are sorted by token length and padded to each sub-batch's longest, so a
short tweet never pays for a long transcript segment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from config.log import get_logger
from inference.buckets import lookup
from inference.int8_weights import StorageChoice
from inference.model_input import INPUT_FORMAT_VERSION, normalise_text, statement_input_text
from inference.runtime import OnnxSession, ProviderChoice
from inference.tfidf import LinearMember, load_linear_member

log = get_logger(__name__)

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ScoreResult:
    statement_id: str
    p_false: float
    prediction: int
    confidence: float
    bucket: int
    bucket_ceiling: float
    bucket_accuracy: float
    bucket_ppv: float | None
    bucket_npv: float | None
    truncated: bool
    tokens: int


@dataclass(frozen=True)
class ScoreError:
    statement_id: str
    reason: str


@dataclass(frozen=True)
class _Encoded:
    position: int
    ids: list[int]
    type_ids: list[int]
    truncated: bool


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def softmax_p1(logits: np.ndarray) -> np.ndarray:
    """p(class 1) from two-class logits, numerically stable."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e[:, 1] / e.sum(axis=1))


def pad_batch(items: Sequence[_Encoded], pad_id: int) -> dict[str, np.ndarray]:
    """Right-pad to the longest item in this batch."""
    width = max(len(e.ids) for e in items)
    ids = np.full((len(items), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(items), width), dtype=np.int64)
    types = np.zeros((len(items), width), dtype=np.int64)
    for row, e in enumerate(items):
        n = len(e.ids)
        ids[row, :n] = e.ids
        mask[row, :n] = 1
        types[row, :n] = e.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


class Scorer:
    """The loaded artifact: tokenizer, ONNX session, bucket table, identity."""

    def __init__(
        self,
        *,
        session: OnnxSession,
        tokenizer: Any,
        manifest: Mapping[str, Any],
        buckets: Mapping[str, Any],
        max_length: int,
        max_batch: int,
        model_sha256: str,
        tfidf: LinearMember | None = None,
        transformer_weight: float = 1.0,
    ) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.manifest = manifest
        self.buckets = buckets
        self.table = buckets["tables"]["all"]
        self.max_length = max_length
        self.max_batch = max_batch
        self.model_version = str(manifest["model_version"])
        self.model_sha256 = model_sha256
        self.pad_id = int(manifest.get("pad_id", 0))
        self.tfidf = tfidf
        self.transformer_weight = transformer_weight
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length)

    @property
    def provider(self) -> str:
        return self.session.provider

    @classmethod
    def from_artifact(
        cls,
        path: str | Path,
        *,
        max_length: int | None = None,
        max_batch: int = 32,
        intra_op_threads: int = 0,
        provider: ProviderChoice = "auto",
        model_file: str | None = None,
        int8_weights: StorageChoice = "auto",
    ) -> Scorer:
        """Load an artifact folder written by ``claimwatch export-model``.

        ``model_file`` overrides the manifest's (e.g. the fp32 graph for the benchmark);
        ``int8_weights`` says how the quantised weights run (``auto``: int8 where this CPU
        multiplies them exactly, see ``inference.int8_weights``).
        """
        from tokenizers import Tokenizer

        folder = Path(path)
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        fmt = int(manifest.get("input_format_version", -1))
        if fmt != INPUT_FORMAT_VERSION:
            raise ValueError(
                f"{folder}: artifact expects input format v{fmt}, this code writes "
                f"v{INPUT_FORMAT_VERSION}; re-export the model"
            )
        model_path = Path(model_file) if model_file else folder / manifest["model_file"]
        if not model_path.is_absolute() and not model_path.exists():
            model_path = folder / model_path
        buckets = json.loads((folder / manifest["buckets_file"]).read_text(encoding="utf-8"))
        tokenizer = Tokenizer.from_file(str(folder / manifest["tokenizer_file"]))
        ensemble = manifest.get("ensemble") or {}
        tfidf = load_linear_member(folder / ensemble["tfidf_file"]) if ensemble else None
        session = OnnxSession(
            model_path,
            provider=provider,
            intra_op_threads=intra_op_threads,
            int8_weights=int8_weights,
        )
        sha = manifest.get("sha256", {}).get(model_path.name) or sha256_file(model_path)
        return cls(
            session=session,
            tokenizer=tokenizer,
            manifest=manifest,
            buckets=buckets,
            max_length=int(max_length or manifest["max_length"]),
            max_batch=max_batch,
            model_sha256=sha,
            tfidf=tfidf,
            transformer_weight=float(ensemble.get("transformer_weight", 1.0)),
        )

    @classmethod
    def from_settings(cls, m: Any) -> Scorer:
        """The scorer the worker runs, from ``settings.model`` (``config.ModelSettings``)."""
        return cls.from_artifact(
            m.artifact_path,
            max_length=m.max_length,
            max_batch=m.max_batch,
            intra_op_threads=m.intra_op_threads,
            provider=m.provider,
            int8_weights=m.int8_weights,
        )

    def encode(self, texts: Sequence[str]) -> list[_Encoded | str]:
        """Token ids per text, or the reason it cannot be tokenised."""
        try:
            encodings = self.tokenizer.encode_batch(list(texts))
            return [self._encoded(i, e) for i, e in enumerate(encodings)]
        except Exception:  # one bad text: find it without failing the others
            out: list[_Encoded | str] = []
            for i, text in enumerate(texts):
                try:
                    out.append(self._encoded(i, self.tokenizer.encode(text)))
                except Exception as exc:
                    out.append(f"tokenizer error: {type(exc).__name__}: {exc}"[:300])
            return out

    @staticmethod
    def _encoded(position: int, enc: Any) -> _Encoded:
        return _Encoded(position, list(enc.ids), list(enc.type_ids), bool(enc.overflowing))

    def p_false_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, list[_Encoded | str]]:
        """p(false) for model-input texts (NaN where untokenisable), plus the encodings."""
        encoded = self.encode(texts)
        probs = np.full(len(texts), np.nan, dtype=np.float64)
        good = sorted((e for e in encoded if isinstance(e, _Encoded)), key=lambda e: len(e.ids))
        for start in range(0, len(good), self.max_batch):
            chunk = good[start : start + self.max_batch]
            p = softmax_p1(self.session.logits(pad_batch(chunk, self.pad_id)))
            probs[[e.position for e in chunk]] = p
        if self.tfidf is not None and good:
            positions = [e.position for e in good]
            p_lin = self.tfidf.predict_proba([texts[i] for i in positions])
            w = self.transformer_weight
            probs[positions] = w * probs[positions] + (1.0 - w) * p_lin
        return probs, encoded

    def score(self, statements: Sequence[Any]) -> list[ScoreResult | ScoreError]:
        """Score a micro-batch of ``Statement`` records; the output keeps the input order."""
        results: list[ScoreResult | ScoreError | None] = [None] * len(statements)
        todo: list[int] = []
        texts: list[str] = []
        for i, st in enumerate(statements):
            if not normalise_text(getattr(st, "text", "") or ""):
                results[i] = ScoreError(st.id, "empty after normalisation")
                continue
            try:
                texts.append(statement_input_text(st))
            except Exception as exc:
                results[i] = ScoreError(st.id, f"bad statement fields: {exc}"[:300])
                continue
            todo.append(i)
        if texts:
            probs, encoded = self.p_false_texts(texts)
            for k, i in enumerate(todo):
                enc = encoded[k]
                sid = statements[i].id
                if isinstance(enc, str):
                    results[i] = ScoreError(sid, enc)
                elif not np.isfinite(probs[k]):
                    results[i] = ScoreError(sid, "model returned a non-finite score")
                else:
                    results[i] = self._result(sid, float(probs[k]), enc)
        return [r for r in results if r is not None]

    def _result(self, statement_id: str, p: float, enc: _Encoded) -> ScoreResult:
        row = lookup(self.table, p)
        return ScoreResult(
            statement_id=statement_id,
            p_false=p,
            prediction=int(p >= 0.5),
            confidence=max(p, 1.0 - p),
            bucket=int(row["index"]),
            bucket_ceiling=float(row["ceiling"]),
            bucket_accuracy=float(row["accuracy"]),
            bucket_ppv=row["ppv"],
            bucket_npv=row["npv"],
            truncated=enc.truncated,
            tokens=len(enc.ids),
        )
