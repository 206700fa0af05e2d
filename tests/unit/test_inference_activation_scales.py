"""Constant activation scales: the formula, and the graph rewrite on a one-node model."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

from inference.activation_scales import (
    dynamic_inputs,
    fix_activation_scales,
    observed_ranges,
    scale_and_zero_point,
)


def test_scale_and_zero_point_match_dynamic_quantize_linear() -> None:
    assert scale_and_zero_point(-1.0, 3.0) == (4.0 / 255.0, 64)
    assert scale_and_zero_point(0.5, 2.0) == (2.0 / 255.0, 0)  # the range always holds 0
    assert scale_and_zero_point(-2.0, -1.0) == (2.0 / 255.0, 255)
    assert scale_and_zero_point(0.0, 0.0) == (1.0, 0)
    x = np.array([-1.0, -0.3, 0.0, 1.7, 3.0], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "s", "z"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5])],
        [
            helper.make_tensor_value_info("q", TensorProto.UINT8, None),
            helper.make_tensor_value_info("s", TensorProto.FLOAT, None),
            helper.make_tensor_value_info("z", TensorProto.UINT8, None),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    q, s, z = ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    ).run(None, {"x": x})
    scale, zero = scale_and_zero_point(float(x.min()), float(x.max()))
    assert np.isclose(s, scale) and int(z) == zero
    assert np.array_equal(q, np.clip(np.rint(x / scale) + zero, 0, 255).astype(np.uint8))


def one_product_model() -> onnx.ModelProto:
    """x [batch, seq, 2] -> DynamicQuantizeLinear -> MatMulInteger with a 2x1 weight."""
    w = helper.make_tensor("w", TensorProto.UINT8, [2, 1], [3, 5])
    wz = helper.make_tensor("wz", TensorProto.UINT8, [], [0])
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], name="dq"),
        helper.make_node("MatMulInteger", ["xq", "w", "xz", "wz"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "s", 2]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["b", "s"]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.INT32, ["b", "s", 1])],
        initializer=[w, wz],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_ranges_ignore_padding_and_fixed_graph_is_batch_independent() -> None:
    model = one_product_model()
    assert dynamic_inputs(model) == ["x"]
    x = np.array([[[0.5, 1.0], [9.0, 9.0]]], dtype=np.float32)  # second token is padding
    mask = np.array([[1, 0]], dtype=np.int64)
    ranges = observed_ranges(model, [{"x": x, "attention_mask": mask}], threads=1)
    assert ranges == {"x": (0.0, 1.0)}
    assert fix_activation_scales(model, ranges) == 1
    assert [n.op_type for n in model.graph.node] == ["QuantizeLinear", "MatMulInteger"]
    assert fix_activation_scales(model, ranges) == 0  # nothing dynamic left
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    row = np.array([[[0.2, 0.4]]], dtype=np.float32)
    loud = np.array([[[0.2, 0.4]], [[1.0, 1.0]]], dtype=np.float32)  # a batchmate with more range
    feed = {"attention_mask": np.ones((1, 1), np.int64)}
    alone = session.run(["y"], {"x": row, **feed})[0]
    with_mate = session.run(["y"], {"x": loud, "attention_mask": np.ones((2, 1), np.int64)})[0]
    assert np.array_equal(alone[0], with_mate[0])
