"""A real js-ipfs node for tests: one per session (it takes seconds to start), free ports.

Import the fixtures into a test module (``from tests.fixtures_ipfs import ipfs_node, ...``).
Each test gets its own MFS root, IPNS key and pubsub topic (``ipfs_settings``), so tests share
the node without seeing each other's feeds. Install js-ipfs beforehand with
``claimwatch ipfs-node --install-only`` (a cold ``npm install`` takes about 2 minutes).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from config.settings import IpfsSettings
from ops.ipfs_node import NODE_DIR, IpfsNode, ensure_installed
from publishers.base import CardImage
from publishers.ipfs_client import HttpIpfsClient
from publishers.prediction import build_prediction
from streams.records import ScoredStatement, Statement, statement_id


@pytest.fixture(scope="session")
def ipfs_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IpfsNode]:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js/npm not installed: the js-ipfs test node cannot run")
    ensure_installed(NODE_DIR)
    base = tmp_path_factory.mktemp("ipfs")
    node = IpfsNode(repo=base / "repo", log_file=base / "daemon.log")
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def ipfs_settings(ipfs_node: IpfsNode) -> IpfsSettings:
    """Settings pointing at the test node, with a feed, key and topic private to this test."""
    tag = uuid.uuid4().hex[:10]
    return IpfsSettings(
        api_url=ipfs_node.api_url,
        ipns_key=f"test-{tag}",
        pubsub_topic=f"claimwatch.test.{tag}",
        mfs_root=f"/test-{tag}",
        feed_page_size=3,
        timeout_s=10.0,
        connect_timeout_s=1.0,
    )


@pytest.fixture
async def ipfs_api(ipfs_settings: IpfsSettings) -> AsyncIterator[HttpIpfsClient]:
    client = HttpIpfsClient(
        ipfs_settings.api_url,
        timeout_s=ipfs_settings.timeout_s,
        connect_timeout_s=ipfs_settings.connect_timeout_s,
    )
    try:
        yield client
    finally:
        await client.aclose()


def make_scored(n: int, *, p_false: float = 0.91) -> ScoredStatement:
    """A scored statement with a stable id per ``n``."""
    statement = Statement(
        id=statement_id("x", f"tweet-{n}"),
        source="x",
        kind="tweet",
        author="Sen. Example",
        text=f"Statement number {n}: unemployment tripled last year.",
        said_at="2024-05-01T12:00:00+00:00",
        ingested_at="2024-05-01T12:00:05+00:00",
        external_id=f"tweet-{n}",
        url=f"https://x.com/example/status/{n}",
        party="independent",
        label=1,
    )
    return ScoredStatement(
        statement=statement,
        p_false=p_false,
        prediction=int(p_false >= 0.5),
        confidence=max(p_false, 1 - p_false),
        bucket=9,
        bucket_ceiling=1.0,
        bucket_accuracy=0.88,
        bucket_ppv=0.9,
        bucket_npv=0.7,
        model_version="test-1",
        model_sha256="ab" * 32,
        scored_at="2024-05-01T12:00:06+00:00",
    )


def make_prediction(n: int) -> dict[str, Any]:
    return build_prediction(make_scored(n))


def card_png(n: int) -> CardImage:
    """Not a rendered card, but PNG-signed bytes unique per ``n``: content is what matters."""
    return CardImage(png=b"\x89PNG\r\n\x1a\n" + f"card {n}".encode() * 50, alt_text=f"card {n}")
