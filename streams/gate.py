"""The posting gate: does one scored statement meet one channel's rule? Pure, no I/O.

It reads only the prediction and its calibrated bucket, so the same function decides live
statements, replays and the calibration set that ``thresholds suggest`` evaluates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from streams.rules import ChannelRule


class Gateable(Protocol):
    """What the gate needs from a scored statement (ScoredStatement has all of it)."""

    @property
    def prediction(self) -> int: ...

    @property
    def confidence(self) -> float: ...

    @property
    def bucket_ppv(self) -> float | None: ...

    @property
    def bucket_npv(self) -> float | None: ...


@dataclass(frozen=True)
class GateResult:
    """The decision and, when refused, the first condition that failed (for logs and ops)."""

    publish: bool
    reason: str


PASSED = GateResult(True, "meets rule")


def gate(rule: ChannelRule, item: Gateable) -> GateResult:
    """Publish only when the rule is enabled and every condition it sets holds (>= is a pass)."""
    if not rule.enabled:
        return GateResult(False, "disabled")
    if rule.predicted_false_only and item.prediction != 1:
        return GateResult(False, "not predicted false")
    if rule.min_confidence is not None and item.confidence < rule.min_confidence:
        return GateResult(False, f"confidence {item.confidence:.3f} < {rule.min_confidence:g}")
    if rule.min_bucket_ppv is not None:
        # The calibrated precision of the prediction actually being made.
        precision = item.bucket_ppv if item.prediction == 1 else item.bucket_npv
        name = "bucket PPV" if item.prediction == 1 else "bucket NPV"
        if precision is None:  # the bucket never made this prediction in calibration
            return GateResult(False, f"{name} unknown")
        if precision < rule.min_bucket_ppv:
            return GateResult(False, f"{name} {precision:.3f} < {rule.min_bucket_ppv:g}")
    return PASSED
