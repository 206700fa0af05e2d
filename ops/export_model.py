"""``claimwatch export-model``: checkpoint -> ONNX (parity-checked) -> int8 artifact folder,
calibrated into confidence buckets on LIAR validation.

Artifact folder (shipped in git): model.int8.onnx, tokenizer.json, manifest.json,
buckets.json, calibration.jsonl (+ tfidf.json for an ensemble). The fp32 graphs stay in the
build folder (git-ignored) for the benchmark.
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

INT8 = "model.int8.onnx"


def calibrate(scorer: Any, texts: list[str]) -> Any:
    probs, _ = scorer.p_false_texts(texts)
    return probs


def make_scorer(
    model: Path,
    tokenizer_json: Path,
    pad_id: int,
    max_length: int,
    tfidf: Path | None,
    weight: float,
) -> Any:
    from tokenizers import Tokenizer

    from inference.runtime import OnnxSession
    from inference.scorer import Scorer
    from inference.tfidf import TfidfLogReg

    return Scorer(
        session=OnnxSession(model, provider="cpu"),
        tokenizer=Tokenizer.from_file(str(tokenizer_json)),
        manifest={"model_version": "calibrating", "pad_id": pad_id},
        buckets={"tables": {"all": []}},
        max_length=max_length,
        max_batch=64,
        model_sha256="",
        tfidf=TfidfLogReg.load(tfidf) if tfidf else None,
        transformer_weight=weight,
    )


def write_tokenizer_json(checkpoint: Path, dest: Path) -> int:
    """tokenizer.json without baked-in padding/truncation (the scorer sets its own); pad id."""
    from transformers import AutoTokenizer

    src = checkpoint / "tokenizer.json"
    if not src.exists():
        AutoTokenizer.from_pretrained(checkpoint).save_pretrained(checkpoint)
    data = json.loads(src.read_text(encoding="utf-8"))
    data["padding"] = None
    data["truncation"] = None
    dest.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    tok = AutoTokenizer.from_pretrained(checkpoint)
    return int(tok.pad_token_id or 0)


def export(args: argparse.Namespace) -> dict[str, Any]:
    from inference.buckets import build_buckets_document
    from inference.export import export_checkpoint
    from inference.liar import load_split
    from inference.metrics import summary
    from inference.model_input import INPUT_FORMAT_VERSION
    from inference.scorer import sha256_file

    ckpt, out, build = Path(args.checkpoint), Path(args.out), Path(args.build_dir)
    out.mkdir(parents=True, exist_ok=True)
    valid = load_split("valid", Path(args.data_dir))[: args.limit_valid]
    texts = [r.model_text() for r in valid]
    labels = [r.label for r in valid]
    result = export_checkpoint(ckpt, build, out / INT8, texts[:32], args.max_length)
    print(f"parity: max |logit diff| ONNX fp32 vs PyTorch = {result.parity_max_abs_diff:.2e}")
    pad_id = write_tokenizer_json(ckpt, out / "tokenizer.json")
    tfidf_src = Path(args.ensemble_tfidf) if args.ensemble_tfidf else None
    if tfidf_src:
        shutil.copyfile(tfidf_src, out / "tfidf.json")
    metrics: dict[str, Any] = {}
    for name, path in (("onnx_fp32", result.optimized_path), ("onnx_int8", out / INT8)):
        scorer = make_scorer(path, out / "tokenizer.json", pad_id, args.max_length, None, 1.0)
        metrics[name] = summary(labels, calibrate(scorer, texts))
    shipped = make_scorer(
        out / INT8,
        out / "tokenizer.json",
        pad_id,
        args.max_length,
        out / "tfidf.json" if tfidf_src else None,
        args.transformer_weight,
    )
    p = calibrate(shipped, texts)
    metrics["shipped"] = summary(labels, p)
    kinds = [r.kind for r in valid]
    buckets = build_buckets_document(
        p,
        labels,
        kinds,
        bucket_count=args.buckets,
        calibrated_on="LIAR-binary validation",
        seed=args.seed,
    )
    (out / "buckets.json").write_text(json.dumps(buckets, indent=1) + "\n", encoding="utf-8")
    with (out / "calibration.jsonl").open("w", encoding="utf-8") as fh:
        for row, prob in zip(valid, p, strict=True):
            fh.write(
                json.dumps(
                    {
                        "id": row.id,
                        "p_false": round(float(prob), 6),
                        "label": row.label,
                        "kind": row.kind,
                    }
                )
                + "\n"
            )
    train_meta_path = ckpt / "train_meta.json"
    train_meta = json.loads(train_meta_path.read_text()) if train_meta_path.exists() else {}
    files = sorted(f for f in out.iterdir() if f.is_file() and f.name != "manifest.json")
    sha = {f.name: sha256_file(f) for f in files}
    created = datetime.now(UTC).replace(microsecond=0)
    manifest = {
        "name": out.name,
        "model_version": f"{out.name}-{created:%Y%m%d}-{sha[INT8][:8]}",
        "created": created.isoformat(),
        "base_model": train_meta.get("config", {}).get("base", str(ckpt)),
        "base_model_name": args.base_name,
        "data": "LIAR-binary (Wang 2017): train.tsv to train, valid.tsv to evaluate/calibrate",
        "label_mapping": "pants-fire, false, barely-true -> 1; half-true, mostly-true, true -> 0",
        "seed": train_meta.get("config", {}).get("seed"),
        "training": train_meta.get("config", {}),
        "training_history": train_meta.get("history", []),
        "input_format_version": INPUT_FORMAT_VERSION,
        "max_length": args.max_length,
        "pad_id": pad_id,
        "model_file": INT8,
        "tokenizer_file": "tokenizer.json",
        "buckets_file": "buckets.json",
        "calibration_file": "calibration.jsonl",
        "ensemble": (
            {"tfidf_file": "tfidf.json", "transformer_weight": args.transformer_weight}
            if tfidf_src
            else None
        ),
        "parity_max_abs_logit_diff": result.parity_max_abs_diff,
        "metrics": metrics,
        "sha256": sha,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def bucket_markdown(buckets: dict[str, Any]) -> str:
    """The bucket table and the holdout honesty check as Markdown (for docs/model.md)."""
    g = buckets["global"]
    lines = [
        f"Global ({buckets['calibrated_on']}, n={g['n']}): accuracy {g['accuracy']:.3f}, "
        f"ROC AUC {g['auc']:.3f}, MCC {g['mcc']:.3f}, positive ratio {g['positive_ratio']:.3f}",
        "",
        "| bucket | confidence (floor, ceiling] | n | accuracy | PPV | NPV | positive ratio |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in buckets["tables"]["all"]:
        lines.append(
            f"| {r['index']} | ({r['floor']:.3f}, {r['ceiling']:.3f}] | {r['n']} | "
            f"{r['accuracy']:.3f} | {_pct(r['ppv'])} | {_pct(r['npv'])} | "
            f"{r['positive_ratio']:.3f} |"
        )
    h = buckets["holdout"]
    lines += [
        "",
        f"Holdout check: buckets calibrated on {h['calibration_n']} statements, measured on the "
        f"other {h['holdout_n']} (seed {h['seed']}).",
        "",
        "| bucket | ceiling | calib. n | calib. PPV | calib. acc. | holdout n | holdout PPV "
        "| holdout acc. | PPV gap |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in h["buckets"]:
        lines.append(
            f"| {r['index']} | {r['ceiling']:.3f} | {r['calibration_n']} | "
            f"{_pct(r['calibration_ppv'])} | {r['calibration_accuracy']:.3f} | {r['holdout_n']} | "
            f"{_pct(r['holdout_ppv'])} | {_pct(r['holdout_accuracy'])} | {_pct(r['ppv_gap'])} |"
        )
    lines.append(
        f"\nMean |PPV gap| {_pct(h['mean_abs_ppv_gap'])}, max {_pct(h['max_abs_ppv_gap'])}; "
        f"mean |accuracy gap| {_pct(h['mean_abs_accuracy_gap'])}."
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    from inference.liar import DEFAULT_LIAR_DIR

    p = argparse.ArgumentParser(prog="claimwatch export-model", description=__doc__)
    p.add_argument("--checkpoint", default="build/train/minilm-liar")
    p.add_argument("--out", default="models/minilm-liar", help="artifact folder (shipped)")
    p.add_argument("--build-dir", default="build/export/minilm-liar", help="fp32 graphs")
    p.add_argument("--base-name", default="sentence-transformers/all-MiniLM-L6-v2")
    p.add_argument("--data-dir", default=str(DEFAULT_LIAR_DIR))
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--buckets", type=int, default=8)
    p.add_argument("--seed", type=int, default=0, help="seed of the holdout half split")
    p.add_argument("--limit-valid", type=int, default=None)
    p.add_argument(
        "--ensemble-tfidf",
        default=None,
        help="TF-IDF+LR JSON from 'claimwatch baselines --save' to average with",
    )
    p.add_argument("--transformer-weight", type=float, default=0.5)
    args = p.parse_args(argv)
    manifest = export(args)
    for name, m in manifest["metrics"].items():
        print(
            f"{name:<10} n={m['n']} acc={m['accuracy']:.3f} auc={m['auc']:.3f} mcc={m['mcc']:.3f}"
        )
    buckets = json.loads((Path(args.out) / "buckets.json").read_text(encoding="utf-8"))
    print(bucket_markdown(buckets))
    print(f"wrote {args.out} ({manifest['model_version']})")
    return 0
