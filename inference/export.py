"""PyTorch checkpoint -> ONNX (dynamic batch and sequence) -> optimised -> dynamic int8.

Imports torch/transformers: an offline build step, never part of the worker.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from config.errors import ClaimWatchError
from config.log import get_logger
from inference.int8_weights import shift_weights
from inference.integer_products import fuse_integer_products
from inference.layer_norm import decompose_layer_norms

log = get_logger(__name__)

INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]
OUTPUT_NAMES = ["logits"]
PARITY_TOLERANCE = 1e-3


class ParityError(ClaimWatchError, RuntimeError):
    """The exported graph disagrees with PyTorch beyond the tolerance."""


@dataclass(frozen=True)
class ExportResult:
    fp32_path: Path
    optimized_path: Path
    int8_path: Path
    parity_max_abs_diff: float


def _logits_module(model: Any) -> Any:
    import torch

    class Logits(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).logits

    return Logits(model).eval()


def export_onnx(model: Any, tokenizer: Any, path: Path, opset: int = 17) -> None:
    """TorchScript-based export with dynamic batch and sequence axes (one self-contained file)."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    sample = tokenizer(
        ["a short sample", "a second, longer sample statement"], padding=True, return_tensors="pt"
    )
    args = tuple(
        sample[n] if n in sample else torch.zeros_like(sample["input_ids"]) for n in INPUT_NAMES
    )
    axes = {n: {0: "batch", 1: "sequence"} for n in INPUT_NAMES}
    axes["logits"] = {0: "batch"}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _logits_module(model),
            args,
            str(path),
            input_names=INPUT_NAMES,
            output_names=OUTPUT_NAMES,
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )


def onnx_logits(path: Path, feeds: dict[str, np.ndarray]) -> np.ndarray:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}
    return np.asarray(sess.run(["logits"], {k: v for k, v in feeds.items() if k in names})[0])


def parity_check(
    model: Any, tokenizer: Any, path: Path, texts: list[str], max_length: int
) -> float:
    """Max |logit difference| between PyTorch and ONNX fp32 on ``texts`` (padded batch)."""
    import torch

    enc = tokenizer(
        texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )
    if "token_type_ids" not in enc:
        enc["token_type_ids"] = torch.zeros_like(enc["input_ids"])
    with torch.inference_mode():
        ref = model.eval()(**{n: enc[n] for n in INPUT_NAMES}).logits.float().numpy()
    got = onnx_logits(path, {n: enc[n].numpy().astype(np.int64) for n in INPUT_NAMES})
    return float(np.max(np.abs(ref - got)))


def optimize_and_quantize(
    fp32: Path, optimized: Path, int8: Path, config: Any, weight_bits: int = 8
) -> None:
    """Fuse attention/LayerNorm (model_type bert) first: without it ALBERT's shared weights stay
    unquantised. Then dynamic int8 quantisation of the weights, one scale per output column
    (per channel): on 2,000 LIAR train statements the shipped MiniLM's int8 p(false) then
    stays 2.5x closer to fp32's (mean |dp| 0.009 against 0.022 per tensor; docs/model.md).
    ``weight_bits=7`` (``reduce_range``, |w| <= 64) makes the fast u8 x s8 kernels exact on
    AVX2 CPUs without VNNI too, not only on VNNI ones (``inference.int8_weights``): +20-28 %
    there, for 0.0015 of the shipped transformer's AUC (docs/model.md), so 8 stays the default."""
    if weight_bits not in (7, 8):
        raise ValueError(f"weight_bits must be 7 or 8, not {weight_bits}")
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = optimize_model(
            str(fp32),
            model_type="bert",
            num_heads=int(getattr(config, "num_attention_heads", 0)),
            hidden_size=int(getattr(config, "hidden_size", 0)),
        )
        opt.save_model_to_file(str(optimized))
        quantize_dynamic(
            str(optimized),
            str(int8),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=weight_bits == 7,
            # Fused ops (com.microsoft domain) defeat shape inference; their outputs are float.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finish_int8_graph(int8)


def finish_int8_graph(path: Path) -> dict[str, int]:
    """The last steps of every int8 export (and of ``--recalibrate-only``): LayerNorms
    rewritten into ops ONNX Runtime runs faster (``inference.layer_norm``), integer products
    with constant scales fused with their rescaling (``inference.integer_products``; none
    while the scales are still dynamic) and the weights stored as uint8, exact on every CPU
    (``inference.int8_weights``). All are idempotent; the file is rewritten only when
    something changed. Returns what each step changed."""
    import onnx

    model = onnx.load(str(path))
    layer_norms = decompose_layer_norms(model)
    fused = fuse_integer_products(model)
    shifted = shift_weights(model, "uint8")
    if layer_norms or fused or shifted:
        onnx.save(model, str(path))
    return {
        "layer_norms_rewritten": layer_norms,
        "integer_products_fused": fused,
        "int8_weights_stored_as_uint8": shifted,
    }


def export_checkpoint(
    checkpoint: Path,
    build_dir: Path,
    int8_path: Path,
    parity_texts: list[str],
    max_length: int,
    weight_bits: int = 8,
) -> ExportResult:
    """The whole chain for a ``save_pretrained`` folder; raises ParityError above tolerance."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint).eval()
    build_dir.mkdir(parents=True, exist_ok=True)
    raw = build_dir / "model.raw.onnx"
    export_onnx(model, tokenizer, raw)
    diff = parity_check(model, tokenizer, raw, parity_texts, max_length)
    log.info("export.parity", max_abs_logit_diff=diff, tolerance=PARITY_TOLERANCE)
    if not diff <= PARITY_TOLERANCE:
        raise ParityError(f"ONNX vs PyTorch max |logit diff| {diff:.2e} > {PARITY_TOLERANCE}")
    optimized = build_dir / "model.onnx"
    int8_path.parent.mkdir(parents=True, exist_ok=True)
    optimize_and_quantize(raw, optimized, int8_path, model.config, weight_bits)
    return ExportResult(raw, optimized, int8_path, diff)
