"""``claimwatch bench gemm`` runs the three products in both int8 layouts and writes its table;
the numbers themselves belong in docs/benchmarks.md, not in assertions."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops import bench_doc, bench_gemm


def test_measures_each_layer_shape_in_fp32_and_both_int8_layouts() -> None:
    rows = bench_gemm.measure(seconds=0.03)
    assert [r.layer.split(" (")[0] for r in rows] == [name for name, _, _ in bench_gemm.SHAPES]
    for r in rows:
        assert r.fp32 > 0 and r.u8s8 > 0 and r.u8u8 > 0
        assert r.best_ratio == max(r.u8s8, r.u8u8) / r.fp32
        assert r.u8u8_wrong == 0 and 0 <= r.u8s8_wrong <= r.entries  # u8s8 is CPU-dependent


def test_writes_its_own_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n<!-- bench:scoring -->\nkept\n<!-- /bench:scoring -->\n")
    write = bench_doc.write_section
    monkeypatch.setattr(bench_gemm, "write_section", lambda name, body: write(name, body, doc))
    assert bench_gemm.main(["--seconds", "0.03"]) == 0
    text = doc.read_text()
    assert "kept" in text and "<!-- bench:gemm -->" in text and "| feed-forward in" in text
    assert "Command: `claimwatch bench gemm --seconds 0.03`" in capsys.readouterr().out


def test_machine_names_the_cpu_generation_and_int8_instructions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        bench_doc,
        "cpu_info",
        lambda: {
            "model name": "AMD EPYC",
            "cpu family": "23",
            "model": "1",
            "flags": "fpu avx2 fma",
        },
    )
    assert "AMD EPYC (family 23 model 1), avx2," in bench_doc.machine()
    monkeypatch.setattr(
        bench_doc, "cpu_info", lambda: {"model name": "Xeon", "flags": "avx2 avx512f avx512_vnni"}
    )
    assert "Xeon, avx2/avx512f/avx512_vnni," in bench_doc.machine()
