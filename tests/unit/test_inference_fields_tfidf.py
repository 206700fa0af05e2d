"""The per-field TF-IDF + LR ensemble member: numpy application vs scikit-learn's pipeline."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inference.fields_tfidf import (
    FIELDS,
    BlockSpec,
    FieldsTfidfLogReg,
    char_wb_ngrams,
    parse_fields,
    sklearn_vectorizer,
    word_ngrams,
)
from inference.liar import DEFAULT_LIAR_DIR
from inference.model_input import model_input_text
from inference.tfidf import TfidfLogReg, load_linear_member
from ops.baselines import CONFIGS, MEMBER_CONFIG, block_matrices, fit_fields_member

EDGE_TEXTS = [
    "",
    "   ",
    "a",
    "I",
    "x y z",
    "Hello,   world!!  (really?)",
    "U.S. $1,000,000 -- 42% of 9/11's e-mail",
    "Tabs\tand\nnewlines\r\nand\u00a0non-breaking\u2003spaces",
    "Café naïve résumé São Paulo ZÜRICH",
    "İstanbul ǅemal ß ﬁne",  # lower() changes the length of these
    "中文 日本語 한국어",
    "emoji 🙂🙂 and ☃ snow",
    "“curly quotes” — dash … ellipsis",
    "!!!",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
]


@pytest.mark.parametrize("ngram_range", [(1, 4), (2, 5), (3, 3), (1, 1), (5, 7)])
def test_char_wb_ngrams_match_sklearn(ngram_range: tuple[int, int]) -> None:
    spec = BlockSpec("text", "char_wb", ngram_range)
    analyze = sklearn_vectorizer(spec).build_analyzer()
    for text in EDGE_TEXTS:
        assert char_wb_ngrams(text, ngram_range) == analyze(text), text


@pytest.mark.parametrize("ngram_range", [(1, 2), (1, 1), (2, 3)])
def test_word_ngrams_match_sklearn(ngram_range: tuple[int, int]) -> None:
    analyze = sklearn_vectorizer(BlockSpec("text", "word", ngram_range)).build_analyzer()
    for text in EDGE_TEXTS:
        assert word_ngrams(text, ngram_range) == analyze(text), text


def _input(text: str, **fields: str | list[str] | None) -> str:
    """model_input_text with every field not given left empty."""
    names = ("author", "party", "role", "state", "venue", "kind", "subjects")
    args: dict[str, Any] = dict.fromkeys(names) | fields
    return model_input_text(**args, text=text)


def test_parse_fields_inverts_model_input_text() -> None:
    text = _input(
        "He said || this | and that.",
        author="barack-obama",
        party="Democrat",
        role="President",
        state="Illinois",
        venue="a speech | rally",
        subjects=["health-care", "taxes"],
        kind="tweet",
    )
    assert parse_fields(text) == {
        "kind": "tweet",
        "speaker": "barack obama",
        "party": "democrat",
        "role": "president",
        "state": "illinois",
        "venue": "a speech rally",
        "subjects": "health care, taxes",
        "text": "He said || this | and that.",
        "full": text,
    }
    empty = parse_fields(_input("hi", author="x"))
    assert empty == dict.fromkeys(FIELDS, "") | {
        "kind": "transcript",
        "speaker": "x",
        "text": "hi",
        "full": _input("hi", author="x"),
    }
    assert parse_fields("no prefix at all")["text"] == "no prefix at all"


# Small hand-made training set: every field varies, some values occur once (below min_df).
_TRAIN = [
    (
        _input(
            "Taxes went up a lot under the governor.",
            author="ann-lee",
            party="republican",
            role="Governor",
            state="Texas",
            venue="a debate",
            subjects=["taxes"],
        ),
        1,
    ),
    (
        _input(
            "Crime is down 20% since 2010.",
            author="bo-diaz",
            party="democrat",
            role="Mayor",
            state="Ohio",
            venue="a speech",
            subjects=["crime", "cities"],
        ),
        0,
    ),
    (
        _input(
            "Unemployment doubled, they say!",
            author="ann-lee",
            party="republican",
            role="Governor",
            state="Texas",
            venue="a tweet",
            subjects=["jobs"],
            kind="tweet",
        ),
        1,
    ),
    (
        _input(
            "We created 100,000 jobs.",
            author="bo-diaz",
            party="democrat",
            role="Mayor",
            state="Ohio",
            venue="a press release",
            subjects=["jobs", "economy"],
        ),
        0,
    ),
    (
        _input(
            "The deficit tripled.",
            author="cy-ng",
            party="independent",
            role="Senator",
            state="Texas",
            venue="an interview",
            subjects=["economy", "taxes"],
        ),
        1,
    ),
    (
        _input(
            "Schools got more money than ever.",
            author="cy-ng",
            party="independent",
            role="Senator",
            state="Maine",
            venue="a speech",
            subjects=["education"],
        ),
        0,
    ),
    (_input("Straße café naïve — “quotes”!", author="dee", party="none", venue="a debate"), 1),
    (
        _input(
            "Crime is up, jobs are down.",
            author="ann-lee",
            party="republican",
            role="Governor",
            state="Texas",
            venue="a debate",
            subjects=["crime", "jobs"],
        ),
        1,
    ),
] * 3

_PROBES = [
    # unseen speaker, party, state, venue and subject: those blocks are all-zero rows
    _input(
        "Taxes went DOWN, crime too.",
        author="zed-unknown",
        party="green",
        role="Clerk",
        state="Alaska",
        venue="a podcast",
        subjects=["weather"],
    ),
    _input("", author="ann-lee"),  # empty statement: only prefix blocks fire
    _input("!!! ... ???", party="republican"),  # punctuation only
    _input("İstanbul ǅemal ß ﬁne 中文 🙂", author="bo-diaz", kind="tweet"),
    _input("Crime\tis\n down   20%", author="bo-diaz", party="democrat", subjects=["crime"]),
    "no prefix at all: taxes went up",  # a bare text (every prefix block empty)
    "",  # no prefix, no text: every block is empty, the intercept alone
    *(t for t, _ in _TRAIN[:8]),
]


def _fit(specs: tuple[BlockSpec, ...], c: float) -> tuple[FieldsTfidfLogReg, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    texts, labels = [t for t, _ in _TRAIN], [y for _, y in _TRAIN]
    vecs, x, x_probe = block_matrices(specs, texts, _PROBES)
    clf = LogisticRegression(C=c, max_iter=3000).fit(x, labels)
    model = FieldsTfidfLogReg.from_sklearn(specs, vecs, clf)
    return model, clf.predict_proba(x_probe)[:, 1]


def test_numpy_member_reproduces_sklearn_predict_proba() -> None:
    # min_df 1 (a tiny training set) plus a max_features-capped block over the whole text
    specs = (
        *(replace(s, min_df=1) for s in CONFIGS[MEMBER_CONFIG]),
        BlockSpec("full", "word", (1, 2), min_df=2, sublinear_tf=True, max_features=40),
    )
    model, expected = _fit(specs, c=5.0)
    loaded = FieldsTfidfLogReg.from_json(json.loads(json.dumps(model.to_json())))
    for m in (model, loaded):
        got = m.predict_proba(_PROBES)
        assert np.max(np.abs(got - expected)) < 1e-9
    assert len(set(np.round(expected, 6))) > 5  # the probes are not all scored alike
    # repeated texts hit the word cache: same answer
    assert np.array_equal(loaded.predict_proba(_PROBES), loaded.predict_proba(_PROBES))


def test_probe_edge_cases_touch_what_they_claim() -> None:
    model, _ = _fit(CONFIGS[MEMBER_CONFIG], c=1.0)
    unknown = parse_fields(_PROBES[0])
    for block, vocab in zip(model.specs, model.vocabularies, strict=True):
        if block.field in ("speaker", "party", "state", "venue", "subjects"):
            assert not any(t in vocab for t in block_tokens(block, unknown[block.field]))
    nothing = model.decision([_PROBES[6]])[0]
    assert nothing == pytest.approx(model.intercept, abs=1e-12)


def block_tokens(spec: BlockSpec, value: str) -> list[str]:
    from inference.fields_tfidf import analyzer_for

    return analyzer_for(spec)(value)


@pytest.mark.skipif(not (DEFAULT_LIAR_DIR / "train.tsv").exists(), reason="no LIAR data")
def test_member_on_liar_slice_matches_sklearn_and_loads_by_kind(tmp_path: Path) -> None:
    from inference.liar import load_split

    train = load_split("train")[:800]
    other = [r.model_text() for r in load_split("valid")[:300]] + _PROBES
    model = fit_fields_member(
        [r.model_text() for r in train], [r.label for r in train], c=0.2, check_texts=other
    )
    assert model.meta["parity_max_abs_diff"] < 1e-9 and model.meta["parity_n"] == len(other)
    path = tmp_path / "member.json"
    path.write_text(json.dumps(model.to_json()))
    loaded = load_linear_member(path)
    assert isinstance(loaded, FieldsTfidfLogReg)
    assert np.max(np.abs(loaded.predict_proba(other) - model.predict_proba(other))) == 0.0


def test_load_linear_member_dispatches_on_kind(tmp_path: Path) -> None:
    old = TfidfLogReg({"taxes": 0}, np.array([1.0]), np.array([2.0]), -0.5)
    (tmp_path / "old.json").write_text(json.dumps(old.to_json()))
    assert isinstance(load_linear_member(tmp_path / "old.json"), TfidfLogReg)
    (tmp_path / "bad.json").write_text(json.dumps({"kind": "mystery"}))
    with pytest.raises(ValueError, match="unknown ensemble member kind"):
        load_linear_member(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="fields-tfidf-logreg"):
        FieldsTfidfLogReg.from_json({**old.to_json()})


def test_block_sizes_must_match_coefficients() -> None:
    spec = BlockSpec("party", "whole")
    with pytest.raises(ValueError, match="block sizes"):
        FieldsTfidfLogReg([spec], [["democrat", "republican"]], [np.ones(2)], np.ones(3), 0.0)
    with pytest.raises(ValueError, match="unknown analyzer"):
        BlockSpec("party", "bytes")


def test_cross_validation_table_names_the_best_cell() -> None:
    from ops.baselines import cross_validate, cv_table

    texts, labels = [t for t, _ in _TRAIN], [y for _, y in _TRAIN]
    results = cross_validate(texts, labels, ["metadata", "fields"], [0.5, 5.0], repeats=1)
    assert set(results) == {(n, c) for n in ("metadata", "fields") for c in (0.5, 5.0)}
    assert all(0.0 <= mean <= 1.0 and se >= 0.0 for mean, se in results.values())
    best = max(results, key=lambda k: results[k][0])
    table = cv_table(results, repeats=1)
    assert f"Best: {best[0]} C={best[1]:g}" in table
    assert table.splitlines()[0] == "| config | C=0.5 | C=5 |"


def test_block_weights_fold_into_coefficients(monkeypatch: pytest.MonkeyPatch) -> None:
    weights = (2.0, 0.5, 1.5, 1.0, 0.5, 2.0, 1.0, 0.5, 1.5)
    specs = tuple(
        replace(s, min_df=1, weight=w) for s, w in zip(CONFIGS[MEMBER_CONFIG], weights, strict=True)
    )
    monkeypatch.setitem(CONFIGS, "weighted", specs)
    texts, labels = [t for t, _ in _TRAIN], [y for _, y in _TRAIN]
    model = fit_fields_member(texts, labels, config="weighted", c=5.0, check_texts=_PROBES)
    assert model.meta["parity_max_abs_diff"] < 1e-12
    assert model.meta["block_weights"] == list(weights)
    assert all(s.weight == 1.0 for s in model.specs)  # folded: serving never scales
    data = model.to_json()
    assert all("weight" not in block for block in data["blocks"])
    loaded = FieldsTfidfLogReg.from_json(json.loads(json.dumps(data)))
    assert np.array_equal(loaded.predict_proba(_PROBES), model.predict_proba(_PROBES))
    unweighted, _ = _fit(tuple(replace(s, weight=1.0) for s in specs), c=5.0)
    assert np.max(np.abs(unweighted.predict_proba(_PROBES) - model.predict_proba(_PROBES))) > 1e-3
    with pytest.raises(ValueError, match="block weights"):
        FieldsTfidfLogReg(specs[:1], [["x"]], [np.ones(1)], np.ones(1), 0.0)
