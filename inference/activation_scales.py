"""Fixed activation scales for the int8 graph, so a statement's score never depends on its batch.

Dynamic quantisation (``quantize_dynamic``) puts a ``DynamicQuantizeLinear`` before each
integer product: it picks the activations' scale from the whole input tensor, i.e. from every
statement in the model call. The same statement then scores differently with other batchmates
(on LIAR validation, shuffled batches of 32 moved p(false) by up to 0.086 and changed the
confidence bucket of ~10 % of statements), so a replay could not reproduce a live run.

Here each of those nodes becomes a ``QuantizeLinear`` with a constant scale and zero point,
taken from the range the tensor showed on calibration statements (real tokens only, never
padding), by ``DynamicQuantizeLinear``'s own formula. Values outside that range saturate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

DYNAMIC = "DynamicQuantizeLinear"


def scale_and_zero_point(low: float, high: float) -> tuple[float, int]:
    """uint8 asymmetric parameters for [low, high] as ``DynamicQuantizeLinear`` computes them
    (the range always includes 0, so 0 is exact)."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        return 1.0, 0
    scale = (high - low) / 255.0
    return scale, int(np.clip(round(-low / scale), 0, 255))


def dynamic_inputs(model: Any) -> list[str]:
    """The float tensors the graph quantises at run time, in node order."""
    return [n.input[0] for n in model.graph.node if n.op_type == DYNAMIC]


def observed_ranges(
    model: Any, feeds: Iterable[Mapping[str, np.ndarray]], threads: int = 0
) -> dict[str, tuple[float, float]]:
    """(min, max) of every dynamically quantised tensor over ``feeds``, on real tokens only
    (a [batch, sequence, ...] tensor is masked with the feed's attention mask)."""
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    names = dynamic_inputs(model)
    for name in names:
        info = onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
        probe.graph.output.append(info)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    session = ort.InferenceSession(
        probe.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    inputs = {i.name for i in session.get_inputs()}
    ranges = {name: (0.0, 0.0) for name in names}
    for feed in feeds:
        mask = np.asarray(feed["attention_mask"]).astype(bool)
        values = session.run(names, {k: v for k, v in feed.items() if k in inputs})
        for name, x in zip(names, values, strict=True):
            if x.ndim >= 2 and x.shape[:2] == mask.shape:
                x = x[mask]
            low, high = ranges[name]
            ranges[name] = (min(low, float(x.min())), max(high, float(x.max())))
    return ranges


def fix_activation_scales(model: Any, ranges: Mapping[str, tuple[float, float]]) -> int:
    """Replace each ``DynamicQuantizeLinear`` by a ``QuantizeLinear`` with constants from
    ``ranges`` (in place); its scale and zero-point outputs become initializers of the same
    names, so the integer products read them unchanged. Returns how many were replaced."""
    from onnx import helper, numpy_helper

    nodes = []
    replaced = 0
    for node in model.graph.node:
        if node.op_type != DYNAMIC:
            nodes.append(node)
            continue
        source = node.input[0]
        quantized, scale_name, zero_name = node.output
        scale, zero = scale_and_zero_point(*ranges[source])
        model.graph.initializer.extend(
            [
                numpy_helper.from_array(np.array(scale, dtype=np.float32), scale_name),
                numpy_helper.from_array(np.array(zero, dtype=np.uint8), zero_name),
            ]
        )
        nodes.append(
            helper.make_node(
                "QuantizeLinear",
                [source, scale_name, zero_name],
                [quantized],
                name=f"{node.name or source}_fixed_scale",
            )
        )
        replaced += 1
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return replaced
