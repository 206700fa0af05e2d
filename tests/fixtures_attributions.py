"""A tiny random BERT classifier, its WordPiece tokenizer and its ONNX graphs, for tests.

Built once per test session in a temporary folder: the same shapes of artifact as the shipped
model (a scoring graph and the IG gradient graph) at a size that exports in seconds.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ops import bench_cards

STATEMENTS = (
    "The unemployment rate has doubled since the governor took office.",
    "Says 90 percent of new jobs went to immigrants last year.",
    "Our state cut taxes for working families three times in four years.",
    "Crime in the city is at a forty-year low, according to police data.",
    "The senator voted against every veterans bill since 2009.",
    "Wind turbines kill more birds than cats do.",
)
KEEP = frozenset({"transcript", "democrat", "senator", "governor", "republican"})
CORPUS = (
    STATEMENTS
    + (
        "transcript | jane doe | democrat | senator | ohio | a debate | economy, taxes",
        "tweet | john roe | republican | governor | texas | twitter | crime, jobs",
    )
    * 3
)


@dataclass(frozen=True)
class TinyModel:
    """Everything a test needs: the torch model, the tokenizer, and paths of both graphs."""

    model: Any
    tokenizer: Any
    folder: Path
    ig_path: Path
    scoring_path: Path


def build_tokenizer() -> Any:
    """A deterministic WordPiece tokenizer: short corpus words whole, longer ones in pieces."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    words = sorted({w for line in CORPUS for w in re.findall(r"[a-z0-9]+", line.lower())})
    chars = sorted({c for line in CORPUS for c in line.lower() if not c.isspace()})
    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    pieces += [w for w in words if (len(w) <= 6 or w in KEEP) and w not in chars]
    pieces += chars + [f"##{c}" for c in chars if c.isalnum()]
    pieces += ["##ment", "##ing", "##ed", "##s"]
    vocab = {piece: index for index, piece in enumerate(dict.fromkeys(pieces))}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    return tokenizer


def build_model(vocab_size: int, seed: int = 7) -> Any:
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=2,
        # BERT's default 0.02 leaves a random model's p(false) at 0.501 for every input, so
        # attributions would be float noise; 0.4 gives p(false) between ~0.45 and ~0.75.
        initializer_range=0.4,
    )
    return BertForSequenceClassification(config).eval()


export_scoring_graph = bench_cards.export_scoring_graph


def build_tiny(folder: Path) -> TinyModel:
    """Build (or reuse, when ``folder`` already holds them) the tiny model's graphs."""
    from inference.ig_export import IG_GRAPH_FILENAME, export_ig_graph

    tokenizer = build_tokenizer()
    model = build_model(tokenizer.get_vocab_size())
    tokenizer.save(str(folder / "tokenizer.json"))
    # The legacy exporter leaves its model in training mode (dropout on): give it a copy.
    scoring = export_scoring_graph(copy.deepcopy(model), folder / "model.int8.onnx")
    ig = folder / IG_GRAPH_FILENAME
    if not ig.exists():
        export_ig_graph(model, folder / "partial.onnx", max_tokens=128)
        (folder / "partial.onnx").replace(ig)
    return TinyModel(model, tokenizer, folder, ig, scoring)


def _cache_key() -> str:
    """Exported graphs are reused across runs until the exporter, this file or torch change."""
    import torch

    import inference.ig_export

    digest = hashlib.sha256(torch.__version__.encode())
    for path in (Path(inference.ig_export.__file__), Path(__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def tiny_model(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> TinyModel:
    pytest.importorskip("torch")
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    if cache is None:
        return build_tiny(tmp_path_factory.mktemp("tiny-bert"))
    return build_tiny(Path(cache.mkdir(f"claimwatch-tiny-bert-{_cache_key()}")))
