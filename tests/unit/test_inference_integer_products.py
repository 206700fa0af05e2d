"""Fusing MatMulInteger -> Cast -> Mul [-> Add] into MatMulIntegerToFloat: same numbers."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from inference.int8_weights import shift_weights, weight_storage
from inference.integer_products import fuse_integer_products

RNG = np.random.default_rng(0)
# 7-bit weights: exact on the u8 x s8 kernels of every CPU (full-range ones saturate on AVX2
# without VNNI, so the int8 and uint8 storages would differ there; inference.int8_weights)
W = RNG.integers(-64, 65, (16, 8), dtype=np.int8)
W_SCALE = RNG.uniform(0.01, 0.05, 8).astype(np.float32)  # one scale per output column
BIAS = RNG.standard_normal(8).astype(np.float32)


def product_chain(*, bias: bool, dynamic: bool = False) -> onnx.ModelProto:
    """x -> QuantizeLinear (constant scale) or DynamicQuantizeLinear -> MatMulInteger -> Cast
    -> Mul(Mul(x_scale, w_scale)) [-> Add(bias)] -> Relu, as quantize_dynamic writes it."""
    quantize = (
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"])
        if dynamic
        else helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"])
    )
    nodes = [
        quantize,
        helper.make_node("Mul", ["xs", "ws"], ["scale"]),
        helper.make_node("MatMulInteger", ["xq", "w", "xz", "wz"], ["acc"]),
        helper.make_node("Cast", ["acc"], ["accf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["accf", "scale"], ["y0"]),
    ]
    if bias:
        nodes.append(helper.make_node("Add", ["y0", "b"], ["y1"]))
    nodes.append(helper.make_node("Relu", ["y1" if bias else "y0"], ["y"]))
    inits = [
        numpy_helper.from_array(W, "w"),
        numpy_helper.from_array(np.zeros(8, np.int8), "wz"),
        numpy_helper.from_array(W_SCALE, "ws"),
        numpy_helper.from_array(BIAS, "b"),
    ]
    if not dynamic:
        inits += [
            numpy_helper.from_array(np.array(0.02, np.float32), "xs"),
            numpy_helper.from_array(np.array(128, np.uint8), "xz"),
        ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "s", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    # No graph optimisation: the unfused chain is computed node by node, as written.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return np.asarray(session.run(None, {"x": x})[0])


def test_fused_chain_with_bias_computes_the_same_numbers() -> None:
    x = RNG.uniform(-2.5, 2.5, (3, 5, 16)).astype(np.float32)
    model = product_chain(bias=True)
    before = run(model, x)
    assert fuse_integer_products(model) == 1
    assert [n.op_type for n in model.graph.node] == [
        "QuantizeLinear",
        "MatMulIntegerToFloat",
        "Relu",
    ]
    fused = model.graph.node[1]
    assert list(fused.input) == ["xq", "w", "xs", "ws", "xz", "wz", "b"]
    assert np.allclose(run(model, x), before, rtol=1e-6, atol=1e-6)
    assert fuse_integer_products(model) == 0  # idempotent


def test_fused_chain_without_bias_keeps_its_output_name() -> None:
    x = RNG.uniform(-2.5, 2.5, (2, 4, 16)).astype(np.float32)
    model = product_chain(bias=False)
    before = run(model, x)
    assert fuse_integer_products(model) == 1
    fused = next(n for n in model.graph.node if n.op_type == "MatMulIntegerToFloat")
    assert list(fused.output) == ["y0"] and len(fused.input) == 6
    assert np.allclose(run(model, x), before, rtol=1e-6, atol=1e-6)


def test_dynamic_scales_are_left_to_onnx_runtime() -> None:
    """With DynamicQuantizeLinear the activation scale is not a constant: ONNX Runtime fuses
    that chain itself (DynamicQuantizeMatMul), so the rewrite leaves it alone."""
    model = product_chain(bias=True, dynamic=True)
    assert fuse_integer_products(model) == 0
    assert "MatMulInteger" in [n.op_type for n in model.graph.node]


def test_fused_weights_can_be_restored_as_uint8_and_back() -> None:
    """The weight-storage shift (inference.int8_weights) finds the fused node's weight."""
    x = RNG.uniform(-2.5, 2.5, (2, 4, 16)).astype(np.float32)
    model = product_chain(bias=True)
    fuse_integer_products(model)
    before = run(model, x)
    assert shift_weights(model, "uint8") == 1 and weight_storage(model) == {"uint8"}
    assert np.allclose(run(model, x), before, rtol=1e-6, atol=1e-6)
    assert shift_weights(model, "int8") == 1 and weight_storage(model) == {"int8"}
