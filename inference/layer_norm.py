"""Rewrite the graph's LayerNorms into ops ONNX Runtime's CPU provider runs several times faster.

ONNX Runtime's CPU kernels for ``SkipLayerNormalization`` and ``LayerNormalization`` take
~4 ms on a 32 x 45 x 384 tensor on the project's 2-core hosts, against ~0.8 ms for the same
result computed as add -> ReduceMean -> Sub -> ``SimplifiedLayerNormalization`` (an RMS norm,
which is a LayerNorm once the mean is taken out) -> add beta; in the int8 MiniLM they were
~18 % of a model call. The results agree to float rounding (~2e-6 on unit-variance inputs).

LayerNorm(t) = (t - mean(t)) / sqrt(var(t) + eps) * gamma + beta, and for c = t - mean(t),
var(t) = mean(c^2), so LayerNorm(t) = RMSNorm(c) * gamma + beta.
"""

from __future__ import annotations

from typing import Any

MS_DOMAIN = "com.microsoft"


def _used(model: Any) -> set[str]:
    used = {name for node in model.graph.node for name in node.input}
    return used | {o.name for o in model.graph.output}


def _epsilon(node: Any) -> float:
    from onnx import helper

    return next(
        (helper.get_attribute_value(a) for a in node.attribute if a.name == "epsilon"), 1e-5
    )


def decompose_layer_norms(model: Any) -> int:
    """Rewrite every last-axis (Skip)LayerNormalization in place; returns how many.

    A node whose mean or inverse-std outputs are used is left alone (nothing in an exported
    BERT/ALBERT uses them). SkipLayerNormalization's fourth output (input + skip + bias) is
    kept when used.
    """
    from onnx import helper

    graph = model.graph
    used = _used(model)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 17)
    axes_name = "claimwatch_ln_axes"
    nodes: list[Any] = []
    rewritten = 0
    for node in graph.node:
        skip = node.op_type == "SkipLayerNormalization" and node.domain == MS_DOMAIN
        plain = node.op_type == "LayerNormalization" and node.domain in ("", "ai.onnx")
        axis = next((a.i for a in node.attribute if a.name == "axis"), -1)
        stats = list(node.output[1:3]) if skip else list(node.output[1:])
        if not (skip or plain) or axis != -1 or any(o and o in used for o in stats):
            nodes.append(node)
            continue
        rewritten += 1
        p = f"{node.name or node.output[0]}/claimwatch_ln"
        inputs = list(node.input)
        if skip:
            x, residual = inputs[0], inputs[1]
            gamma = inputs[2]
            beta = inputs[3] if len(inputs) > 3 and inputs[3] else ""
            bias = inputs[4] if len(inputs) > 4 and inputs[4] else ""
            summed = node.output[3] if len(node.output) > 3 and node.output[3] else f"{p}/sum"
            # The bias first: ONNX Runtime fuses an Add of a constant bias into the integer
            # matrix product that usually feeds ``x`` (one pass over the tensor fewer).
            if bias:
                nodes.append(helper.make_node("Add", [x, bias], [f"{p}/x_bias"], name=f"{p}/bias"))
                x = f"{p}/x_bias"
            nodes.append(helper.make_node("Add", [x, residual], [summed], name=f"{p}/add"))
            source = summed
        else:
            source, gamma = inputs[0], inputs[1]
            beta = inputs[2] if len(inputs) > 2 and inputs[2] else ""
        mean_inputs = [source] + ([axes_name] if opset >= 18 else [])
        mean_attrs: dict[str, Any] = {"keepdims": 1} | ({} if opset >= 18 else {"axes": [-1]})
        nodes += [
            helper.make_node(
                "ReduceMean", mean_inputs, [f"{p}/mean"], name=f"{p}/mean", **mean_attrs
            ),
            helper.make_node("Sub", [source, f"{p}/mean"], [f"{p}/centred"], name=f"{p}/sub"),
        ]
        normed = f"{p}/normed" if beta else node.output[0]
        nodes.append(
            helper.make_node(
                "SimplifiedLayerNormalization",
                [f"{p}/centred", gamma],
                [normed],
                name=f"{p}/rms",
                axis=-1,
                epsilon=_epsilon(node),
            )
        )
        if beta:
            nodes.append(
                helper.make_node("Add", [normed, beta], [node.output[0]], name=f"{p}/beta")
            )
    if rewritten:
        if opset >= 18 and all(i.name != axes_name for i in graph.initializer):
            import numpy as np
            from onnx import numpy_helper

            graph.initializer.append(numpy_helper.from_array(np.array([-1], np.int64), axes_name))
        del graph.node[:]
        graph.node.extend(nodes)
    return rewritten
