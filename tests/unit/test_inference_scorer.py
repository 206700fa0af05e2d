"""The serving path: Statement records in, ScoreResult / ScoreError out, no torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inference.buckets import lookup
from inference.runtime import CPU, CUDA, choose_providers
from inference.scorer import ScoreError, Scorer, ScoreResult
from streams.records import Statement
from tests.fixtures_inference import tiny_bert

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "minilm-liar"


def statement(i: int, text: str, **fields: Any) -> Statement:
    return Statement(
        id=f"s{i}",
        source="replay",
        kind=fields.pop("kind", "transcript"),
        author=fields.pop("author", "barack-obama"),
        text=text,
        said_at="2020-01-01T00:00:00+00:00",
        ingested_at="2020-01-01T00:00:00+00:00",
        external_id=str(i),
        **fields,
    )


@pytest.fixture(scope="module")
def tiny_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ops.export_model import main as export_main

    root = tmp_path_factory.mktemp("tiny")
    ckpt = tiny_bert(root / "ckpt")
    rc = export_main(
        [
            "--checkpoint",
            str(ckpt),
            "--out",
            str(root / "art"),
            "--build-dir",
            str(root / "build"),
            "--limit-valid",
            "48",
            "--buckets",
            "4",
            "--max-length",
            "64",
            "--scale-statements",
            "96",
        ]
    )
    assert rc == 0
    return root / "art"


def test_artifact_folder_contents(tiny_artifact: Path) -> None:
    manifest = json.loads((tiny_artifact / "manifest.json").read_text())
    assert {"model.int8.onnx", "tokenizer.json", "buckets.json", "calibration.jsonl"} <= set(
        manifest["sha256"]
    )
    assert manifest["parity_max_abs_logit_diff"] <= 1e-3
    assert manifest["max_length"] == 64 and manifest["input_format_version"] == 1
    lines = (tiny_artifact / "calibration.jsonl").read_text().splitlines()
    assert len(lines) == 48
    assert set(json.loads(lines[0])) == {"id", "p_false", "label", "kind"}
    buckets = json.loads((tiny_artifact / "buckets.json").read_text())
    assert buckets["bucket_count"] == 4 and len(buckets["tables"]["all"]) == 4


def test_scores_in_input_order_with_bucket_metrics(tiny_artifact: Path) -> None:
    scorer = Scorer.from_artifact(tiny_artifact, intra_op_threads=1, provider="cpu")
    sts = [
        statement(i, t)
        for i, t in enumerate(
            [
                "Taxes doubled.",
                "A much longer statement about the deficit and jobs, said twice. " * 2,
                "Crime is down.",
            ]
        )
    ]
    out = scorer.score(sts)
    assert [r.statement_id for r in out] == ["s0", "s1", "s2"]
    for r in out:
        assert isinstance(r, ScoreResult)
        assert 0.0 <= r.p_false <= 1.0 and r.confidence == max(r.p_false, 1 - r.p_false)
        assert r.prediction == int(r.p_false >= 0.5)
        row = lookup(scorer.buckets["tables"]["all"], r.p_false)
        assert (r.bucket, r.bucket_ceiling, r.bucket_accuracy) == (
            row["index"],
            row["ceiling"],
            row["accuracy"],
        )
        assert not r.truncated
    assert (
        scorer.model_sha256
        == json.loads((tiny_artifact / "manifest.json").read_text())["sha256"]["model.int8.onnx"]
    )


def test_padding_and_batching_do_not_change_scores(tiny_artifact: Path) -> None:
    fp32 = tiny_artifact.parent / "build" / "model.onnx"
    scorer = Scorer.from_artifact(tiny_artifact, model_file=str(fp32), provider="cpu", max_batch=2)
    sts = [statement(i, "word " * (i * 7 + 1)) for i in range(5)]
    together = [r.p_false for r in scorer.score(sts)]  # type: ignore[union-attr]
    alone = [scorer.score([s])[0].p_false for s in sts]  # type: ignore[union-attr]
    assert np.allclose(together, alone, atol=1e-5)


def test_int8_scores_do_not_depend_on_batchmates(tiny_artifact: Path) -> None:
    """The export fixes the int8 graph's activation scales: a statement scores the same alone,
    in a batch, or among other statements (dynamic scales would move it)."""
    import onnx

    manifest = json.loads((tiny_artifact / "manifest.json").read_text())
    assert manifest["activation_scales"]["fixed_tensors"] > 0
    graph = onnx.load(str(tiny_artifact / "model.int8.onnx"), load_external_data=False).graph
    ops = [n.op_type for n in graph.node]
    assert "DynamicQuantizeLinear" not in ops
    # With constant scales every integer product is fused with its rescaling.
    assert manifest["activation_scales"]["fused_products"] == ops.count("MatMulIntegerToFloat")
    assert "MatMulIntegerToFloat" in ops and "MatMulInteger" not in ops
    scorer = Scorer.from_artifact(tiny_artifact, provider="cpu", max_batch=3)
    sts = [statement(i, "word " * (i * 5 + 1) + "budget cuts") for i in range(7)]
    together = [r.p_false for r in scorer.score(sts)]  # type: ignore[union-attr]
    alone = [scorer.score([s])[0].p_false for s in sts]  # type: ignore[union-attr]
    others = [scorer.score([s, *sts[:2]])[0].p_false for s in sts]  # type: ignore[union-attr]
    assert np.allclose(together, alone, atol=1e-6) and np.allclose(alone, others, atol=1e-6)


def test_truncation_is_recorded(tiny_artifact: Path) -> None:
    scorer = Scorer.from_artifact(tiny_artifact, max_length=16, provider="cpu")
    short, long = scorer.score([statement(1, "Short."), statement(2, "many words " * 40)])
    assert isinstance(short, ScoreResult) and not short.truncated
    assert isinstance(long, ScoreResult) and long.truncated and long.tokens == 16


def test_unscorable_statements_become_errors(tiny_artifact: Path) -> None:
    scorer = Scorer.from_artifact(tiny_artifact, provider="cpu")
    real = scorer.tokenizer

    class Failing:
        """The real tokenizer, except that it cannot tokenise one marked text."""

        def encode_batch(self, texts: list[str]) -> Any:
            if any("BOOM" in t for t in texts):
                raise ValueError("cannot tokenise")
            return real.encode_batch(texts)

        def encode(self, text: str) -> Any:
            if "BOOM" in text:
                raise ValueError("cannot tokenise")
            return real.encode(text)

    scorer.tokenizer = Failing()
    out = scorer.score(
        [statement(1, "   \n\t "), statement(2, "fine"), statement(3, "BOOM"), statement(4, "")]
    )
    assert [type(r) for r in out] == [ScoreError, ScoreResult, ScoreError, ScoreError]
    assert out[0].reason == "empty after normalisation"  # type: ignore[union-attr]
    assert out[2].reason.startswith("tokenizer error: ValueError")  # type: ignore[union-attr]
    assert [r.statement_id for r in out] == ["s1", "s2", "s3", "s4"]


def test_wrong_input_format_version_is_refused(tiny_artifact: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "art"
    shutil.copytree(tiny_artifact, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["input_format_version"] = 999
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="input format"):
        Scorer.from_artifact(copy, provider="cpu")


def test_provider_choice() -> None:
    assert choose_providers("auto", [CUDA, CPU], gpus=0) == [CPU]
    assert choose_providers("auto", [CUDA, CPU], gpus=1) == [CUDA, CPU]
    assert choose_providers("auto", [CPU], gpus=1) == [CPU]
    assert choose_providers("cpu", [CUDA, CPU], gpus=1) == [CPU]
    with pytest.raises(RuntimeError):
        choose_providers("cuda", [CUDA, CPU], gpus=0)


def score_in_fresh_process(artifact: Path, provider: str, check: str) -> None:
    """Score one statement in a new interpreter that imports only the serving path; ``check``
    runs after loading (``s`` is the scorer). No training library may have been imported."""
    code = (
        "import sys\n"
        "from inference.scorer import Scorer\n"
        "from tests.unit.test_inference_scorer import statement\n"
        f"s = Scorer.from_artifact({str(artifact)!r}, provider={provider!r})\n"
        f"{check}\n"
        "print(type(s.score([statement(1, 'Taxes doubled.')])[0]).__name__)\n"
        "bad = [m for m in ('torch', 'transformers', 'sklearn', 'scipy') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=100,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ScoreResult")


def test_serving_path_never_imports_torch(tiny_artifact: Path) -> None:
    score_in_fresh_process(
        tiny_artifact, "auto", "assert s.provider == 'CPUExecutionProvider', s.provider"
    )


@pytest.mark.skipif(not (SHIPPED / "manifest.json").exists(), reason="no shipped artifact yet")
def test_shipped_artifact_scores_liar_statements() -> None:
    from inference.liar import load_split
    from inference.metrics import roc_auc

    scorer = Scorer.from_artifact(SHIPPED, provider="cpu")
    rows = load_split("valid")[:200]
    sts = [
        statement(
            i,
            r.text,
            kind=r.kind,
            author=r.author,
            party=r.party,
            role=r.role,
            state=r.state,
            venue=r.venue,
            subjects=r.subjects,
        )
        for i, r in enumerate(rows)
    ]
    out = scorer.score(sts)
    assert all(isinstance(r, ScoreResult) for r in out)
    p = [r.p_false for r in out]  # type: ignore[union-attr]
    assert roc_auc([r.label for r in rows], p) > 0.65  # a trained model, not noise
    assert scorer.model_version.startswith("minilm-liar-")
    calibration = {
        json.loads(x)["id"]: json.loads(x)["p_false"]
        for x in (SHIPPED / "calibration.jsonl").read_text().splitlines()
    }
    assert np.allclose([calibration[r.id] for r in rows[:20]], p[:20], atol=0.02)


def test_recalibrate_only_swaps_the_ensemble_member(tiny_artifact: Path, tmp_path: Path) -> None:
    import re
    import shutil

    from inference.fields_tfidf import FieldsTfidfLogReg
    from inference.liar import load_split
    from ops.baselines import fit_fields_member
    from ops.export_model import main as export_main

    art = tmp_path / "art"
    shutil.copytree(tiny_artifact, art)
    old = json.loads((art / "manifest.json").read_text())
    train = load_split("train")[:300]
    member = fit_fields_member([r.model_text() for r in train], [r.label for r in train])
    (tmp_path / "member.json").write_text(json.dumps(member.to_json()))
    args = ["--recalibrate-only", "--out", str(art), "--limit-valid", "48", "--buckets", "4"]
    assert export_main([*args, "--ensemble-tfidf", str(tmp_path / "member.json")]) == 0

    new = json.loads((art / "manifest.json").read_text())
    assert new["ensemble"] == {"tfidf_file": "tfidf.json", "transformer_weight": 0.5}
    assert re.fullmatch(r"art-\d{8}-[0-9a-f]{8}", new["model_version"])
    assert new["model_version"] != old["model_version"]
    assert new["sha256"]["model.int8.onnx"] == old["sha256"]["model.int8.onnx"]
    assert new["recalibrated"]["from_model_version"] == old["model_version"]
    assert new["recalibrated"]["member"]["kind"] == "fields-tfidf-logreg"
    assert new["metrics"]["onnx_int8"] == pytest.approx(old["metrics"]["onnx_int8"])
    assert new["metrics"]["onnx_fp32"] == old["metrics"]["onnx_fp32"]
    assert {"shipped", "ensemble_member"} <= set(new["metrics"])
    assert new["training"] == old["training"] and new["max_length"] == 64

    # one batch of 48, as calibration scored them (int8 scores move with their batch-mates)
    scorer = Scorer.from_artifact(art, provider="cpu", max_batch=64)
    assert isinstance(scorer.tfidf, FieldsTfidfLogReg)
    assert scorer.model_version == new["model_version"]
    valid = load_split("valid")[:48]
    texts = [r.model_text() for r in valid]
    p, _ = scorer.p_false_texts(texts)
    scorer.tfidf = None
    alone, _ = scorer.p_false_texts(texts)
    assert np.allclose(p, 0.5 * alone + 0.5 * member.predict_proba(texts), atol=1e-12)
    calibration = [json.loads(x) for x in (art / "calibration.jsonl").read_text().splitlines()]
    assert [c["id"] for c in calibration] == [r.id for r in valid]
    assert np.allclose([c["p_false"] for c in calibration], p, atol=1e-6)
    buckets = json.loads((art / "buckets.json").read_text())
    assert buckets["global"]["n"] == 48 and len(buckets["tables"]["all"]) == 4

    # again without a new member: the same scores, so the same version digest
    assert export_main(args) == 0
    again = json.loads((art / "manifest.json").read_text())
    assert again["model_version"].rsplit("-", 1)[1] == new["model_version"].rsplit("-", 1)[1]
    assert (art / "calibration.jsonl").read_text().splitlines() == [
        json.dumps(c) for c in calibration
    ]


@pytest.mark.skipif(not (SHIPPED / "manifest.json").exists(), reason="no shipped artifact yet")
def test_shipped_ensemble_member_needs_no_sklearn_or_scipy() -> None:
    score_in_fresh_process(SHIPPED, "cpu", "assert s.tfidf is not None")
