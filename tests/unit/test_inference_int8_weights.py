"""The int8 graph's weight storage: int8 <-> uint8 shifts keep every number, and the storage
chosen for this CPU computes the exact integer product."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.int8_weights import (
    choose_storage,
    load_for_host,
    shift_weights,
    u8s8_is_exact,
    weight_bound,
    weight_storage,
)

K, N, ROWS = 256, 48, 16


def matmul_integer_graph(path: Path, w: np.ndarray, zero_point: np.ndarray) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["x", "w", "", "w_zero_point"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, [ROWS, K])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [ROWS, N])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(zero_point, "w_zero_point")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def run(source: bytes | str, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"x": x})[0])


@pytest.mark.parametrize(
    ("choice", "stored", "exact", "expected"),
    [
        ("auto", {"uint8"}, True, "int8"),  # VNNI-like host: shift to the fast kernels
        ("auto", {"uint8"}, False, None),  # AVX2 host: keep the exact uint8 weights
        ("auto", {"int8"}, False, "uint8"),  # an int8-stored graph would saturate here
        ("auto", {"int8"}, True, None),
        ("uint8", {"uint8"}, True, None),  # explicit choices are obeyed
        ("int8", {"uint8"}, False, "int8"),
        ("auto", set(), True, None),  # fp32 graph: nothing quantised
    ],
)
def test_choose_storage(choice: str, stored: set[str], exact: bool, expected: str | None) -> None:
    assert choose_storage(choice, stored, exact) == expected  # type: ignore[arg-type]


def test_shifts_round_trip_bit_for_bit(tmp_path: Path) -> None:
    import onnx

    rng = np.random.default_rng(1)
    w = rng.integers(-128, 128, (K, N), dtype=np.int8)
    path = matmul_integer_graph(tmp_path / "s8.onnx", w, np.array(-5, np.int8))
    model = onnx.load(str(path))
    original = {i.name: i.SerializeToString() for i in model.graph.initializer}
    assert shift_weights(model, "uint8") == 1 and weight_storage(model) == {"uint8"}
    assert shift_weights(model, "uint8") == 0  # already uint8: nothing to do
    assert shift_weights(model, "int8") == 1 and weight_storage(model) == {"int8"}
    assert {i.name: i.SerializeToString() for i in model.graph.initializer} == original


@pytest.mark.parametrize("choice", ["auto", "uint8"])
def test_chosen_storage_computes_the_exact_product(tmp_path: Path, choice: str) -> None:
    """Full-range inputs (u8 x s8 saturates on them without VNNI): ``auto`` shifts to int8
    only where that is exact, so the product is exact whatever the CPU."""
    import onnx

    rng = np.random.default_rng(2)
    w = rng.integers(0, 256, (K, N), dtype=np.uint8)
    x = rng.integers(0, 256, (ROWS, K), dtype=np.uint8)
    path = matmul_integer_graph(tmp_path / "u8.onnx", w, np.array(128, np.uint8))
    blob, storage = load_for_host(path, choice)  # type: ignore[arg-type]
    exact = x.astype(np.int64) @ (w.astype(np.int64) - 128)
    assert np.array_equal(run(blob if blob is not None else str(path), x), exact)
    if choice == "uint8" or not u8s8_is_exact():
        assert blob is None and storage == "uint8"
    else:
        assert blob is not None and storage == "int8"
        assert weight_storage(onnx.load_from_string(blob)) == {"int8"}


def test_forced_int8_storage_runs_and_reports_it(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    w = rng.integers(0, 256, (K, N), dtype=np.uint8)
    path = matmul_integer_graph(tmp_path / "u8.onnx", w, np.array(128, np.uint8))
    blob, storage = load_for_host(path, "int8")
    assert blob is not None and storage == "int8"
    small = rng.integers(0, 8, (ROWS, K), dtype=np.uint8)  # small enough never to saturate
    assert np.array_equal(run(blob, small), small.astype(np.int64) @ (w.astype(np.int64) - 128))


def test_weight_bound_is_the_largest_distance_from_the_zero_point(tmp_path: Path) -> None:
    import onnx

    w = np.full((K, N), 128, np.uint8)
    w[3, 5], w[7, 9] = 128 + 64, 128 - 61
    model = onnx.load(str(matmul_integer_graph(tmp_path / "u8.onnx", w, np.array(128, np.uint8))))
    assert weight_bound(model) == 64
    shift_weights(model, "int8")  # the same numbers, so the same bound
    assert weight_bound(model) == 64


def test_seven_bit_weights_are_exact_on_the_fast_kernels() -> None:
    """What the export's 7-bit weights are for: u8 x s8 with |w| <= 64 never saturates
    (2 x 255 x 64 < 2**15), so every CPU gets the fast kernels exactly."""
    assert u8s8_is_exact(64)


def test_auto_runs_seven_bit_weights_as_int8_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    w = rng.integers(128 - 64, 128 + 65, (K, N), dtype=np.uint8)
    w[:, 0], w[:, 1] = 128 + 64, 128 - 64  # the worst case against activations of 255
    x = rng.integers(0, 256, (ROWS, K), dtype=np.uint8)
    x[0] = 255
    path = matmul_integer_graph(tmp_path / "u8.onnx", w, np.array(128, np.uint8))
    blob, storage = load_for_host(path, "auto")
    assert blob is not None and storage == "int8"
    assert np.array_equal(run(blob, x), x.astype(np.int64) @ (w.astype(np.int64) - 128))
