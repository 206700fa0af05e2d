"""The one exception tree: every exception class in the package derives from ClaimWatchError,
the tree in config/errors.py lists them all, and ``retryable`` is the one way to say it."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest

import config.errors
from bot.http_fetch import FetchError
from config.errors import ClaimWatchError, is_retryable, retry_after_of
from publishers.base import PublishError
from publishers.ipfs_client import IpfsError, IpfsUnavailable
from publishers.ledger import Conflict

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "streams", "inference", "cards", "publishers", "config", "ops")
BUILTIN_EXCEPTIONS = {
    name
    for name, obj in vars(builtins).items()
    if isinstance(obj, type) and issubclass(obj, BaseException)
}


def _base_names(node: ast.ClassDef) -> list[str]:
    names = []
    for base in node.bases:
        if isinstance(base, ast.Name):
            names.append(base.id)
        elif isinstance(base, ast.Attribute):
            names.append(base.attr)
    return names


def exception_classes() -> dict[str, list[str]]:
    """Class name -> base names, for every class in the package that derives from an exception
    (followed through the package's own classes until nothing new is found)."""
    classes: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef):
                    classes[node.name] = _base_names(node)
    found: dict[str, list[str]] = {}
    changed = True
    while changed:
        changed = False
        for name, bases in classes.items():
            if name in found:
                continue
            if any(b in BUILTIN_EXCEPTIONS or b in found or b == "ClaimWatchError" for b in bases):
                found[name] = bases
                changed = True
    found.pop("ClaimWatchError", None)
    return found


def test_the_scan_sees_the_known_classes() -> None:
    found = exception_classes()
    assert {"PublishError", "XApiError", "RateLimited", "IpfsUnavailable", "Conflict"} <= set(found)
    assert len(found) >= 20


def test_every_exception_class_derives_from_claimwatch_error() -> None:
    found = exception_classes()

    def ours(name: str) -> bool:
        bases = found.get(name, [])
        return "ClaimWatchError" in bases or any(ours(b) for b in bases if b in found)

    strays = sorted(name for name in found if not ours(name))
    assert not strays, f"exception classes outside the ClaimWatchError tree: {strays}"


def test_the_documented_tree_lists_every_class() -> None:
    doc = config.errors.__doc__ or ""
    tree = {line.split()[1] for line in doc.splitlines() if line.strip().startswith(("+", "|"))}
    tree |= {line.split()[2] for line in doc.splitlines() if line.strip().startswith("| +")}
    missing = sorted(set(exception_classes()) - tree)
    assert not missing, f"add these to the tree in config/errors.py: {missing}"


def test_retryable_is_a_class_default_overridable_per_instance() -> None:
    assert not ClaimWatchError("x").retryable
    assert ClaimWatchError("x", retryable=True).retryable
    assert Conflict("lease lost").retryable
    err = PublishError("429", retryable=True, retry_after_s=12.0)
    assert is_retryable(err) and retry_after_of(err) == 12.0
    assert not is_retryable(RuntimeError("not ours")) and retry_after_of(KeyError()) is None


@pytest.mark.parametrize(
    ("reason", "retryable"),
    [
        ("timeout", True),
        ("unreachable", True),
        ("http_503", True),
        ("http_404", False),
        ("too_large", False),
    ],
)
def test_fetch_errors_say_whether_the_host_may_answer_later(reason: str, retryable: bool) -> None:
    assert FetchError("GET", reason=reason).retryable is retryable


def test_ipfs_refusals_are_final_and_outages_are_not() -> None:
    assert not IpfsError("add: bad request", status=400).retryable
    assert IpfsError("add: internal", status=500).retryable
    assert IpfsUnavailable("connection refused").retryable


def test_builtin_bases_are_kept_for_existing_except_clauses() -> None:
    from bot.feeds import FeedError
    from ops.xfake.spec import SpecNotFound

    assert issubclass(FeedError, ValueError) and issubclass(FeedError, ClaimWatchError)
    assert issubclass(SpecNotFound, FileNotFoundError)
