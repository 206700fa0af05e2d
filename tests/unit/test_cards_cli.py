"""``claimwatch card`` end to end on a tiny artifact folder (IG graph, then LOO fallback)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from cards.build import bucket_from_row, card_data, global_from_summary, short_id
from cards.data import CardError
from ops import card as card_cli
from tests.fixtures_attributions import TinyModel, tiny_model

__all__ = ["tiny_model"]

BUCKETS = {
    "tables": {
        "all": [
            {
                "index": 0,
                "floor": 0.5,
                "ceiling": 0.6,
                "n": 50,
                "accuracy": 0.55,
                "ppv": 0.56,
                "npv": 0.52,
            },
            {
                "index": 1,
                "floor": 0.6,
                "ceiling": 1.0,
                "n": 50,
                "accuracy": 0.7,
                "ppv": 0.77,
                "npv": None,
            },
        ]
    },
    "global": {"n": 100, "accuracy": 0.62, "auc": 0.66, "mcc": 0.24},
}


def _artifact(tiny: TinyModel, folder: Path, with_ig: bool) -> Path:
    folder.mkdir()
    shutil.copy(tiny.scoring_path, folder / "model.int8.onnx")
    tiny.tokenizer.save(str(folder / "tokenizer.json"))
    if with_ig:
        shutil.copy(tiny.ig_path, folder / tiny.ig_path.name)
    (folder / "buckets.json").write_text(json.dumps(BUCKETS))
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "model_version": "tiny-test-1",
                "input_format_version": 1,
                "model_file": "model.int8.onnx",
                "tokenizer_file": "tokenizer.json",
                "buckets_file": "buckets.json",
                "max_length": 64,
            }
        )
    )
    return folder


@pytest.mark.parametrize(
    ("with_ig", "choice", "method"),
    [
        (True, "auto", "integrated gradients (8 steps)"),
        (False, "auto", "leave-one-out (word masked)"),
        (True, "loo", "leave-one-out (word masked)"),
        (True, "none", None),
    ],
)
def test_card_command_writes_png_and_alt_text(
    tiny_model: TinyModel,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    with_ig: bool,
    choice: str,
    method: str | None,
) -> None:
    model_dir = _artifact(tiny_model, tmp_path / "artifact", with_ig)
    out = tmp_path / "card.png"
    code = card_cli.main(
        [
            "--text",
            "Wind turbines kill more birds than cats do.",
            "--author",
            "Jane Doe",
            "--party",
            "democrat",
            "--said-at",
            "2026-11-20T14:03:00",
            "--url",
            "https://example.com/x",
            "--out",
            str(out),
            "--model-dir",
            str(model_dir),
            "--steps",
            "8",
            "--attribution",
            choice,
        ]
    )
    assert code == 0
    assert Image.open(io.BytesIO(out.read_bytes())).size == (1600, 900)
    alt = out.with_suffix(".txt").read_text()
    assert "Jane Doe" in alt and "tiny-test-1" in alt
    if method is None:
        assert "Word shading" not in alt and "Words pushing" not in alt
    else:
        assert f"Word shading by {method}." in alt
    assert "wrote" in capsys.readouterr().out


def test_card_command_without_artifact_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert card_cli.main(["--text", "x y z", "--model-dir", str(tmp_path)]) == 2
    assert "no model artifact" in capsys.readouterr().err


def test_build_helpers_convert_bucket_rows_and_reject_bad_ones() -> None:
    row = BUCKETS["tables"]["all"][1]  # type: ignore[index]
    bucket = bucket_from_row(row)
    assert (bucket.floor, bucket.ceiling, bucket.ppv, bucket.npv, bucket.n) == (
        0.6,
        1.0,
        0.77,
        None,
        50,
    )
    assert global_from_summary(BUCKETS["global"]).mcc == 0.24  # type: ignore[arg-type]
    with pytest.raises(CardError, match="bad bucket row"):
        bucket_from_row({"floor": 0.5})
    assert short_id("a", "b") == short_id("a", "b") != short_id("a", "c")
    assert len(short_id("a")) == 8
    from datetime import UTC, datetime

    plain = card_data(
        statement="no shading here",
        p_false=0.4,
        bucket_row=row,
        global_summary=BUCKETS["global"],
        speaker="S",
        said_at=datetime(2026, 1, 1, tzinfo=UTC),
        source_url=None,
        model_version="v",
        statement_id="id",
    )
    assert plain.words == () and not plain.predicted_false and plain.attribution_method is None
