"""Leave-one-out fallback through the scoring graph, and choosing between the two methods."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.attributions import (
    AttributionError,
    IntegratedGradients,
    LeaveOneOut,
    _softmax_false,
    attribute,
    cpu_session,
    load_attributor,
)
from tests.fixtures_attributions import STATEMENTS, TinyModel, tiny_model

__all__ = ["tiny_model"]

torch = pytest.importorskip("torch")
FULL = "tweet | john roe | republican | governor | texas | twitter | crime || "


def _p_false(tiny: TinyModel, ids: list[int]) -> float:
    with torch.no_grad():
        t = torch.tensor([ids])
        logits = tiny.model(input_ids=t, attention_mask=torch.ones_like(t)).logits
    return float(torch.softmax(logits, -1)[0, 1])


def test_loo_scores_equal_masking_each_word_in_torch(tiny_model: TinyModel) -> None:
    loo = LeaveOneOut(cpu_session(tiny_model.scoring_path), batch_size=3)
    statement = STATEMENTS[0]
    result = attribute(loo, tiny_model.tokenizer, FULL + statement, statement, baseline="mask")
    assert result.method == "leave-one-out (word masked)"
    assert result.convergence_delta is None and result.steps is None
    assert [w.text for w in result.words] == statement.split()
    enc = tiny_model.tokenizer.encode(FULL + statement)
    mask_id = tiny_model.tokenizer.token_to_id("[MASK]")
    p_input = _p_false(tiny_model, enc.ids)
    assert result.p_false == pytest.approx(p_input, abs=1e-5)
    start = len(FULL)
    for word_index, word in enumerate(result.words):
        w_start = start + sum(len(w) + 1 for w in statement.split()[:word_index])
        w_end = w_start + len(word.text)
        masked = [
            mask_id if (s < w_end and e > w_start and not special) else i
            for i, (s, e), special in zip(
                enc.ids, enc.offsets, enc.special_tokens_mask, strict=True
            )
        ]
        assert word.score == pytest.approx(p_input - _p_false(tiny_model, masked), abs=1e-5)
    assert result.context_score != 0.0


def test_load_attributor_prefers_ig_and_falls_back_to_loo(
    tiny_model: TinyModel, tmp_path: Path
) -> None:
    assert isinstance(load_attributor(tiny_model.folder, steps=8), IntegratedGradients)
    only_scoring = tmp_path / "scoring-only"
    only_scoring.mkdir()
    (only_scoring / "model.int8.onnx").write_bytes(tiny_model.scoring_path.read_bytes())
    fallback = load_attributor(only_scoring)
    assert isinstance(fallback, LeaveOneOut)
    assert isinstance(load_attributor(tiny_model.folder, prefer="loo"), LeaveOneOut)
    with pytest.raises(AttributionError, match="no IG graph"):
        load_attributor(only_scoring, prefer="ig")
    with pytest.raises(AttributionError, match="no ONNX graph"):
        load_attributor(tmp_path)


def test_softmax_false_handles_logits_probabilities_and_vectors() -> None:
    logits = np.array([[0.0, 0.0], [0.0, np.log(3.0)]])
    np.testing.assert_allclose(_softmax_false(logits, 1, "logits"), [0.5, 0.75])
    probs = np.array([[0.2, 0.8]])
    np.testing.assert_allclose(_softmax_false(probs, 1, "probabilities"), [0.8])
    np.testing.assert_allclose(_softmax_false(np.array([0.3]), 1, "p_false"), [0.3])


class _Named:
    def __init__(self, name: str) -> None:
        self.name = name


class _FakeSession:
    """A graph with the wrong inputs."""

    def run(self, output_names: object, input_feed: object) -> list:
        raise AssertionError("must not run")

    def get_inputs(self) -> list:
        return [_Named("pixels")]

    def get_outputs(self) -> list:
        return [_Named("logits")]


def test_methods_reject_graphs_with_the_wrong_inputs() -> None:
    with pytest.raises(AttributionError, match="input_ids"):
        LeaveOneOut(_FakeSession())
    with pytest.raises(AttributionError, match="not an IG graph"):
        IntegratedGradients(_FakeSession())
