"""``claimwatch export-model``: checkpoint -> ONNX (parity-checked) -> int8 artifact folder,
calibrated into confidence buckets on LIAR validation.

Artifact folder (shipped in git): model.int8.onnx, tokenizer.json, manifest.json,
buckets.json, calibration.jsonl (+ tfidf.json for an ensemble). The fp32 graphs stay in the
build folder (git-ignored) for the benchmark.

``--recalibrate-only`` needs no checkpoint: it re-scores the shipped folder (same quantised
weights, stored as uint8 if they were int8; a new ensemble member) and rewrites the calibration
files and the manifest with the same functions as the export.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

INT8 = "model.int8.onnx"
MEMBER = "tfidf.json"  # the ensemble member's file name inside the artifact folder
DATA = "LIAR-binary (Wang 2017): train.tsv to train, valid.tsv to evaluate/calibrate"


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
    from inference.tfidf import load_linear_member

    return Scorer(
        session=OnnxSession(model, provider="cpu"),
        tokenizer=Tokenizer.from_file(str(tokenizer_json)),
        manifest={"model_version": "calibrating", "pad_id": pad_id},
        buckets={"tables": {"all": []}},
        max_length=max_length,
        max_batch=64,
        model_sha256="",
        tfidf=load_linear_member(tfidf) if tfidf else None,
        transformer_weight=weight,
    )


def fix_scales(
    int8: Path,
    tokenizer_json: Path,
    pad_id: int,
    max_length: int,
    data_dir: Path,
    n: int,
    seed: int = 0,
) -> dict[str, Any] | None:
    """Give the int8 graph constant activation scales from ``n`` training statements
    (``inference.activation_scales``): scores then no longer depend on the batch."""
    import random

    import onnx

    from inference.activation_scales import fix_activation_scales, observed_ranges
    from inference.integer_products import fuse_integer_products
    from inference.liar import load_split
    from inference.scorer import pad_batch

    if n <= 0:
        return None
    rows = load_split("train", data_dir)
    random.Random(seed).shuffle(rows)
    texts = [r.model_text() for r in rows[:n]]
    scorer = make_scorer(int8, tokenizer_json, pad_id, max_length, None, 1.0)
    good = [e for e in scorer.encode(texts) if not isinstance(e, str)]
    encoded = sorted(good, key=lambda e: len(e.ids))
    feeds = [pad_batch(encoded[i : i + 32], pad_id) for i in range(0, len(encoded), 32)]
    model = onnx.load(str(int8))
    fixed = fix_activation_scales(model, observed_ranges(model, feeds))
    fused = fuse_integer_products(model)  # possible now that the scales are constants
    onnx.save(model, str(int8))
    return {
        "fixed_tensors": fixed,
        "calibrated_on": f"{len(texts)} LIAR train statements, "
        f"shuffled with seed {seed}, real tokens only",
        "fused_products": fused,
    }


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


def score_shipped(
    out: Path, pad_id: int, max_length: int, ensemble: bool, weight: float, valid: list[Any]
) -> tuple[Any, dict[str, Any]]:
    """The shipped scorer's validation p(false), and its metrics (+ the member's alone)."""
    from inference.metrics import summary
    from inference.tfidf import load_linear_member

    texts = [r.model_text() for r in valid]
    labels = [r.label for r in valid]
    member = out / MEMBER if ensemble else None
    scorer = make_scorer(out / INT8, out / "tokenizer.json", pad_id, max_length, member, weight)
    p = calibrate(scorer, texts)
    metrics = {"shipped": summary(labels, p)}
    if member is not None:
        p_member = load_linear_member(member).predict_proba(texts)
        metrics["ensemble_member"] = summary(labels, p_member)
    return p, metrics


def write_calibration(
    out: Path, valid: list[Any], p: Any, *, bucket_count: int, seed: int
) -> dict[str, Any]:
    """buckets.json (with the holdout check) and calibration.jsonl from validation scores."""
    from inference.buckets import build_buckets_document

    labels = [r.label for r in valid]
    buckets = build_buckets_document(
        p,
        labels,
        [r.kind for r in valid],
        bucket_count=bucket_count,
        calibrated_on="LIAR-binary validation",
        seed=seed,
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
    return buckets


def ensemble_entry(ensemble: bool, weight: float) -> dict[str, Any] | None:
    return {"tfidf_file": MEMBER, "transformer_weight": weight} if ensemble else None


def version_digest(sha: dict[str, str], ensemble: dict[str, Any] | None) -> str:
    """What model_version's hex names: the int8 graph's sha256, or, with an ensemble, a sha256
    over the graph's, the member's and the weight, so a new member gives a new version."""
    if not ensemble:
        return sha[INT8]
    parts = f"{sha[INT8]}:{sha[ensemble['tfidf_file']]}:{ensemble['transformer_weight']!r}"
    return hashlib.sha256(parts.encode()).hexdigest()


def write_manifest(out: Path, manifest: dict[str, Any], created: datetime) -> dict[str, Any]:
    """Hash the folder's files, name the version ``<name>-<date>-<digest[:8]>``, write it."""
    from inference.scorer import sha256_file

    files = sorted(f for f in out.iterdir() if f.is_file() and f.name != "manifest.json")
    sha = {f.name: sha256_file(f) for f in files}
    manifest = {
        "name": out.name,
        "model_version": f"{out.name}-{created:%Y%m%d}-"
        f"{version_digest(sha, manifest.get('ensemble'))[:8]}",
        "created": created.isoformat(),
        **{k: v for k, v in manifest.items() if k not in ("name", "model_version", "created")},
        "sha256": sha,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def export(args: argparse.Namespace) -> dict[str, Any]:
    from inference.export import export_checkpoint
    from inference.liar import load_split
    from inference.metrics import summary
    from inference.model_input import INPUT_FORMAT_VERSION

    ckpt, out, build = Path(args.checkpoint), Path(args.out), Path(args.build_dir)
    out.mkdir(parents=True, exist_ok=True)
    valid = load_split("valid", Path(args.data_dir))[: args.limit_valid]
    texts = [r.model_text() for r in valid]
    labels = [r.label for r in valid]
    result = export_checkpoint(
        ckpt, build, out / INT8, texts[:32], args.max_length, args.weight_bits
    )
    print(f"parity: max |logit diff| ONNX fp32 vs PyTorch = {result.parity_max_abs_diff:.2e}")
    pad_id = write_tokenizer_json(ckpt, out / "tokenizer.json")
    scales = fix_scales(
        out / INT8,
        out / "tokenizer.json",
        pad_id,
        args.max_length,
        Path(args.data_dir),
        args.scale_statements,
    )
    if scales:
        print(
            f"activation scales fixed: {scales['fixed_tensors']} tensors "
            f"({scales['calibrated_on']}); {scales['fused_products']} integer products "
            "fused with their rescaling"
        )
    tfidf_src = Path(args.ensemble_tfidf) if args.ensemble_tfidf else None
    if tfidf_src:
        shutil.copyfile(tfidf_src, out / MEMBER)
    metrics: dict[str, Any] = {}
    for name, path in (("onnx_fp32", result.optimized_path), ("onnx_int8", out / INT8)):
        scorer = make_scorer(path, out / "tokenizer.json", pad_id, args.max_length, None, 1.0)
        metrics[name] = summary(labels, calibrate(scorer, texts))
    p, shipped = score_shipped(
        out, pad_id, args.max_length, tfidf_src is not None, args.transformer_weight, valid
    )
    metrics.update(shipped)
    write_calibration(out, valid, p, bucket_count=args.buckets, seed=args.seed)
    train_meta_path = ckpt / "train_meta.json"
    train_meta = json.loads(train_meta_path.read_text()) if train_meta_path.exists() else {}
    manifest = {
        "base_model": train_meta.get("config", {}).get("base", str(ckpt)),
        "base_model_name": args.base_name,
        "data": DATA,
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
        "ensemble": ensemble_entry(tfidf_src is not None, args.transformer_weight),
        "parity_max_abs_logit_diff": result.parity_max_abs_diff,
        "weight_bits": args.weight_bits,
        "activation_scales": scales or "dynamic (per model call)",
        "metrics": metrics,
    }
    return write_manifest(out, manifest, datetime.now(UTC).replace(microsecond=0))


def recalibrate(args: argparse.Namespace) -> dict[str, Any]:
    """Re-score an existing artifact folder without its checkpoint: same int8 graph and
    tokenizer, a new (or the same) ensemble member; rewrites buckets, calibration, manifest.

    The fp32 metrics, export parity and training record are kept from the export (the fp32
    graph and the checkpoint are not shipped); everything else is measured again.
    """
    from inference.export import finish_int8_graph
    from inference.liar import load_split
    from inference.metrics import summary
    from inference.model_input import INPUT_FORMAT_VERSION

    out = Path(args.out)
    old = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    if int(old.get("input_format_version", -1)) != INPUT_FORMAT_VERSION:
        raise SystemExit(
            f"{out}: input format v{old.get('input_format_version')}, code writes "
            f"v{INPUT_FORMAT_VERSION}: re-export from the checkpoint instead"
        )
    if old.get("model_file") != INT8:
        raise SystemExit(f"{out}: model_file {old.get('model_file')!r}, expected {INT8}")
    old_member = (old.get("ensemble") or {}).get("tfidf_file")
    src = Path(args.ensemble_tfidf) if args.ensemble_tfidf else None
    if src is not None:
        shutil.copyfile(src, out / MEMBER)
    elif old_member and old_member != MEMBER:
        shutil.copyfile(out / old_member, out / MEMBER)
    ensemble = src is not None or bool(old_member)
    # Same quantised weights, stored as uint8 (exact on every CPU), LayerNorms rewritten.
    finished = finish_int8_graph(out / INT8)
    valid = load_split("valid", Path(args.data_dir))[: args.limit_valid]
    max_length, pad_id = int(old["max_length"]), int(old["pad_id"])
    int8 = make_scorer(out / INT8, out / "tokenizer.json", pad_id, max_length, None, 1.0)
    metrics: dict[str, Any] = {k: v for k, v in old.get("metrics", {}).items() if k == "onnx_fp32"}
    metrics["onnx_int8"] = summary(
        [r.label for r in valid], calibrate(int8, [r.model_text() for r in valid])
    )
    p, shipped = score_shipped(out, pad_id, max_length, ensemble, args.transformer_weight, valid)
    metrics.update(shipped)
    write_calibration(out, valid, p, bucket_count=args.buckets, seed=args.seed)
    created = datetime.now(UTC).replace(microsecond=0)
    manifest = {
        **old,
        "ensemble": ensemble_entry(ensemble, args.transformer_weight),
        "metrics": metrics,
        "recalibrated": {
            "at": created.isoformat(),
            "from_model_version": old.get("model_version"),
            "command": "claimwatch export-model --recalibrate-only"
            + (f" --ensemble-tfidf {src}" if src else ""),
            "member": _member_meta(out / MEMBER) if ensemble else None,
            **finished,
            "kept_from_export": ["metrics.onnx_fp32", "parity_max_abs_logit_diff", "training"],
        },
    }
    return write_manifest(out, manifest, created)


def _member_meta(path: Path) -> dict[str, Any]:
    """How the member was fitted, as it records itself (the old format records nothing)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"kind": data.get("kind"), **(data.get("meta") or {})}


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
    p.add_argument(
        "--scale-statements",
        type=int,
        default=2048,
        help="training statements that fix the int8 graph's activation scales (0: dynamic)",
    )
    p.add_argument(
        "--weight-bits",
        type=int,
        choices=(7, 8),
        default=8,
        help="7: weights in [-64, 64], exact on the fast u8 x s8 kernels of AVX2 CPUs too "
        "(faster there, a little less accurate; docs/model.md)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the holdout half split")
    p.add_argument("--limit-valid", type=int, default=None)
    p.add_argument(
        "--ensemble-tfidf",
        default=None,
        help="TF-IDF+LR JSON from 'claimwatch baselines --save' to average with",
    )
    p.add_argument("--transformer-weight", type=float, default=0.5)
    p.add_argument(
        "--recalibrate-only",
        action="store_true",
        help="no checkpoint: re-score the existing --out folder (with --ensemble-tfidf, a new "
        "member) and rewrite buckets, calibration and manifest",
    )
    args = p.parse_args(argv)
    manifest = recalibrate(args) if args.recalibrate_only else export(args)
    for name, m in manifest["metrics"].items():
        print(
            f"{name:<10} n={m['n']} acc={m['accuracy']:.3f} auc={m['auc']:.3f} mcc={m['mcc']:.3f}"
        )
    buckets = json.loads((Path(args.out) / "buckets.json").read_text(encoding="utf-8"))
    print(bucket_markdown(buckets))
    print(f"wrote {args.out} ({manifest['model_version']})")
    return 0
