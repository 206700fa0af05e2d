"""The publish ledger in Redis: one hash per (channel, statement) at ``keys.ledger``.

Every change is read-decide-write under WATCH/MULTI, with the decision made by the pure
functions in ``publishers.ledger``; a concurrent change makes the transaction retry (and the
pure function re-decide), so two workers can never both hold a lease.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import WatchError

from publishers.ledger import LedgerEntry, State
from streams import keys

_FIELD_TYPES = {f.name: f.type for f in fields(LedgerEntry)}


class LedgerStore(Protocol):
    async def get(self, channel: str, statement_id: str) -> LedgerEntry | None: ...

    async def transition(
        self,
        channel: str,
        statement_id: str,
        change: Callable[[LedgerEntry | None], LedgerEntry],
    ) -> LedgerEntry: ...

    async def create_many(self, entries: Sequence[LedgerEntry]) -> list[bool]: ...


# Creates each entry only where its key does not exist, all in one round trip and atomically
# (a script runs alone). KEYS: the entries' keys; ARGV: per key its field count, then the
# fields and values. Returns 1 per key created, 0 per key that was there already.
_CREATE_MANY = """
local out = {}
local at = 1
for i, key in ipairs(KEYS) do
  local n = tonumber(ARGV[at])
  if redis.call('EXISTS', key) == 0 then
    redis.call('HSET', key, unpack(ARGV, at + 1, at + 2 * n))
    out[i] = 1
  else
    out[i] = 0
  end
  at = at + 1 + 2 * n
end
return out
"""


def to_mapping(entry: LedgerEntry) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in _FIELD_TYPES:
        value = getattr(entry, name)
        if value is not None:
            out[name] = value.value if isinstance(value, State) else str(value)
    return out


def from_mapping(raw: dict[Any, Any]) -> LedgerEntry:
    data = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }
    kwargs: dict[str, Any] = {}
    for name, kind in _FIELD_TYPES.items():
        if name not in data:
            continue
        value = data[name]
        if name == "state":
            kwargs[name] = State(value)
        elif kind in ("int", int):
            kwargs[name] = int(value)
        elif kind in ("float", float):
            kwargs[name] = float(value)
        else:
            kwargs[name] = value
    return LedgerEntry(**kwargs)


class RedisLedgerStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self, channel: str, statement_id: str) -> LedgerEntry | None:
        raw = await self._redis.hgetall(keys.ledger(channel, statement_id))  # type: ignore[misc]
        return from_mapping(raw) if raw else None

    async def transition(
        self,
        channel: str,
        statement_id: str,
        change: Callable[[LedgerEntry | None], LedgerEntry],
    ) -> LedgerEntry:
        """Apply ``change`` atomically; exceptions it raises (``Conflict``) pass through."""
        key = keys.ledger(channel, statement_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.hgetall(key)  # type: ignore[misc]
                    new = change(from_mapping(raw) if raw else None)
                    pipe.multi()
                    pipe.delete(key)
                    pipe.hset(key, mapping=to_mapping(new))
                    await pipe.execute()
                    return new
                except WatchError:
                    continue

    async def create_many(self, entries: Sequence[LedgerEntry]) -> list[bool]:
        """Record new entries (a batch of dry runs, done at once) in one round trip; an entry
        whose key exists is left as it is and reported False, for the caller's full path."""
        if not entries:
            return []
        keys_: list[str] = []
        argv: list[str] = []
        for entry in entries:
            keys_.append(keys.ledger(entry.channel, entry.statement_id))
            mapping = to_mapping(entry)
            argv.append(str(len(mapping)))
            for name, value in mapping.items():
                argv += [name, value]
        created = await self._redis.eval(_CREATE_MANY, len(keys_), *keys_, *argv)  # type: ignore[misc]
        return [bool(c) for c in created]
