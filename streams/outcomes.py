"""What a stage did with one event: the stage outcome, one enum for every stage.

The values are the fields of the per-stage counter hashes (``keys.counters``) that health,
metrics and the demo's summary read, so they must not change. A ``StrEnum``: a member equals
its string, so counters and logs need no conversion.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    # normalize
    EMITTED = "emitted"
    DUPLICATE = "duplicate"
    RECOVERED = "recovered"  # an interrupted emit that had in fact landed
    # score
    SCORED = "scored"
    # decide
    PUBLISH = "publish"  # at least one channel will publish
    HOLD = "hold"  # no channel's rule is met
    # publish: the publish runner's status for the request
    DONE = "done"
    SKIPPED_ALREADY_DONE = "skipped_already_done"
    DEAD = "dead"
    RETRY_LATER = "retry_later"
    # any stage: the event went to the dead-letter topic
    DEADLETTERED = "deadlettered"
