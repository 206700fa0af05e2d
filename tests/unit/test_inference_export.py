"""Export parity on tiny random models (seconds): BERT (MiniLM's architecture) and ALBERT,
the latter trained through the same ``claimwatch train`` command as the shipped model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures_inference import tiny_albert_base, tiny_bert

TEXTS = ["a short one", "a noticeably longer statement about taxes and the deficit", "x"]


def _feeds(tokenizer_folder: Path, texts: list[str]) -> dict[str, np.ndarray]:
    from transformers import AutoTokenizer

    enc = AutoTokenizer.from_pretrained(tokenizer_folder)(texts, padding=True, return_tensors="np")
    return {
        "input_ids": enc["input_ids"].astype(np.int64),
        "attention_mask": enc["attention_mask"].astype(np.int64),
        "token_type_ids": np.zeros_like(enc["input_ids"], dtype=np.int64),
    }


def test_tiny_bert_export_parity_and_dynamic_axes(tmp_path: Path) -> None:
    from inference.export import PARITY_TOLERANCE, export_checkpoint, onnx_logits

    ckpt = tiny_bert(tmp_path / "ckpt")
    result = export_checkpoint(
        ckpt, tmp_path / "build", tmp_path / "art" / "m.int8.onnx", TEXTS, max_length=32
    )
    assert result.parity_max_abs_diff <= PARITY_TOLERANCE
    assert result.int8_path.stat().st_size < result.optimized_path.stat().st_size
    # dynamic batch and sequence: other shapes than the export sample run
    for texts in (TEXTS[:1], TEXTS * 3):
        feeds = _feeds(ckpt, texts)
        fp32 = onnx_logits(result.optimized_path, feeds)
        int8 = onnx_logits(result.int8_path, feeds)
        assert fp32.shape == int8.shape == (len(texts), 2)
        assert np.max(np.abs(fp32 - int8)) < 0.1
    assert integer_weight_types(result.int8_path) == {"uint8"}
    assert weight_range(result.int8_path) == 127  # 8 bits, symmetric per column


def integer_weight_types(path: Path) -> set[str]:
    """Element types of the weights that MatMulInteger / QAttention nodes multiply by."""
    import onnx

    from inference.int8_weights import weight_storage

    return weight_storage(onnx.load(str(path)))


def weight_range(path: Path) -> int:
    import onnx

    from inference.int8_weights import weight_bound

    return weight_bound(onnx.load(str(path)))


def test_uint8_weights_compute_the_exact_integer_product(tmp_path: Path) -> None:
    """uint8 x int8 saturates on AVX2 CPUs without VNNI; the shifted uint8 weights give the
    exact product (checked against numpy) wherever this runs, and converting is idempotent."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from inference.export import finish_int8_graph

    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, (64, 48), dtype=np.int8)
    x = rng.integers(0, 256, (16, 64), dtype=np.uint8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["x", "w", "", "w_zero_point"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, [16, 64])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [16, 48])],
        [
            numpy_helper.from_array(w, "w"),
            numpy_helper.from_array(np.array(3, np.int8), "w_zero_point"),
        ],
    )
    dst = tmp_path / "graph.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(dst))
    assert finish_int8_graph(dst)["int8_weights_stored_as_uint8"] == 1
    assert integer_weight_types(dst) == {"uint8"}
    session = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])
    exact = x.astype(np.int64) @ (w.astype(np.int64) - 3)
    assert np.array_equal(session.run(None, {"x": x})[0], exact)
    before = dst.read_bytes()
    assert finish_int8_graph(dst)["int8_weights_stored_as_uint8"] == 0
    assert dst.read_bytes() == before


def test_parity_failure_is_reported(tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from inference.export import export_onnx, parity_check

    ckpt = tiny_bert(tmp_path / "ckpt")
    other = tiny_bert(tmp_path / "other", seed=1)
    tok = AutoTokenizer.from_pretrained(ckpt)
    export_onnx(AutoModelForSequenceClassification.from_pretrained(other), tok, tmp_path / "o.onnx")
    model = AutoModelForSequenceClassification.from_pretrained(ckpt)
    assert parity_check(model, tok, tmp_path / "o.onnx", TEXTS, 32) > 1e-3


@pytest.mark.slow
def test_albert_trains_with_the_same_command_and_exports(tmp_path: Path) -> None:
    from inference.export import PARITY_TOLERANCE, export_checkpoint, onnx_logits
    from ops.train import main as train_main

    base = tiny_albert_base(tmp_path / "albert-base")
    out = tmp_path / "albert-liar"
    rc = train_main(
        [
            "--base",
            str(base),
            "--init-config",
            str(base),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--limit-train",
            "16",
            "--limit-valid",
            "16",
            "--max-length",
            "48",
            "--threads",
            "1",
        ]
    )
    assert rc == 0
    meta = json.loads((out / "train_meta.json").read_text())
    assert meta["history"][0]["valid_n"] == 16 and "valid_auc" in meta["history"][0]
    assert (out / "tokenizer.json").exists() and (out / "spiece.model").exists()
    result = export_checkpoint(
        out,
        tmp_path / "build",
        tmp_path / "art" / "m.int8.onnx",
        TEXTS,
        max_length=48,
        weight_bits=7,
    )
    assert result.parity_max_abs_diff <= PARITY_TOLERANCE
    # ALBERT's layers share weights: each shared tensor is shifted to uint8 once, not per use
    assert integer_weight_types(result.int8_path) == {"uint8"}
    assert weight_range(result.int8_path) == 64  # 7 bits: exact on the u8 x s8 kernels anywhere
    feeds = _feeds(out, TEXTS)
    fp32 = onnx_logits(result.optimized_path, feeds)
    assert np.max(np.abs(fp32 - onnx_logits(result.int8_path, feeds))) < 0.1
