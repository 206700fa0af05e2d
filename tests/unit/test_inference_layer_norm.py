"""The LayerNorm rewrite computes what ONNX Runtime's LayerNorm kernels compute."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from inference.layer_norm import decompose_layer_norms

H = 24


def graph(opset: int, use_sum: bool) -> object:
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(opset)
    inits = [
        numpy_helper.from_array(rng.standard_normal(H).astype(np.float32), name)
        for name in ("gamma", "beta", "bias", "gamma2", "beta2")
    ]
    outputs = ["y", "sum"] if use_sum else ["y"]
    nodes = [
        helper.make_node(
            "SkipLayerNormalization",
            ["x", "skip", "gamma", "beta", "bias"],
            ["ln1", "", "", "sum"] if use_sum else ["ln1"],
            domain="com.microsoft",
            epsilon=1e-12,
        ),
        helper.make_node(
            "LayerNormalization", ["ln1", "gamma2", "beta2"], ["y"], axis=-1, epsilon=1e-5
        ),
    ]
    value = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, ["B", "L", H]) for n in ("x", "skip")
    ]
    out = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs]
    g = helper.make_graph(nodes, "g", value, out, inits)
    return helper.make_model(
        g, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("com.microsoft", 1)]
    )


def run(model: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # as written
    session = ort.InferenceSession(
        model.SerializeToString(),
        opts,
        providers=["CPUExecutionProvider"],  # type: ignore[attr-defined]
    )
    return [np.asarray(o) for o in session.run(None, feeds)]


@pytest.mark.parametrize(("opset", "use_sum"), [(17, False), (17, True), (18, True)])
def test_rewrite_matches_the_layer_norm_kernels(opset: int, use_sum: bool) -> None:
    import onnx

    rng = np.random.default_rng(7)
    feeds = {n: (3 * rng.standard_normal((2, 5, H)) + 1).astype(np.float32) for n in ("x", "skip")}
    model = graph(opset, use_sum)
    before = run(model, feeds)
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(model)  # type: ignore[arg-type]
    assert decompose_layer_norms(rewritten) == 2
    ops = Counter(n.op_type for n in rewritten.graph.node)
    assert "SkipLayerNormalization" not in ops and "LayerNormalization" not in ops
    assert ops["SimplifiedLayerNormalization"] == 2 and ops["ReduceMean"] == 2
    after = run(rewritten, feeds)
    assert len(after) == len(before)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert decompose_layer_norms(rewritten) == 0  # idempotent


def test_nodes_whose_statistics_are_used_are_left_alone() -> None:
    from onnx import TensorProto, helper

    model = graph(17, False)
    ln = model.graph.node[1]  # type: ignore[attr-defined]
    ln.output.extend(["mean"])
    model.graph.output.append(  # type: ignore[attr-defined]
        helper.make_tensor_value_info("mean", TensorProto.FLOAT, None)
    )
    assert decompose_layer_norms(model) == 1  # only the SkipLayerNormalization
    assert [n.op_type for n in model.graph.node].count("LayerNormalization") == 1  # type: ignore[attr-defined]
