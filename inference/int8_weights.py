"""How the int8 graph's quantised weights are stored, and which storage this CPU multiplies
exactly and fast.

``quantize_dynamic`` writes int8 weights, which ONNX Runtime multiplies by uint8 activations
with its u8 x s8 kernels. On CPUs with int8 dot-product instructions (AVX-512 VNNI, AVX-VNNI,
AMX) those are exact and the fast ones (``claimwatch bench gemm``: 2.4-2.6x the u8 x u8
kernels on a Zen 4 host). On AVX2 without VNNI they add pairs of products in 16 bits and
saturate, so the same graph scored differently by CPU. uint8 weights (w + 128, zero point +
128) give the same integers through u8 x u8 kernels, exact everywhere.

So the artifact stores uint8 (portable and exact), and a scorer on a host whose u8 x s8
kernels are exact for the graph's weights shifts them back to int8 in memory before the
session is built: the same numbers, hence the same scores, only faster. Whether they are
exact depends on the weights' range too: with 7-bit weights (|w - zero point| <= 64,
``export-model --weight-bits 7``) a pair of products stays within 16 bits, so AVX2 hosts
get the u8 x s8 kernels as well. ``u8s8_is_exact`` asks the kernels, for that range, rather
than trusting CPU flags.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from config.log import get_logger

log = get_logger(__name__)

Storage = Literal["int8", "uint8"]
StorageChoice = Literal["auto", "int8", "uint8"]


def _weight_inputs(node: Any) -> tuple[int, int] | None:
    """(weight, weight zero point) input positions of the integer matrix products."""
    if node.op_type == "MatMulInteger":
        return 1, 3
    if node.op_type == "QAttention":
        return 1, 7
    if node.op_type == "MatMulIntegerToFloat":
        return 1, 5
    return None


def _quantised_weights(model: Any) -> Iterator[tuple[Any, Any, Any | None]]:
    """(node, weight initializer, zero-point initializer or None) for every integer product
    whose weight is a constant; a weight shared by several nodes comes once per node."""
    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        positions = _weight_inputs(node)
        if positions is None or len(node.input) <= positions[0]:
            continue
        weight = inits.get(node.input[positions[0]])
        if weight is None:
            continue
        zp_name = node.input[positions[1]] if len(node.input) > positions[1] else ""
        yield node, weight, inits.get(zp_name) if zp_name else None


def weight_storage(model: Any) -> set[str]:
    """The storage types ('int8', 'uint8') of the graph's quantised weights."""
    import onnx

    names = {onnx.TensorProto.INT8: "int8", onnx.TensorProto.UINT8: "uint8"}
    return {names[w.data_type] for _, w, _ in _quantised_weights(model) if w.data_type in names}


def weight_bound(model: Any) -> int:
    """The largest |w - zero point| of the graph's quantised weights (0 when there are none):
    127 for the shipped 8-bit weights, 64 for ``export-model --weight-bits 7``."""
    from onnx import numpy_helper

    bound = 0
    for _, weight, zp in _quantised_weights(model):
        w = numpy_helper.to_array(weight).astype(np.int32)
        z = numpy_helper.to_array(zp).astype(np.int32) if zp is not None else np.zeros(())
        bound = max(bound, int(np.abs(w - z.reshape((1, -1) if z.ndim else ())).max(initial=0)))
    return bound


def shift_weights(model: Any, to: Storage) -> int:
    """Re-store the quantised weights (and their zero points) as ``to`` in place, adding or
    taking 128: only w - zero_point enters a product, so the numbers are unchanged.

    Returns the number of weight tensors shifted (0 when they are stored as ``to`` already).
    """
    import onnx
    from onnx import numpy_helper

    source = onnx.TensorProto.INT8 if to == "uint8" else onnx.TensorProto.UINT8
    offset, dtype = (128, np.uint8) if to == "uint8" else (-128, np.int8)
    inits = {i.name: i for i in model.graph.initializer}
    names: set[str] = set()  # weights and zero points to shift, each once (weights may be shared)
    weights = 0
    for node, weight, zp in _quantised_weights(model):
        if weight.data_type != source:
            continue
        if zp is None:  # absent means 0, and a shifted weight needs an explicit one
            raise ValueError(f"{node.name}: quantised weight without a zero-point initializer")
        weights += weight.name not in names
        names.update((weight.name, zp.name))
    for name in sorted(names):
        tensor = inits[name]
        shifted = numpy_helper.to_array(tensor).astype(np.int16) + offset
        tensor.CopyFrom(numpy_helper.from_array(shifted.astype(dtype), name))
    return weights


def product_session(
    node_type: str, a_type: int, b: np.ndarray, out_type: int, rows: int, threads: int = 0
) -> Any:
    """An ONNX Runtime session of one matrix product ``a . b`` with ``b`` a constant (so it is
    prepacked, as a model's weights are): the probe below and ``claimwatch bench gemm``."""
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    k, n = b.shape
    graph = helper.make_graph(
        [helper.make_node(node_type, ["a", "b"], ["y"])],
        "product",
        [helper.make_tensor_value_info("a", a_type, [rows, k])],
        [helper.make_tensor_value_info("y", out_type, [rows, n])],
        [numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


@functools.cache
def u8s8_is_exact(bound: int = 128) -> bool:
    """Whether ONNX Runtime's u8 x s8 kernels compute products with weights in [-bound,
    bound] exactly on this CPU. For full-range weights (128) they saturate on AVX2 without
    VNNI, which adds pairs of u8 x s8 products in 16 bits; for 7-bit weights (64) two products
    sum to at most 2 x 255 x 64 = 32,640 and fit. A 32x256 by 256x32 product with the worst
    case in it (activations 255 against weights at both ends), checked against numpy; about
    a millisecond, once per process and bound."""
    from onnx import TensorProto

    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (32, 256), dtype=np.uint8)
    low, high = max(-bound, -128), min(bound, 127)
    b = rng.integers(low, high + 1, (256, 32), dtype=np.int8)
    a[0], b[:, 0], b[:, 1] = 255, high, low
    session = product_session("MatMulInteger", TensorProto.UINT8, b, TensorProto.INT32, 32, 1)
    got = session.run(None, {"a": a})[0]
    return bool(np.array_equal(got, a.astype(np.int64) @ b.astype(np.int64)))


def choose_storage(choice: StorageChoice, stored: set[str], exact_u8s8: bool) -> Storage | None:
    """Pure: which storage to run the weights in (None: leave the graph as it is).

    ``auto`` runs int8 where the u8 x s8 kernels are exact (faster there) and uint8 elsewhere;
    an explicit choice is obeyed even where int8 would saturate (measuring that is the point).
    """
    if not stored:
        return None  # an fp32 graph: nothing quantised
    want: Storage = choice if choice != "auto" else ("int8" if exact_u8s8 else "uint8")
    return None if stored == {want} else want


def load_for_host(path: Path, choice: StorageChoice) -> tuple[bytes | None, Storage | None]:
    """The graph's bytes re-stored for this CPU, or (None, storage) when the file can be used
    as it is. ``storage`` is what the weights run as (None for an fp32 graph)."""
    import onnx

    model = onnx.load(str(path))
    stored = weight_storage(model)
    bound = weight_bound(model) if choice == "auto" and stored else None
    exact = u8s8_is_exact(bound) if bound is not None else False
    target = choose_storage(choice, stored, exact)
    if target is None:
        return None, ("int8" if "int8" in stored else "uint8") if stored else None
    shift_weights(model, target)
    log.info(
        "int8 weights re-stored for this CPU",
        model=str(path),
        storage=target,
        u8s8_exact=exact,
        weight_bound=bound,
    )
    return model.SerializeToString(), target
