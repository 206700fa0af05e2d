"""CID normalisation and local CID computation, pure Python.

Daemons spell the same content differently: js-ipfs ``files/stat`` answers base58 whatever
``cid-base`` asks, MFS may hand out CIDv0 (``Qm...``). ClaimWatch stores, compares and publishes
one spelling only: CIDv1 in lowercase base32 (``b...``), the form ``add --cid-version=1`` returns.
"""

from __future__ import annotations

import base64
import hashlib

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
DAG_PB = 0x70
RAW = 0x55
SHA2_256 = 0x12
# Files up to one default chunk (256 KiB) become a single raw block when added as CIDv1.
SINGLE_BLOCK_MAX = 262_144


def _b58decode(text: str) -> bytes:
    num = 0
    for char in text:
        try:
            num = num * 58 + _B58_INDEX[char]
        except KeyError:
            raise ValueError(f"not base58: {text!r}") from None
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\x00" * pad + body


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _b32(data: bytes) -> str:
    return "b" + base64.b32encode(data).decode("ascii").lower().rstrip("=")


def normalize_cid(cid: str) -> str:
    """Any CID spelling (v0, v1 base58btc/base32/base16) -> CIDv1 lowercase base32.

    A ``/ipfs/`` prefix is stripped. Raises ValueError for something that is not a CID.
    """
    text = cid.strip().removeprefix("/ipfs/").split("/", 1)[0]
    if len(text) == 46 and text.startswith("Qm"):
        multihash = _b58decode(text)
        if multihash[:2] != bytes([SHA2_256, 32]) or len(multihash) != 34:
            raise ValueError(f"not a CIDv0: {cid!r}")
        return _b32(_varint(1) + _varint(DAG_PB) + multihash)
    if text.startswith("z"):
        raw = _b58decode(text[1:])
    elif text.startswith(("b", "B")):
        body = text[1:].upper()
        try:
            raw = base64.b32decode(body + "=" * (-len(body) % 8))
        except ValueError:
            raise ValueError(f"not base32: {cid!r}") from None
    elif text.startswith(("f", "F")):
        try:
            raw = bytes.fromhex(text[1:])
        except ValueError:
            raise ValueError(f"not base16: {cid!r}") from None
    else:
        raise ValueError(f"unsupported CID encoding: {cid!r}")
    if not raw or raw[0] != 1:
        raise ValueError(f"not a CIDv1: {cid!r}")
    return _b32(raw)


def raw_cid(data: bytes) -> str | None:
    """The CIDv1 ``add --cid-version=1`` gives ``data``, computed offline (dry runs, checks).

    Only defined for single-block files (raw leaf, sha2-256); None for larger ones.
    """
    if len(data) > SINGLE_BLOCK_MAX:
        return None
    digest = hashlib.sha256(data).digest()
    return _b32(_varint(1) + _varint(RAW) + bytes([SHA2_256, 32]) + digest)
