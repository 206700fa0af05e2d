"""``bench scoring``: token-sorted batches, every backend once a round, and a clear error
where the training run it compares against is missing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ops.bench_scoring import batches, main, missing_inputs, render, rounds


def test_batches_sort_by_tokens_and_cover_every_statement() -> None:
    tokens = [9, 3, 7, 3, 12, 1, 5]
    out = batches(tokens, 3)
    assert [len(b) for b in out] == [3, 3, 1]
    assert sorted(i for b in out for i in b) == list(range(len(tokens)))
    assert [tokens[i] for b in out for i in b] == sorted(tokens)


def test_rounds_run_backends_in_turn_and_report_medians() -> None:
    texts = [f"statement {i}" for i in range(6)]
    labels = [0, 1, 0, 1, 0, 1]
    order = batches([len(t) + i for i, t in enumerate(texts)], 4)
    calls: list[str] = []

    def backend(name: str, p_true: float) -> Callable[[list[str]], np.ndarray]:
        def run(batch: list[str]) -> np.ndarray:
            calls.append(name)
            return np.array([p_true if int(t.split()[1]) % 2 else 1 - p_true for t in batch])

        return run

    rows = rounds({"a": backend("a", 0.9), "b": backend("b", 0.2)}, texts, labels, order, 3)
    per_pass = len(order) + 1  # the warm-up call, then every batch
    assert calls == (["a"] * per_pass + ["b"] * per_pass) * 3  # in turn, round by round
    a, b = rows
    assert [r["backend"] for r in rows] == ["a", "b"]
    assert len(a["rates"]) == 3 and a["statements_per_s"] == float(np.median(a["rates"]))
    assert a["auc"] == 1.0 and b["auc"] == 0.0  # scores land on the right statements


def test_render_reports_median_ratio_and_rounds_meeting_the_target() -> None:
    def row(name: str, rates: list[float]) -> dict[str, object]:
        return {
            "backend": name,
            "statements": 10,
            "statements_per_s": float(np.median(rates)),
            "rates": rates,
            "p50_ms": 1.0,
            "p99_ms": 2.0,
            "auc": 0.7,
        }

    worker = {
        "rss_mb": 300.0,
        "statements_per_s": 100.0,
        "torch_imported": False,
        "transformers_imported": False,
        "int8_weights": "int8",
    }
    text = render(
        [row("onnx-int8", [300.0, 330.0, 290.0]), row("pytorch-eager", [100.0, 100.0, 100.0])],
        worker,
        "cmd",
        "host",
    )
    assert "3.00x throughput, median over 3 rounds" in text
    assert "round by round 3.00x, 3.30x, 2.90x: 3x in 2 of 3" in text


def test_missing_inputs_names_what_a_fresh_clone_lacks(tmp_path: Path) -> None:
    artifact, checkpoint = tmp_path / "artifact", tmp_path / "checkpoint"
    fp32 = tmp_path / "build" / "model.onnx"
    artifact.mkdir()
    (artifact / "model.int8.onnx").write_bytes(b"x")
    missing = missing_inputs(artifact, fp32, checkpoint)
    assert missing == [
        f"fp32 graph (--fp32): {fp32}",
        f"PyTorch checkpoint (--checkpoint): {checkpoint / 'config.json'}",
    ]
    fp32.parent.mkdir()
    fp32.write_bytes(b"x")
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text("{}")
    assert missing_inputs(artifact, fp32, checkpoint) == []


def test_bench_scoring_without_a_training_run_exits_2_with_the_build_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--fp32", str(tmp_path / "none.onnx"), "--checkpoint", str(tmp_path / "none")])
    assert code == 2
    err = capsys.readouterr().err
    assert "fp32 graph (--fp32)" in err and "claimwatch train" in err and "export-model" in err
