"""Fine-tune a Hugging Face sequence classifier on LIAR-binary from a local pretrained folder.

Torch and transformers are imported here only: the serving path never imports this module.
Works for any ``AutoModelForSequenceClassification`` base (MiniLM/BERT, ALBERT, ...).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from config.log import get_logger
from inference.liar import DEFAULT_LIAR_DIR, LiarRow, load_split
from inference.metrics import summary
from inference.model_input import INPUT_FORMAT_VERSION

log = get_logger(__name__)


@dataclass
class TrainConfig:
    base: str
    out: str = "build/train/minilm-liar"
    data_dir: str = str(DEFAULT_LIAR_DIR)
    epochs: int = 3
    lr: float = 5e-5
    batch_size: int = 32
    max_length: int = 128
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    seed: int = 42
    threads: int = 2
    limit_train: int | None = None
    limit_valid: int | None = None
    init_config: str | None = None  # random-init from this config (tests; no weights offline)
    text_only: bool = False  # baseline: the statement alone, no metadata prefix
    history: list[dict[str, Any]] = field(default_factory=list)


def input_text(row: LiarRow, text_only: bool = False) -> str:
    """What the model reads: the shared prefix format, or the bare statement (baseline)."""
    return row.text if text_only else row.model_text()


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_model_and_tokenizer(cfg: TrainConfig) -> tuple[Any, Any]:
    """Pretrained weights from ``base``; or a random model from ``init_config`` (tests)."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(cfg.base)
    if cfg.init_config:
        config = AutoConfig.from_pretrained(cfg.init_config, num_labels=2)
        model = AutoModelForSequenceClassification.from_config(config)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(cfg.base, num_labels=2)
    model.config.id2label = {0: "not_false", 1: "false"}
    model.config.label2id = {"not_false": 0, "false": 1}
    return model, tokenizer


def _batches(
    rows: list[LiarRow],
    tokenizer: Any,
    batch_size: int,
    max_length: int,
    shuffle_seed: int | None,
    text_only: bool = False,
) -> list[dict[str, Any]]:
    import torch

    idx = list(range(len(rows)))
    texts = [input_text(r, text_only) for r in rows]
    groups = [idx]
    if shuffle_seed is not None:
        # Shuffle, then sort within pools of 50 batches by length: less padding, still random.
        rng = random.Random(shuffle_seed)
        rng.shuffle(idx)
        pool = batch_size * 50
        groups = [
            sorted(idx[i : i + pool], key=lambda j: len(texts[j])) for i in range(0, len(idx), pool)
        ]
    chunks = [g[s : s + batch_size] for g in groups for s in range(0, len(g), batch_size)]
    if shuffle_seed is not None:
        rng.shuffle(chunks)
    out = []
    for ids in chunks:
        chunk = [rows[i] for i in ids]
        enc = tokenizer(
            [texts[i] for i in ids],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        enc["labels"] = torch.tensor([r.label for r in chunk], dtype=torch.long)
        out.append(dict(enc))
    return out


def predict_p_false(
    model: Any, tokenizer: Any, texts: list[str], max_length: int, batch_size: int = 64
) -> np.ndarray:
    """Softmax p(label=1) with PyTorch eager, length-sorted batches."""
    import torch

    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    probs = np.zeros(len(texts), dtype=np.float64)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            ids = order[start : start + batch_size]
            enc = tokenizer(
                [texts[i] for i in ids],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            logits = model(**enc).logits
            probs[ids] = torch.softmax(logits.float(), dim=-1)[:, 1].numpy()
    return probs


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Train, evaluate each epoch, save the final checkpoint + tokenizer + train_meta.json."""
    import torch
    from tqdm import tqdm
    from transformers import get_linear_schedule_with_warmup

    torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    data_dir = Path(cfg.data_dir)
    train_rows = load_split("train", data_dir)[: cfg.limit_train]
    valid_rows = load_split("valid", data_dir)[: cfg.limit_valid]
    model, tokenizer = load_model_and_tokenizer(cfg)
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    params = [
        {
            "params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
            "weight_decay": cfg.weight_decay,
        },
        {
            "params": [p for n, p in model.named_parameters() if n.endswith(no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optim = torch.optim.AdamW(params, lr=cfg.lr)
    steps_per_epoch = (len(train_rows) + cfg.batch_size - 1) // cfg.batch_size
    total = steps_per_epoch * cfg.epochs
    sched = get_linear_schedule_with_warmup(optim, int(total * cfg.warmup_ratio), total)
    valid_texts = [input_text(r, cfg.text_only) for r in valid_rows]
    valid_labels = [r.label for r in valid_rows]
    log.info("train.start", train=len(train_rows), valid=len(valid_rows), **_public(cfg))
    started = time.monotonic()
    meta: dict[str, Any] = {}
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        batches = _batches(
            train_rows, tokenizer, cfg.batch_size, cfg.max_length, cfg.seed + epoch, cfg.text_only
        )
        bar = tqdm(batches, desc=f"epoch {epoch}/{cfg.epochs}", mininterval=10.0)
        loss_sum = 0.0
        for step, batch in enumerate(bar, 1):
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            sched.step()
            optim.zero_grad()
            loss_sum += float(loss.detach())
            bar.set_postfix(loss=f"{loss_sum / step:.4f}")
        probs = predict_p_false(model, tokenizer, valid_texts, cfg.max_length)
        metrics = summary(valid_labels, probs)
        record = {
            "epoch": epoch,
            "train_loss": loss_sum / max(1, len(batches)),
            **{f"valid_{k}": v for k, v in metrics.items()},
            "elapsed_s": round(time.monotonic() - started, 1),
        }
        cfg.history.append(record)
        log.info("train.epoch", **record)
        print(json.dumps(record), flush=True)
        # Saved every epoch so a run cut short still leaves its last finished epoch.
        meta = _save(cfg, model, tokenizer, len(train_rows), len(valid_rows))
    return meta


def _save(cfg: TrainConfig, model: Any, tokenizer: Any, n_train: int, n_valid: int) -> dict:
    import torch

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    meta = {
        "config": _public(cfg),
        "history": cfg.history,
        "final_valid": cfg.history[-1] if cfg.history else {},
        "input_format_version": INPUT_FORMAT_VERSION,
        "train_rows": n_train,
        "valid_rows": n_valid,
        "torch": torch.__version__,
    }
    (out / "train_meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    log.info("train.saved", out=str(out))
    return meta


def _public(cfg: TrainConfig) -> dict[str, Any]:
    d = asdict(cfg)
    d.pop("history", None)
    return d
