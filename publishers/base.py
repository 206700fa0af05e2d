"""The publisher interface every channel implements, so the ledger runner treats them alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from config.errors import ClaimWatchError


@dataclass(frozen=True)
class CardImage:
    """A rendered interpretation card."""

    png: bytes
    alt_text: str


@dataclass(frozen=True)
class PublishOutcome:
    """What a channel returns once a prediction is out: the id that proves it."""

    external_id: str  # X post id, or the prediction JSON's CID on IPFS
    cid: str | None = None  # content id of the card/prediction where the channel has one
    url: str | None = None


class PublishError(ClaimWatchError):
    """A publish failed. ``retryable`` tells the runner whether to try again later."""

    def __init__(self, message: str, *, retryable: bool, retry_after_s: float | None = None):
        super().__init__(message, retryable=retryable, retry_after_s=retry_after_s)


class Publisher(Protocol):
    """One output channel (``x``, ``ipfs``)."""

    channel: str

    async def publish(self, prediction: dict[str, Any], card: CardImage | None) -> PublishOutcome:
        """Publish once. Raise PublishError on failure."""
        ...

    async def find_existing(self, prediction: dict[str, Any]) -> PublishOutcome | None:
        """Reconcile after a crash: return the earlier publish of this prediction, if any."""
        ...
