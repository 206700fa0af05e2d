"""``claimwatch bench gemm``: what int8 can gain on this CPU, one matrix product at a time.

Dynamic int8 quantisation speeds a transformer up only as far as ONNX Runtime's integer
matrix products beat its float ones on the host: on CPUs with int8 dot-product instructions
(AVX-512 VNNI, AVX-VNNI, AMX) by 2-4x, on plain AVX2 by far less. This measures exactly that,
on the shapes of the shipped model's layers (MiniLM-L6: hidden 384, feed-forward 1536) for a
batch of 32 statements of 48 tokens, so ``bench scoring``'s int8-vs-PyTorch ratio can be read
against the ceiling the hardware allows.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from ops.bench_doc import machine, write_section

ROWS = 32 * 48  # statements x tokens in one model call
SHAPES = (
    ("attention projections", 384, 384),
    ("feed-forward in", 384, 1536),
    ("feed-forward out", 1536, 384),
)


@dataclass(frozen=True)
class GemmRow:
    layer: str
    fp32: float  # GFLOP/s
    u8s8: float  # GOP/s, int8 weights (what quantize_dynamic writes by default)
    u8u8: float  # GOP/s, uint8 weights
    u8s8_wrong: int  # entries of a full-range product that differ from the exact integers
    u8u8_wrong: int
    entries: int

    @property
    def best_ratio(self) -> float:
        return max(self.u8s8, self.u8u8) / self.fp32


def _session(node_type: str, a_type: int, b: np.ndarray, out_type: int, rows: int) -> Callable:
    from inference.int8_weights import product_session

    session = product_session(node_type, a_type, b, out_type, rows)
    return lambda feed: session.run(None, {"a": feed})


def ops_per_s(run: Callable, feed: np.ndarray, flops: float, seconds: float) -> float:
    """Best of three timed loops of about ``seconds / 3`` each (the machine is shared)."""
    run(feed)
    best = 0.0
    for _ in range(3):
        n, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds / 3:
            run(feed)
            n += 1
        best = max(best, n * flops / (time.perf_counter() - started))
    return best


def wrong_entries(run: Callable, a: np.ndarray, b: np.ndarray) -> int:
    """How many entries of ``a . b`` the kernel got wrong (integer products must be exact;
    u8 x s8 kernels that add pairs in 16 bits saturate on full-range inputs)."""
    # float64 BLAS is exact here (|sums| < 256 * 256 * 1536 << 2**53) and far faster than int64
    exact = a.astype(np.float64) @ b.astype(np.float64)
    return int(np.count_nonzero(run(a)[0].astype(np.float64) != exact))


def measure(seconds: float) -> list[GemmRow]:
    from onnx import TensorProto

    rng = np.random.default_rng(0)
    rows = []
    for name, k, n in SHAPES:
        flops = 2.0 * ROWS * k * n
        a32 = rng.standard_normal((ROWS, k), dtype=np.float32)
        a8 = rng.integers(0, 256, (ROWS, k), dtype=np.uint8)
        fp32 = _session(
            "MatMul",
            TensorProto.FLOAT,
            rng.standard_normal((k, n), dtype=np.float32),
            TensorProto.FLOAT,
            ROWS,
        )
        s8_w = rng.integers(-128, 128, (k, n), dtype=np.int8)
        u8_w = rng.integers(0, 256, (k, n), dtype=np.uint8)
        s8 = _session("MatMulInteger", TensorProto.UINT8, s8_w, TensorProto.INT32, ROWS)
        u8 = _session("MatMulInteger", TensorProto.UINT8, u8_w, TensorProto.INT32, ROWS)
        f, i8, iu8 = (
            ops_per_s(fp32, a32, flops, seconds),
            ops_per_s(s8, a8, flops, seconds),
            ops_per_s(u8, a8, flops, seconds),
        )
        rows.append(
            GemmRow(
                f"{name} ({ROWS}x{k} . {k}x{n})",
                f / 1e9,
                i8 / 1e9,
                iu8 / 1e9,
                wrong_entries(s8, a8, s8_w),
                wrong_entries(u8, a8, u8_w),
                ROWS * n,
            )
        )
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="claimwatch bench gemm", description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="timing per product and type")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    import onnxruntime as ort

    rows = measure(args.seconds)
    best_int8 = max(r.best_ratio for r in rows)
    lines = [
        "## Int8 vs fp32 matrix products (the ceiling for dynamic int8)",
        "",
        f"Command: `{shlex.join(['claimwatch', 'bench', 'gemm', *argv])}`  ",
        f"Machine: {machine()}  ",
        f"onnxruntime {ort.__version__}, CPU provider, default threads; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "| product | fp32 MatMul GFLOP/s | int8 u8s8 GOP/s | int8 u8u8 GOP/s | best int8 / fp32 "
        "| u8s8 entries wrong | u8u8 entries wrong |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r.layer} | {r.fp32:.1f} | {r.u8s8:.1f} | {r.u8u8:.1f} | "
            f"{r.best_ratio:.2f}x | {r.u8s8_wrong:,} of {r.entries:,} | "
            f"{r.u8u8_wrong:,} of {r.entries:,} |"
        )
    lines += [
        "",
        f"On this host an int8 product is at best {best_int8:.2f}x its fp32 one. The rest of "
        "the model (attention softmax, LayerNorm, GELU, the quantisation of activations) does "
        "not get faster at all, so int8 over ONNX fp32 is below this, and int8 over PyTorch "
        "eager is below this times fp32 ONNX's own lead over eager (`bench scoring`). "
        "Wrong entries: full-range random inputs checked against numpy's exact product; the "
        "shipped model stores its weights as uint8 for this reason and runs them as int8 only "
        "where the u8s8 kernels are exact (`model.int8_weights: auto`, docs/model.md).",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("gemm", body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
