"""``claimwatch bench scoring|cards|replay|gemm``: each benchmark lives in its own module, imported
only when run (the scoring one imports torch; the others must not pay for it)."""

from __future__ import annotations

import importlib
import sys

BENCHES = {
    "scoring": "ops.bench_scoring",
    "cards": "ops.bench_cards",
    "replay": "ops.bench_replay",
    "gemm": "ops.bench_gemm",
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHES:
        print(f"usage: claimwatch bench {{{'|'.join(BENCHES)}}} [ARGS...]", file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(BENCHES[argv[0]])
    return int(module.main(argv[1:]) or 0)
