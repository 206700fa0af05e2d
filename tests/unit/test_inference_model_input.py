"""The shared training/serving input format, the LIAR reader, and the numpy TF-IDF model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.liar import binary_label, read_liar
from inference.model_input import kind_from_context, model_input_text, statement_input_text
from inference.tfidf import TfidfLogReg
from streams.records import Statement

ROW = (
    "2635.json\tfalse\tSays the Annies List group supports abortions on demand.\tabortion,taxes"
    "\tdwayne-bohac\tState representative\tTexas\trepublican\t{counts}\ta mailer\n"
)


def test_prefix_format() -> None:
    text = model_input_text(
        author="dwayne-bohac",
        party="Republican",
        role="State representative",
        state="Texas",
        venue="a  tweet",
        subjects=["health-care", "taxes"],
        kind="tweet",
        text="  Taxes   doubled. ",
    )
    assert text == (
        "tweet | dwayne bohac | republican | state representative | texas | a tweet"
        " | health care, taxes || Taxes doubled."
    )


def test_missing_fields_keep_their_slots() -> None:
    text = model_input_text(
        author="x",
        party=None,
        role=None,
        state=None,
        venue=None,
        subjects=None,
        kind=None,
        text="hi",
    )
    assert text == "transcript | x |  |  |  |  |  || hi"


@pytest.mark.parametrize(
    ("context", "kind"),
    [("a tweet", "tweet"), ("Tweets", "tweet"), ("a speech", "transcript"), ("", "transcript")],
)
def test_kind_from_context(context: str, kind: str) -> None:
    assert kind_from_context(context) == kind


def test_liar_reader_ignores_credit_history(tmp_path: Path) -> None:
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    a.write_text(ROW.format(counts="0\t1\t0\t0\t0"))
    b.write_text(ROW.format(counts="9\t9\t9\t9\t9"))
    (ra,), (rb,) = read_liar(a), read_liar(b)
    assert ra == rb  # the count columns do not reach the row at all
    assert ra.label == 1 and ra.kind == "transcript" and ra.subjects == ["abortion", "taxes"]
    assert "9" not in ra.model_text()


def test_liar_row_and_live_statement_give_the_same_input(tmp_path: Path) -> None:
    path = tmp_path / "r.tsv"
    path.write_text(ROW.format(counts="0\t1\t0\t0\t0"))
    row = read_liar(path)[0]
    st = Statement(
        id="1",
        source="replay",
        kind=row.kind,
        author=row.author,
        text=row.text,
        said_at="2020-01-01T00:00:00+00:00",
        ingested_at="2020-01-01T00:00:00+00:00",
        external_id="1",
        party=row.party,
        role=row.role,
        state=row.state,
        venue=row.venue,
        subjects=row.subjects,
    )
    assert statement_input_text(st) == row.model_text()


def test_binary_label_mapping() -> None:
    assert [binary_label(x) for x in ("pants-fire", "false", "barely-true")] == [1, 1, 1]
    assert [binary_label(x) for x in ("half-true", "mostly-true", "true")] == [0, 0, 0]
    with pytest.raises(ValueError):
        binary_label("unknown")


def test_numpy_tfidf_matches_sklearn() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts = [
        "taxes went up a lot",
        "crime is down",
        "taxes are down",
        "jobs up, crime up",
        "the deficit doubled",
        "jobs jobs jobs",
        "unknown words only",
    ] * 3
    labels = [1, 0, 0, 1, 1, 0, 1] * 3
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    clf = LogisticRegression().fit(vec.fit_transform(texts), labels)
    model = TfidfLogReg.from_json(TfidfLogReg.from_sklearn(vec, clf).to_json())
    probe = ["Taxes went DOWN", "nothing known here zz", "jobs jobs up"]
    expected = clf.predict_proba(vec.transform(probe))[:, 1]
    assert np.allclose(model.predict_proba(probe), expected, atol=1e-5)
