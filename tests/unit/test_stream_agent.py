"""The Faust ``normalize`` agent itself, run with ``agent.test_context()`` (no broker)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from streams.agents import normalize
from streams.runtime import Runtime, set_runtime
from tests.unit.test_stream_normalize import Collect, MemorySeen, make


class Count:
    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    async def count_many(self, stage: str, outcomes: Mapping[str, int]) -> None:
        for outcome, n in outcomes.items():
            self.seen[outcome] = self.seen.get(outcome, 0) + n


def payload(external_id: str, text: str = "Crime is at a record high.") -> bytes:
    return json.dumps(
        {
            "source": "replay",
            "kind": "transcript",
            "external_id": external_id,
            "author": "b",
            "text": text,
            "said_at": "2024-02-02T00:00:00+00:00",
        }
    ).encode()


async def test_agent_validates_dedups_and_counts() -> None:
    collect, counters = Collect(), Count()
    set_runtime(Runtime(normalizer=make(collect, MemorySeen()), counters=counters))
    try:
        async with normalize.test_context() as agent:
            for value in (
                payload("1"),
                payload("2"),
                payload("1"),
                b"\x00garbage",
                payload("3", ""),
            ):
                await agent.put(value=value, key=b"k")
    finally:
        set_runtime(None)
    assert [s.external_id for s in collect.statements] == ["1", "2"]
    assert sorted(d.reason.split(":")[0] for d in collect.dead) == ["empty_text", "malformed_json"]
    assert counters.seen == {"emitted": 2, "duplicate": 1, "deadlettered": 2}
