"""The published prediction document: fields, schema version, canonical bytes."""

from __future__ import annotations

import json

import pytest

from publishers.prediction import (
    PREDICTION_SCHEMA_VERSION,
    CalibrationSummary,
    build_prediction,
    decode_prediction,
    encode_prediction,
    statement_id_of,
    with_card_cid,
)
from tests.fixtures_ipfs import make_scored


def test_document_carries_the_record_fields() -> None:
    scored = make_scored(1, p_false=0.8)
    doc = build_prediction(
        scored,
        card_cid="bafkcard",
        calibration=CalibrationSummary(accuracy=0.7, auc=0.75, mcc=0.4, bucket_ppr=0.2),
        attributions=[("tripled", 0.5), ("year", -0.1)],
    )
    assert doc["schema_version"] == PREDICTION_SCHEMA_VERSION
    assert doc["statement"]["id"] == scored.statement.id
    assert doc["statement"]["text"] == scored.statement.text
    assert (doc["p_false"], doc["prediction"], doc["confidence"]) == (0.8, 1, 0.8)
    assert doc["bucket"]["ppv"] == 0.9 and doc["bucket"]["positive_prediction_ratio"] == 0.2
    assert doc["global_metrics"] == {"accuracy": 0.7, "auc": 0.75, "mcc": 0.4}
    assert doc["model"] == {"version": "test-1", "sha256": "ab" * 32}
    assert doc["attributions"][0] == {"token": "tripled", "score": 0.5}
    assert doc["card_cid"] == "bafkcard"
    # Gold labels from replays are never published.
    assert "label" not in doc["statement"]
    json.dumps(doc)  # plain JSON, no Faust records inside


def test_encoding_is_canonical() -> None:
    a = build_prediction(make_scored(2))
    b = json.loads(json.dumps(a))
    assert encode_prediction(a) == encode_prediction(dict(reversed(list(b.items()))))
    assert decode_prediction(encode_prediction(a)) == a
    assert encode_prediction(with_card_cid(a, "x")) != encode_prediction(a)
    assert with_card_cid(a, "x")["card_cid"] == "x" and a["card_cid"] is None


def test_statement_id_and_refusals() -> None:
    doc = build_prediction(make_scored(3))
    assert statement_id_of(doc) == make_scored(3).statement.id
    with pytest.raises(ValueError):
        statement_id_of({"statement": {}})
    with pytest.raises(ValueError):
        decode_prediction(b'{"kind":"x"}')
    with pytest.raises(ValueError):
        decode_prediction(encode_prediction({**doc, "schema_version": 99}))
