"""The fake's world: paging, filters, field shaping, search, spec loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.xfake.spec import (
    SpecNotFound,
    SpecRequest,
    SpecResponse,
    dedupe_enums,
    load_openapi,
    spec_path,
)
from ops.xfake.spec import validation_errors as spec_errors
from ops.xfake.state import (
    World,
    decode_token,
    encode_token,
    matches_query,
    page,
    shape,
)


def world_with_posts(n: int) -> tuple[World, str]:
    world = World()
    uid = world.add_user("SenExample")["id"]
    for i in range(n):
        world.add_tweet(uid, f"post {i}")
    return world, uid


def test_pages_are_newest_first_and_tokens_walk_them_all() -> None:
    world, uid = world_with_posts(12)
    seen, token = [], None
    while True:
        chunk, meta = page(world.timeline(uid), max_results=5, token=token)
        seen += [t["text"] for t in chunk]
        assert meta["result_count"] == len(chunk)
        token = meta.get("next_token")
        if token is None:
            break
    assert seen == [f"post {i}" for i in reversed(range(12))]


def test_since_and_until_ids() -> None:
    world, uid = world_with_posts(5)
    ids = [t["id"] for t in world.timeline(uid)]  # newest first
    chunk, meta = page(
        world.timeline(uid), max_results=10, token=None, since_id=ids[3], until_id=ids[0]
    )
    assert [t["id"] for t in chunk] == ids[1:3]
    assert (meta["newest_id"], meta["oldest_id"]) == (ids[1], ids[2])


def test_token_round_trip_and_garbage() -> None:
    assert decode_token(encode_token("1800000000000000001")) == "1800000000000000001"
    assert decode_token("!!") is None


def test_shape_keeps_defaults_and_requested_fields_only() -> None:
    world, uid = world_with_posts(1)
    tweet = world.timeline(uid)[0]
    assert set(shape(tweet, set(), ("id", "text", "edit_history_tweet_ids"))) == {
        "id",
        "text",
        "edit_history_tweet_ids",
    }
    assert "created_at" in shape(tweet, {"created_at"}, ("id",))


def test_search_operators() -> None:
    world = World()
    a = world.add_user("alice")["id"]
    b = world.add_user("bob")["id"]
    root = world.add_tweet(a, "Taxes are up")
    world.add_tweet(b, "taxes are down", in_reply_to_tweet_id=root["id"])
    texts = lambda q: [t["text"] for t in world.timeline() if matches_query(t, q, world)]  # noqa: E731
    assert texts("taxes") == ["taxes are down", "Taxes are up"]
    assert texts("taxes -is:reply") == ["Taxes are up"]
    assert texts('from:BOB "are down"') == ["taxes are down"]


def test_dedupe_enums_keeps_order() -> None:
    doc = {"a": {"enum": ["x", "y", "x"]}, "b": [{"enum": [1, 1, 2]}]}
    assert dedupe_enums(doc) == {"a": {"enum": ["x", "y"]}, "b": [{"enum": [1, 2]}]}


def test_spec_path_prefers_the_env_override(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    copy = tmp_path / "x.json"
    copy.write_text("{}")
    monkeypatch.setenv("CLAIMWATCH_X_OPENAPI", str(copy))
    assert spec_path() == copy


def test_spec_validation_flags_a_bad_post_body() -> None:
    try:
        openapi = load_openapi()
    except SpecNotFound:
        pytest.skip("no shared spec next to the repository")
    good = SpecRequest("post", "/2/tweets", b'{"text": "hi"}', headers={"Authorization": "OAuth x"})
    bad = SpecRequest(
        "post",
        "/2/tweets",
        b'{"text": "hi", "media": {"media_ids": []}}',
        headers={"Authorization": "OAuth x"},
    )
    assert spec_errors(openapi, good) == []
    assert "media_ids" in " ".join(spec_errors(openapi, bad))
    no_id = SpecResponse(201, b'{"data": {"text": "hi"}}')
    assert "id" in " ".join(spec_errors(openapi, good, no_id))
