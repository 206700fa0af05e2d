"""Build the ONNX integrated-gradients graph from a PyTorch sequence classifier (export time only).

The worker must not need torch, so the gradient of p(false) with respect to the word
embeddings is computed inside onnxruntime. ``torch.onnx.export`` cannot export
``autograd.grad`` directly; tracing forward *and* backward with ``make_fx`` into plain ATen ops
first, then exporting that graph with ``dynamo=True``, can (sequence length and step count
stay dynamic).

The graph (see :data:`IG_INPUTS` / :data:`IG_OUTPUTS`):

- inputs ``input_ids`` [1, seq] int64, ``baseline_ids`` [1, seq] int64, ``attention_mask``
  [1, seq] int64, ``alphas`` [steps] float32 (points on the straight path from baseline to
  input), ``weights`` [steps] float32 (quadrature weights; 0 for rows wanted only for their
  probability).
- outputs ``attributions`` [seq] float32 (sum over the embedding dimension of
  (x - x') * sum_k w_k * dp/dx at alpha_k) and ``path_probs`` [steps] float32 (p(false) at
  each alpha, which gives p(input) and p(baseline) for the convergence delta).

torch and transformers are imported inside functions so importing this module stays cheap.
"""

from __future__ import annotations

import argparse
import copy
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, cast

IG_INPUTS = ("input_ids", "baseline_ids", "attention_mask", "alphas", "weights")
IG_OUTPUTS = ("attributions", "path_probs")
IG_GRAPH_FILENAME = "attributions.ig.onnx"


def ig_function(model: Any, false_index: int = 1) -> Callable[..., tuple[Any, Any]]:
    """The IG computation as a plain torch function of the graph inputs (traced by make_fx)."""
    import torch

    embeddings = model.get_input_embeddings()

    def integrated_gradients(
        input_ids: torch.Tensor,
        baseline_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        alphas: torch.Tensor,
        weights: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = embeddings(input_ids)
        x0 = embeddings(baseline_ids)
        diff = x - x0
        path = (x0 + alphas[:, None, None] * diff).detach().requires_grad_(True)
        mask = attention_mask.expand(alphas.shape[0], -1)
        logits = model(inputs_embeds=path, attention_mask=mask).logits
        probs = torch.softmax(logits, dim=-1)[:, false_index]
        (grads,) = torch.autograd.grad(probs.sum(), path)
        avg_grads = (grads * weights[:, None, None]).sum(0)
        return (diff[0] * avg_grads).sum(-1), probs

    return integrated_gradients


def eager_copy(model: Any) -> Any:
    """The same weights with eager attention: BERT's sdpa path guards on the mask's values,
    which symbolic tracing cannot do. Attention classes are chosen at construction, hence a copy.
    """
    if getattr(model.config, "_attn_implementation", "eager") == "eager":
        return model.eval()
    config = copy.deepcopy(model.config)
    config._attn_implementation = "eager"
    rebuilt = type(model)(config)
    rebuilt.load_state_dict(model.state_dict())
    return rebuilt.eval()


def export_ig_graph(
    model: Any,
    out_path: str | Path,
    *,
    false_index: int = 1,
    max_tokens: int = 512,
    max_steps: int = 1024,
) -> Path:
    """Trace forward+backward of ``model`` (an HF ``*ForSequenceClassification``) to ONNX."""
    import torch
    from torch._decomp import core_aten_decompositions
    from torch.export import Dim
    from torch.fx.experimental.proxy_tensor import make_fx

    model = eager_copy(model)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    max_tokens = min(max_tokens, int(getattr(model.config, "max_position_embeddings", max_tokens)))
    fn = ig_function(model, false_index)
    seq, steps = 12, 7
    example = (
        torch.full((1, seq), 5, dtype=torch.long),
        torch.zeros((1, seq), dtype=torch.long),
        torch.ones((1, seq), dtype=torch.long),
        torch.linspace(0.0, 1.0, steps),
        torch.full((steps,), 1.0 / steps),
    )
    traced = make_fx(
        fn,
        decomposition_table=cast(Any, core_aten_decompositions()),
        tracing_mode="symbolic",
        _allow_non_fake_inputs=True,
    )(*example)
    seq_dim = Dim("seq", min=2, max=max_tokens)
    step_dim = Dim("steps", min=1, max=max_steps)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter is chatty about internals we do not use
        program = torch.onnx.export(
            traced,
            example,
            dynamo=True,
            input_names=list(IG_INPUTS),
            output_names=list(IG_OUTPUTS),
            dynamic_shapes=({1: seq_dim}, {1: seq_dim}, {1: seq_dim}, {0: step_dim}, {0: step_dim}),
            verbose=False,
        )
    if program is None:  # pragma: no cover - dynamo=True always returns a program
        raise RuntimeError("torch.onnx.export returned no program")
    program.save(str(out))
    return out


def compress_weights(
    src: str | Path, dst: str | Path, mode: Literal["fp16", "int8"], min_elements: int = 4096
) -> Path:
    """Store the large float weights as fp16 (Cast) or int8 per-row (DequantizeLinear).

    Only storage shrinks: every op still computes in fp32, so onnxruntime's CPU kernels and
    the graph's dynamic shapes are untouched. With int8 the graph explains a model whose
    weights are rounded much as the shipped int8 scoring graph's are.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    kept, added, nodes = [], [], []
    for init in graph.initializer:
        size = int(np.prod(init.dims)) if init.dims else 1
        if init.data_type != TensorProto.FLOAT or size < min_elements:
            kept.append(init)
            continue
        array = numpy_helper.to_array(init)
        name = init.name
        if mode == "fp16":
            added.append(numpy_helper.from_array(array.astype(np.float16), f"{name}__fp16"))
            nodes.append(helper.make_node("Cast", [f"{name}__fp16"], [name], to=TensorProto.FLOAT))
            continue
        rows = array.reshape(array.shape[0], -1) if array.ndim > 1 else array.reshape(1, -1)
        scale = np.abs(rows).max(axis=1) / 127.0
        scale[scale == 0] = 1.0
        quantised = np.clip(np.round(rows / scale[:, None]), -127, 127).astype(np.int8)
        added.append(numpy_helper.from_array(quantised.reshape(array.shape), f"{name}__q"))
        if array.ndim > 1:
            added.append(numpy_helper.from_array(scale.astype(np.float32), f"{name}__scale"))
            nodes.append(
                helper.make_node(
                    "DequantizeLinear", [f"{name}__q", f"{name}__scale"], [name], axis=0
                )
            )
        else:
            added.append(
                numpy_helper.from_array(np.asarray(scale[0], dtype=np.float32), f"{name}__scale")
            )
            nodes.append(
                helper.make_node("DequantizeLinear", [f"{name}__q", f"{name}__scale"], [name])
            )
    del graph.initializer[:]
    graph.initializer.extend(kept + added)
    existing = list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes + existing)
    out = Path(dst)
    onnx.save(model, str(out))
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="claimwatch export-ig",
        description="Build the integrated-gradients ONNX graph from a fine-tuned checkpoint.",
    )
    parser.add_argument("--checkpoint", default="build/train/minilm-liar", help="HF model folder")
    parser.add_argument(
        "--out", default=f"models/minilm-liar/{IG_GRAPH_FILENAME}", help="where to write it"
    )
    parser.add_argument("--false-index", type=int, default=1, help="logit index of 'false'")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument(
        "--weights",
        choices=["fp32", "fp16", "int8"],
        default="fp32",
        help="storage of the large weights (compute stays fp32)",
    )
    args = parser.parse_args(argv)
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(
        args.checkpoint, attn_implementation="eager"
    )
    out = Path(args.out)
    raw = out if args.weights == "fp32" else out.with_suffix(".fp32.onnx")
    path = export_ig_graph(model, raw, false_index=args.false_index, max_tokens=args.max_tokens)
    if args.weights != "fp32":
        path = compress_weights(raw, out, args.weights)
        raw.unlink()
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
