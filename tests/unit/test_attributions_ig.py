"""The ONNX integrated-gradients graph against captum's LayerIntegratedGradients."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.attributions import (
    AttributionError,
    IntegratedGradients,
    attribute,
    cpu_session,
    gauss_legendre,
)
from inference.ig_export import compress_weights
from inference.model_input import model_input_text
from tests.fixtures_attributions import STATEMENTS, TinyModel, tiny_model

__all__ = ["tiny_model"]

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")


def _full_text(statement: str) -> str:
    return model_input_text(
        author="Jane Doe",
        party="democrat",
        role="senator",
        state="Ohio",
        venue="a debate",
        subjects=["economy"],
        kind="transcript",
        text=statement,
    )


def _ranks(values: np.ndarray) -> np.ndarray:
    ranks = np.empty(len(values))
    ranks[np.argsort(values, kind="stable")] = np.arange(len(values))
    return ranks


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])


def _captum(tiny: TinyModel, ids: np.ndarray, base: np.ndarray, steps: int) -> tuple:
    model = tiny.model

    def p_false(input_ids: torch.Tensor) -> torch.Tensor:
        mask = torch.ones_like(input_ids)
        return torch.softmax(model(input_ids=input_ids, attention_mask=mask).logits, -1)[:, 1]

    lig = captum_attr.LayerIntegratedGradients(p_false, model.get_input_embeddings())
    attr, delta = lig.attribute(
        torch.tensor(ids)[None, :],
        baselines=torch.tensor(base)[None, :],
        n_steps=steps,
        method="gausslegendre",
        return_convergence_delta=True,
    )
    return attr.sum(-1)[0].detach().numpy(), float(delta[0])


def test_gauss_legendre_weights_integrate_to_one() -> None:
    alphas, weights = gauss_legendre(32)
    assert alphas.shape == weights.shape == (32,)
    assert 0.0 < alphas.min() < alphas.max() < 1.0
    assert weights.sum() == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(AttributionError):
        gauss_legendre(0)


@pytest.mark.parametrize("steps", [8, 32])
def test_onnx_ig_matches_captum(tiny_model: TinyModel, steps: int) -> None:
    ig = IntegratedGradients(cpu_session(tiny_model.ig_path), steps=steps, chunk_steps=5)
    pad = tiny_model.tokenizer.token_to_id("[PAD]")
    for statement in STATEMENTS:
        encoding = tiny_model.tokenizer.encode(_full_text(statement))
        ids = np.asarray(encoding.ids)
        base = np.where(np.asarray(encoding.special_tokens_mask, dtype=bool), ids, pad)
        ours = ig.token_scores(ids, base)
        ref, ref_delta = _captum(tiny_model, ids, base, steps)
        np.testing.assert_allclose(ours.scores, ref, atol=1e-5, rtol=1e-3)
        assert _spearman(ours.scores, ref) >= 0.99
        our_delta = ours.scores.sum() - (ours.p_input - ours.p_baseline)
        assert our_delta == pytest.approx(ref_delta, abs=1e-5)


def test_attribute_merges_subwords_into_statement_words(tiny_model: TinyModel) -> None:
    ig = IntegratedGradients(cpu_session(tiny_model.ig_path), steps=32)
    statement = "  Wind   turbines kill more birds than cats do.  "
    result = attribute(ig, tiny_model.tokenizer, _full_text(statement), statement)
    assert [w.text for w in result.words] == statement.split()
    assert all(w.score is not None for w in result.words)
    assert result.method == "integrated gradients (32 steps)"
    assert result.steps == 32 and not result.truncated
    assert result.convergence_delta is not None and abs(result.convergence_delta) < 0.05
    # Merging loses no token: words + metadata prefix sum to the token-level total.
    total = sum(w.score for w in result.words if w.score is not None) + result.context_score
    enc = tiny_model.tokenizer.encode(_full_text(statement))
    ids = np.asarray(enc.ids)
    pad = tiny_model.tokenizer.token_to_id("[PAD]")
    tokens = ig.token_scores(ids, np.where(np.asarray(enc.special_tokens_mask, bool), ids, pad))
    assert total == pytest.approx(float(tokens.scores.sum()), abs=1e-6)
    assert result.context_score != 0.0  # the metadata prefix is attributed, not dropped
    with torch.no_grad():
        t_ids = torch.tensor([enc.ids])
        logits = tiny_model.model(input_ids=t_ids, attention_mask=torch.ones_like(t_ids)).logits
    assert result.p_false == pytest.approx(float(torch.softmax(logits, -1)[0, 1]), abs=1e-5)


def test_dynamic_length_truncation_marks_unscored_words(tiny_model: TinyModel) -> None:
    ig = IntegratedGradients(cpu_session(tiny_model.ig_path), steps=4)
    statement = " ".join(STATEMENTS)
    result = attribute(ig, tiny_model.tokenizer, _full_text(statement), statement, max_tokens=40)
    assert result.truncated
    assert result.words[0].score is not None
    assert result.words[-1].score is None
    # The caller's tokenizer keeps its own (absent) truncation setting.
    assert tiny_model.tokenizer.truncation is None


def test_bad_inputs_raise_attribution_error(tiny_model: TinyModel) -> None:
    ig = IntegratedGradients(cpu_session(tiny_model.ig_path), steps=4)
    with pytest.raises(AttributionError, match="empty"):
        attribute(ig, tiny_model.tokenizer, "x || ", "   ")
    with pytest.raises(AttributionError, match="does not end"):
        attribute(ig, tiny_model.tokenizer, "x || something else", "a statement")
    with pytest.raises(AttributionError, match="not an IG graph"):
        IntegratedGradients(cpu_session(tiny_model.scoring_path))


@pytest.mark.parametrize(("mode", "min_corr"), [("fp16", 0.999), ("int8", 0.95)])
def test_compressed_weights_keep_attributions(
    tiny_model: TinyModel, tmp_path: Path, mode: str, min_corr: float
) -> None:
    small = compress_weights(tiny_model.ig_path, tmp_path / f"{mode}.onnx", mode, min_elements=256)
    assert small.stat().st_size < 0.8 * tiny_model.ig_path.stat().st_size
    full = IntegratedGradients(cpu_session(tiny_model.ig_path), steps=16)
    packed = IntegratedGradients(cpu_session(small), steps=16)
    for statement in STATEMENTS[:3]:
        a = attribute(full, tiny_model.tokenizer, _full_text(statement), statement)
        b = attribute(packed, tiny_model.tokenizer, _full_text(statement), statement)
        sa = np.array([w.score for w in a.words])
        sb = np.array([w.score for w in b.words])
        assert _spearman(sa, sb) >= min_corr
        assert b.p_false == pytest.approx(a.p_false, abs=0.05 if mode == "int8" else 1e-3)
