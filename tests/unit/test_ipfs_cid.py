"""CID spellings normalise to one form; local CIDs match what the daemon computes."""

from __future__ import annotations

import base64

import pytest

from publishers.ipfs_cid import normalize_cid, raw_cid

V0 = "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n"
V1 = "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def test_v0_becomes_v1_base32() -> None:
    assert normalize_cid(V0) == V1
    assert normalize_cid(f"/ipfs/{V0}") == V1


def test_v1_spellings_agree() -> None:
    raw = bytes.fromhex(
        "01701220" + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    base16 = "f" + raw.hex()
    b32 = normalize_cid(base16)
    assert b32.startswith("bafy")
    assert normalize_cid(b32.upper()) == b32
    assert normalize_cid(V1) == V1


def test_base58btc_v1() -> None:
    # js-ipfs files/stat answers base58btc ("z...") for CIDv1.
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    # Encode its bytes in base58btc by hand and check they decode back.
    body = V1[1:].upper()
    data = base64.b32decode(body + "=" * (-len(body) % 8))
    num = int.from_bytes(data, "big")
    text = ""
    while num:
        num, rem = divmod(num, 58)
        text = alphabet[rem] + text
    assert normalize_cid("z" + text) == V1


@pytest.mark.parametrize("bad", ["", "hello", "Qm123", "bafy!!", "k51qzi5uqu5d"])
def test_rejects_non_cids(bad: str) -> None:
    with pytest.raises(ValueError):
        normalize_cid(bad)


def test_raw_cid_matches_js_ipfs_add() -> None:
    # Value returned by js-ipfs 0.18.1 `add --cid-version=1` for these bytes.
    assert raw_cid(b'{"a":1}') == "bafkreiablk6x6xgfpiw5ss3vsdyevwaiijzzaxxdh3c45pvomitwvf7ymi"
    assert raw_cid(b"x" * 262_145) is None
