"""ClaimWatch's one exception tree: every error the project raises derives from ``ClaimWatchError``.

One question is asked of any failure: try again later or not? The answer is one attribute,
``retryable`` (a class default, overridable per instance), with ``retry_after_s`` where the
failure knows how long to wait (a rate-limit reset). Retry loops (``config.retry``) and the
publish runner read only these two attributes; nothing inspects a status code or a class
list to decide.

Each class also keeps the builtin it derived from before the tree existed (``ValueError``,
``RuntimeError``, ``FileNotFoundError``), so ``except ValueError`` around a parser still works.

The tree (``tests/unit/test_errors.py`` checks it lists every exception class in the package):

    ClaimWatchError
    + SettingsError            config: a settings file or value is invalid
    + SourceError              bot: one source run failed as a whole (``reason`` names the metric)
    + FetchError               bot: a bounded GET gave no usable document (``reason``)
    + FeedError                bot: an RSS/Atom document cannot be parsed
    + TranscriptError          bot: a transcript document cannot be parsed
    + TweetParseError          bot: an X post lacks what a statement needs
    + XApiError                bot.x_client: an X API call failed (``reason``, ``status``)
    | + RateLimited            the X rate-limit reset is further away than we wait in one go
    + RuleConflictError        streams: the rules changed since the version a writer read
    + ParityError              inference: the exported graph disagrees with the reference
    + AttributionError         inference: token attributions cannot be computed
    + CardError                cards: a card's data is incomplete
    + PublishError             publishers: one publish attempt failed (the runner's input)
    + Conflict                 publishers.ledger: a ledger transition lost its lease (retryable)
    + TemplateError            publishers: the post template is invalid
    + IpfsError                publishers: the IPFS node answered with an error (``status``)
    | + IpfsUnavailable        the node could not be reached or timed out (retryable)
    + ServiceError             ops: a local dev service did not start
    + IpfsNodeError            ops: the local IPFS node runner failed
    + SpecNotFound             ops: the X OpenAPI spec file is missing
"""

from __future__ import annotations


class ClaimWatchError(Exception):
    """Base of every ClaimWatch error.

    ``retryable``: the same operation may succeed later (network, 5xx, rate limit, a lost
    lease); False means retrying cannot help (bad input, bad credentials, a refused request).
    ``retry_after_s``: the wait the failure itself asks for, or None (the policy decides).
    """

    retryable: bool = False

    def __init__(
        self,
        message: str = "",
        *,
        retryable: bool | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable
        self.retry_after_s = retry_after_s


def is_retryable(exc: BaseException) -> bool:
    """True for a ClaimWatchError that says so; any other exception is not ours to judge."""
    return isinstance(exc, ClaimWatchError) and exc.retryable


def retry_after_of(exc: BaseException) -> float | None:
    """The wait an error asks for, or None."""
    return exc.retry_after_s if isinstance(exc, ClaimWatchError) else None
