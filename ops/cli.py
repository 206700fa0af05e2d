"""``claimwatch`` / ``python -m ops``: one entry point, one sub-command per operator task.

Each command lives in its own module and exposes ``main(argv: list[str]) -> int``; it is
imported only when run, so ``claimwatch replay`` never imports torch.
"""

from __future__ import annotations

import importlib
import sys

# name -> ("module:function", one-line help). Keep sorted by name.
COMMANDS: dict[str, tuple[str, str]] = {
    "broker": ("ops.serve:broker", "run the dev Kafka-protocol broker (Tansu) in the foreground"),
    "demo": ("ops.demo:main", "the embedded default: services, worker, sample replay, summary"),
    "health": ("ops.health:main", "broker/Redis/IPFS reachable? stage counters and worker lag"),
    "make-sample": ("ops.make_sample:main", "rebuild ops/samples/liar_valid.jsonl from LIAR"),
    "redis": ("ops.serve:redis", "run a dev Redis in the foreground"),
    "replay": ("ops.replay:main", "send a recorded stream (JSON lines) into the pipeline"),
    "worker": ("ops.worker:main", "run a stream worker (Faust) once broker and Redis answer"),
    "ipfs-node": ("ops.ipfs_node:main", "run the dev js-ipfs node on loopback (foreground)"),
    "subscribe": ("ops.subscribe:main", "follow the IPFS feed: live pubsub and/or IPNS history"),
    "xfake": ("ops.xfake.cli:main", "run the local X API v2 fake on loopback (dev/test)"),
    "feedserver": ("ops.feedserver:main", "serve sample transcript feeds from a folder (dev/test)"),
    "poller": ("ops.poller:main", "poll watched X accounts and transcript feeds on a schedule"),
    "sources": ("ops.sources:main", "list configured sources: last run, cursor, counts"),
    "thresholds": ("ops.thresholds:main", "posting rules: show, set (audited), suggest, history"),
    "recent": ("ops.recent:main", "latest predictions: bucket, decision, publish status"),
    "train": ("ops.train:main", "fine-tune the classifier on LIAR-binary (torch; offline)"),
    "export-model": ("ops.export_model:main", "checkpoint -> ONNX int8 artifact + buckets"),
    "bench": ("ops.bench:main", "benchmarks: bench scoring|cards|replay"),
    "card": ("ops.card:main", "render an interpretation card (PNG) for any statement"),
    "export-ig": ("inference.ig_export:main", "checkpoint -> integrated-gradients ONNX graph"),
    "baselines": ("ops.baselines:main", "TF-IDF + logistic regression reference models"),
}


def usage() -> str:
    width = max((len(n) for n in COMMANDS), default=0)
    lines = ["usage: claimwatch COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {help_}" for name, (_, help_) in sorted(COMMANDS.items())]
    lines += ["", "Run 'claimwatch COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"claimwatch: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name, func_name = COMMANDS[name][0].split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    return int(func(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
