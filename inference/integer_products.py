"""Fuse each integer product and its rescaling into one ``MatMulIntegerToFloat`` node.

After ``inference.activation_scales`` fixes the activations' scales, an integer product reads
``MatMulInteger -> Cast -> Mul(scale) [-> Add(bias)]``, with ``scale = Mul(a_scale,
b_scale)`` of two constants. ONNX Runtime would fuse that into ``MatMulIntegerToFloat`` (the
rescale and bias applied while the product's int32 tiles are still in cache), but its constant
folding runs first and turns ``Mul(a_scale, b_scale)`` into a constant, after which its fusion
pattern no longer matches: the product then writes int32, a Cast writes float and a Mul and an
Add each read and write the whole tensor again (~9 % of an int8 MiniLM call in ONNX Runtime's
profiler; fusing gained 4 % on a quiet 2-core host, docs/model.md). So the export writes the
fused node itself; the numbers are the same (int32 accumulator times the same two float
scales, plus the same bias).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

MS_DOMAIN = "com.microsoft"
FUSED = "MatMulIntegerToFloat"


def _consumers(model: Any) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = defaultdict(list)
    for node in model.graph.node:
        for name in node.input:
            found[name].append(node)
    return found


def _only_consumer(consumers: dict[str, list[Any]], outputs: set[str], name: str) -> Any:
    """The single node reading ``name`` (None when several read it or it is a graph output)."""
    readers = consumers.get(name, [])
    return readers[0] if len(readers) == 1 and name not in outputs else None


def _bias(node: Any, product: str, constants: dict[str, Any]) -> str | None:
    """The constant 1-D bias an ``Add`` adds to ``product``, if that is what it does."""
    if node is None or node.op_type != "Add" or len(node.input) != 2:
        return None
    other = node.input[1] if node.input[0] == product else node.input[0]
    tensor = constants.get(other)
    if tensor is None or len(tensor.dims) != 1 or tensor.dims[0] <= 1:
        return None
    return str(other)


def fuse_integer_products(model: Any) -> int:
    """Rewrite ``MatMulInteger -> Cast -> Mul(Mul(a_scale, b_scale)) [-> Add(bias)]`` into
    ``MatMulIntegerToFloat`` in place, where both scales are constants (a scalar activation
    scale, a scalar or per-column weight scale). Returns how many products were fused;
    idempotent (a fused graph has no such chain left)."""
    from onnx import TensorProto, helper

    constants = {t.name: t for t in model.graph.initializer}
    producers = {o: n for n in model.graph.node for o in n.output}
    consumers = _consumers(model)
    outputs = {o.name for o in model.graph.output}
    replace: dict[int, Any] = {}  # id(first node of a chain) -> fused node
    drop: set[int] = set()
    for node in model.graph.node:
        if node.op_type != "MatMulInteger" or len(node.input) < 2:
            continue
        cast = _only_consumer(consumers, outputs, node.output[0])
        if cast is None or cast.op_type != "Cast":
            continue
        if next((a.i for a in cast.attribute if a.name == "to"), None) != TensorProto.FLOAT:
            continue
        rescale = _only_consumer(consumers, outputs, cast.output[0])
        if rescale is None or rescale.op_type != "Mul" or len(rescale.input) != 2:
            continue
        scale_name = rescale.input[1] if rescale.input[0] == cast.output[0] else rescale.input[0]
        scales = producers.get(scale_name)
        if scales is None or scales.op_type != "Mul" or len(consumers[scale_name]) != 1:
            continue
        a_scale, b_scale = scales.input
        if a_scale not in constants or b_scale not in constants:
            continue
        if len(constants[a_scale].dims) > 0:  # the fused op takes one activation scale
            continue
        add = _only_consumer(consumers, outputs, rescale.output[0])
        bias = _bias(add, rescale.output[0], constants)
        zero_points = list(node.input[2:4]) + [""] * (4 - len(node.input))
        inputs = [node.input[0], node.input[1], a_scale, b_scale, *zero_points]
        if bias is not None:
            inputs.append(bias)
        out = add.output[0] if bias is not None else rescale.output[0]
        fused = helper.make_node(
            FUSED,
            inputs,
            [out],
            name=f"{node.name or node.output[0]}_to_float",
            domain=MS_DOMAIN,
        )
        replace[id(node)] = fused
        drop.update({id(cast), id(rescale), id(scales)} | ({id(add)} if bias else set()))
    if not replace:
        return 0
    nodes = [replace.get(id(n), n) for n in model.graph.node if id(n) not in drop]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    return len(replace)
