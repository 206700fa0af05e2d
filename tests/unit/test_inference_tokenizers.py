"""Tokenizer round trips: the run-time ``tokenizers`` library must agree with the
transformers tokenizer used in training, for ALBERT's SentencePiece and MiniLM's WordPiece."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures_inference import ALBERT_TOKENIZER_DIR, albert_tokenizer_folder, minilm_folder

TEXTS = [
    "transcript | barack obama | democrat | president | illinois | denver |  || Says the "
    "unemployment rate doubled since 2009.",
    'Hillary Clinton agrees with John McCain "by voting to give George Bush the benefit".',
    "Prices rose 12.5% — café owners say so!",
]


@pytest.mark.skipif(not ALBERT_TOKENIZER_DIR.exists(), reason="shared ALBERT tokenizer absent")
def test_albert_spiece_round_trip(tmp_path: Path) -> None:
    from tokenizers import Tokenizer
    from transformers import AlbertTokenizer, AutoTokenizer

    folder = albert_tokenizer_folder(tmp_path / "albert")
    fast = Tokenizer.from_file(str(folder / "tokenizer.json"))
    assert fast.get_vocab_size() == 30000  # not the 5-token trap of AlbertTokenizerFast(vocab)
    # Training (AutoTokenizer on the saved folder) and serving (tokenizers) agree exactly.
    trained_with = AutoTokenizer.from_pretrained(folder)
    for text in TEXTS:
        ids = fast.encode(text).ids
        assert ids == trained_with(text)["input_ids"]
        assert fast.decode(ids) == trained_with.decode(ids, skip_special_tokens=True)
    # The converted tokenizer.json matches SentencePiece itself on ordinary text (it diverges on
    # some punctuation, e.g. a word right after an opening quote; both sides use the converted).
    slow = AlbertTokenizer.from_pretrained(str(ALBERT_TOKENIZER_DIR))
    plain = "Says the unemployment rate doubled since 2009, under Obama."
    assert fast.encode(plain).ids == slow(plain)["input_ids"]
    assert fast.decode(fast.encode(plain).ids) == plain.lower()
    # "|" is <unk> in ALBERT's vocab: the prefix separators reach ALBERT as one unknown token.
    assert fast.token_to_id("<unk>") in fast.encode(TEXTS[0]).ids


def test_minilm_wordpiece_round_trip() -> None:
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    folder = minilm_folder()
    hf = AutoTokenizer.from_pretrained(folder)
    fast = Tokenizer.from_file(str(folder / "tokenizer.json"))
    fast.no_padding()
    fast.no_truncation()
    for text in TEXTS:
        ids = fast.encode(text).ids
        assert ids == hf(text)["input_ids"]
        assert ids[0] == hf.cls_token_id and ids[-1] == hf.sep_token_id
        assert fast.decode(ids) == hf.decode(ids, skip_special_tokens=True)
    plain = "Says the unemployment rate doubled since 2009, under Obama."
    assert fast.decode(fast.encode(plain).ids) == plain.lower()
    assert hf.unk_token_id not in fast.encode(TEXTS[0]).ids  # the prefix format is all in-vocab
