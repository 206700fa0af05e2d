"""``claimwatch subscribe``: what a feed subscriber runs.

Resolves the feed's IPNS name and walks its pages back to the first (``--history``), and/or
follows the pubsub topic for new entries as they are announced (``--follow``); with neither
flag it does both, subscribing first so nothing announced during the walk is missed. Each
prediction is fetched by CID and printed (``--json`` for one JSON document per line);
``--save-cards DIR`` also saves each card PNG. Needs only a Kubo-compatible RPC endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from publishers.feed import FeedEntry, decode_announcement, walk
from publishers.ipfs_cid import normalize_cid
from publishers.ipfs_client import HttpIpfsClient, IpfsApi, IpfsError, Subscription
from publishers.prediction import decode_prediction


@dataclass(frozen=True)
class Received:
    entry: FeedEntry
    prediction: dict[str, Any]
    live: bool


async def resolve_feed(api: IpfsApi, name: str) -> str:
    """Head page CID from an IPNS name (or a CID given directly)."""
    try:
        return normalize_cid(name)
    except ValueError:
        return await api.name_resolve(name.removeprefix("/ipns/"))


async def history(
    api: IpfsApi, name: str, *, max_pages: int | None = None
) -> AsyncIterator[Received]:
    """Every prediction in the feed, newest first, walking ``previous`` links."""
    head = await resolve_feed(api, name)
    async for _cid, page in walk(head, api.cat, max_pages=max_pages):
        for entry in page.entries:
            yield Received(entry, decode_prediction(await api.cat(entry.cid)), live=False)


async def follow(api: IpfsApi, sub: Subscription) -> AsyncIterator[Received]:
    """Predictions announced on an open subscription; foreign or malformed messages skipped."""
    async for message in sub:
        try:
            entry, _head, _ipns = decode_announcement(message.data)
        except (ValueError, KeyError, TypeError):
            continue
        yield Received(entry, decode_prediction(await api.cat(entry.cid)), live=True)


def format_prediction(received: Received) -> str:
    """One readable line per prediction."""
    doc = received.prediction
    statement = doc.get("statement") or {}
    text = " ".join(str(statement.get("text", "")).split())
    if len(text) > 90:
        text = text[:89] + "…"
    bucket = doc.get("bucket") or {}
    ppv = bucket.get("ppv")
    ppv_text = f" ppv {ppv:.0%}" if isinstance(ppv, int | float) else ""
    tag = "live" if received.live else "feed"
    return (
        f'[{tag}] {statement.get("said_at", "?")} {statement.get("author", "?")}: "{text}" '
        f"-> {doc.get('label')} p_false={doc.get('p_false'):.3f} "
        f"bucket {bucket.get('index')}{ppv_text} cid {received.entry.cid}"
    )


async def save_card(api: IpfsApi, received: Received, directory: Path) -> Path | None:
    card_cid = received.prediction.get("card_cid")
    if not card_cid:
        return None
    data = await api.cat(card_cid)
    path = directory / f"{received.entry.statement_id}.png"

    def _write() -> None:
        directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    await asyncio.to_thread(_write)
    return path


async def run(api: IpfsApi, args: argparse.Namespace, out: TextIO) -> int:
    """The command over an open client; returns the exit status."""
    want_history = args.history or not args.follow
    want_follow = args.follow or not args.history
    seen: set[str] = set()
    shown = 0

    async def emit(received: Received) -> None:
        nonlocal shown
        seen.add(received.entry.statement_id)
        shown += 1
        if args.json:
            out.write(json.dumps(received.prediction, sort_keys=True) + "\n")
        else:
            out.write(format_prediction(received) + "\n")
        if args.save_cards:
            await save_card(api, received, args.save_cards)
        out.flush()

    async with AsyncExitStack() as stack:
        sub = None
        if want_follow:
            sub = await stack.enter_async_context(api.pubsub_sub(args.topic))
        if want_history:
            name = args.name or (await api.key_list()).get(args.key)
            if name is None:
                print(f"subscribe: no --name and no key {args.key!r} on this node", file=sys.stderr)
                return 2
            try:
                async for received in history(api, name, max_pages=args.max_pages):
                    await emit(received)
                    if args.limit and shown >= args.limit:
                        return 0
            except IpfsError as err:
                print(f"subscribe: feed not resolvable yet: {err}", file=sys.stderr)
                if sub is None:
                    return 1
        if sub is not None:
            live = 0
            async for received in follow(api, sub):
                if received.entry.statement_id in seen:
                    continue
                await emit(received)
                live += 1
                if args.count and live >= args.count:
                    break
    return 0


def parser() -> argparse.ArgumentParser:
    from config.settings import get_settings

    ipfs = get_settings().ipfs
    p = argparse.ArgumentParser(prog="claimwatch subscribe", description=__doc__)
    p.add_argument("--api-url", default=ipfs.api_url, help="Kubo RPC API (default: settings)")
    p.add_argument("--name", help="feed IPNS name or head CID (default: the node's key)")
    p.add_argument("--key", default=ipfs.ipns_key, help="local key naming the feed")
    p.add_argument("--topic", default=ipfs.pubsub_topic, help="pubsub topic of announcements")
    p.add_argument("--history", action="store_true", help="walk the feed history")
    p.add_argument("--follow", action="store_true", help="follow live announcements")
    p.add_argument("--limit", type=int, default=0, help="stop the history after N predictions")
    p.add_argument("--max-pages", type=int, default=None, help="walk at most N pages")
    p.add_argument("--count", type=int, default=0, help="stop after N live predictions")
    p.add_argument("--save-cards", type=Path, help="save card PNGs into this directory")
    p.add_argument("--json", action="store_true", help="print each prediction as JSON")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)

    async def _main() -> int:
        async with HttpIpfsClient(args.api_url) as api:
            return await run(api, args, sys.stdout)

    try:
        return asyncio.run(_main())
    except KeyboardInterrupt:
        return 0
    except IpfsError as err:
        print(f"subscribe: {err}", file=sys.stderr)
        return 1
