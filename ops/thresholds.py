"""``claimwatch thresholds show|set|suggest|history``: the operator's posting rules.

Writes (``set``) need the operator token: ``--token`` or CLAIMWATCH_OPERATOR_TOKEN, matching
the token configured for this deployment. Every write is audited with who, when and why.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import hmac
import json
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from config.settings import Settings, load_settings
from ops.suggest import (
    RuleOutcome,
    evaluate_rule_set,
    load_bucket_tables,
    load_calibration,
    plot_ppv_coverage,
    suggest,
)
from streams.rules import (
    RULE_CHANNELS,
    RULE_KINDS,
    RedisRuleStore,
    RuleConflictError,
    RuleSet,
    load_rule_file,
    utc_now_iso,
)

TOKEN_ENV = "CLAIMWATCH_OPERATOR_TOKEN"


def check_token(presented: str | None, configured: SecretStr | None) -> str | None:
    """None when the write is authorised, else the reason it is refused."""
    if configured is None or not configured.get_secret_value():
        return (
            f"refused: no operator token is configured ({TOKEN_ENV} is unset), "
            "so rule changes are disabled"
        )
    if not presented:
        return f"refused: rule changes need the operator token (--token or {TOKEN_ENV})"
    if not hmac.compare_digest(presented.encode(), configured.get_secret_value().encode()):
        return "refused: the operator token does not match"
    return None


def _optional_float(text: str) -> float | None:
    if text.lower() in ("none", "off", "-"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}") from None


def _yes_no(text: str) -> bool:
    if text.lower() in ("yes", "true", "on", "1"):
        return True
    if text.lower() in ("no", "false", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="claimwatch thresholds", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)

    show = sub.add_parser("show", help="the rules in force, with version and last change")
    show.add_argument("--json", action="store_true")

    st = sub.add_parser("set", help="change rules (needs the operator token)")
    st.add_argument("--file", type=Path, help="a whole rule set (YAML/JSON channel->kind->rule)")
    st.add_argument("--channel", choices=[*RULE_CHANNELS, "all"], action="append")
    st.add_argument("--kind", choices=[*RULE_KINDS, "all"], action="append")
    onoff = st.add_mutually_exclusive_group()
    onoff.add_argument("--enable", dest="enabled", action="store_const", const=True)
    onoff.add_argument("--disable", dest="enabled", action="store_const", const=False)
    st.add_argument("--min-bucket-ppv", type=_optional_float, metavar="X|none")
    st.add_argument("--min-confidence", type=_optional_float, metavar="X|none")
    st.add_argument("--predicted-false-only", type=_yes_no, metavar="yes|no")
    st.add_argument("--dry-run", type=_yes_no, metavar="yes|no")
    st.add_argument("--why", required=True, help="the reason, kept in the audit trail")
    st.add_argument("--who", help="operator name (default: the login name)")
    st.add_argument("--token", help=f"operator token (default: ${TOKEN_ENV})")
    st.add_argument(
        "--expect-version", type=int, help="refuse if the rules moved past this version"
    )

    sg = sub.add_parser("suggest", help="propose the loosest rule meeting a target PPV")
    sg.add_argument("--target-ppv", type=float, required=True)
    sg.add_argument("--kind", choices=RULE_KINDS, help="only this kind (default: all)")
    sg.add_argument("--channel", choices=RULE_CHANNELS, default="x", help="current rule of")
    sg.add_argument("--by", choices=["ppv", "confidence"], default="ppv")
    sg.add_argument("--min-published", type=int, default=10)
    sg.add_argument("--calibration-dir", type=Path, help="default: settings thresholds dir")
    sg.add_argument("--plot", type=Path, help="write the PPV-vs-coverage PNG here")
    sg.add_argument("--json", action="store_true")

    hist = sub.add_parser("history", help="the audit trail, newest first")
    hist.add_argument("--n", type=int, default=20)
    hist.add_argument("--json", action="store_true")
    return parser


def seed_rules(settings: Settings) -> RuleSet:
    return RuleSet.from_table(settings.thresholds.rules)


def _store(settings: Settings) -> tuple[Any, RedisRuleStore]:
    from redis.asyncio import Redis

    redis = Redis.from_url(settings.redis_url)
    return redis, RedisRuleStore(redis)


def render_rules(rules: RuleSet) -> list[str]:
    lines = []
    for channel in RULE_CHANNELS:
        for kind in RULE_KINDS:
            lines.append(f"  {channel:<5} {kind:<11} {rules.rule_for(channel, kind).describe()}")
    return lines


async def _show(settings: Settings, as_json: bool) -> int:
    redis, store = _store(settings)
    try:
        rules = await store.load()
        meta = await store.metadata() if rules else {}
    finally:
        await redis.aclose()
    source = "redis"
    if rules is None:
        rules, source = seed_rules(settings), "config seed (not yet in Redis)"
    if as_json:
        print(
            json.dumps({"version": rules.version, "source": source, **meta, "rules": rules.table()})
        )
        return 0
    print(f"rules version {rules.version} ({source})")
    if meta:
        print(
            f"  last change {meta.get('updated_at')} by {meta.get('updated_by')}: {meta.get('why')}"
        )
    print("\n".join(render_rules(rules)))
    return 0


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if args.enabled is not None:
        changes["enabled"] = args.enabled
    for name in ("min_bucket_ppv", "min_confidence"):
        # argparse default None means "not given"; "none" on the line clears the condition.
        if f"--{name.replace('_', '-')}" in args.given:
            changes[name] = getattr(args, name)
    if args.predicted_false_only is not None:
        changes["predicted_false_only"] = args.predicted_false_only
    if args.dry_run is not None:
        changes["dry_run"] = args.dry_run
    return changes


def proposed_rules(base: RuleSet, args: argparse.Namespace) -> RuleSet:
    """The rule set ``set`` would write: a file as a whole, or field changes on ``base``."""
    if args.file:
        if args.channel or args.kind or _changes(args):
            raise ValueError("--file replaces the whole rule set; give no other rule options")
        return load_rule_file(args.file)
    if not args.channel or not args.kind:
        raise ValueError(
            "say which rules to change: --channel (x|ipfs|all) and --kind "
            "(tweet|transcript|all), or --file"
        )
    changes = _changes(args)
    if not changes:
        raise ValueError(
            "nothing to change: give --enable/--disable, --min-bucket-ppv, "
            "--min-confidence, --predicted-false-only or --dry-run"
        )
    channels = RULE_CHANNELS if "all" in args.channel else tuple(dict.fromkeys(args.channel))
    kinds = RULE_KINDS if "all" in args.kind else tuple(dict.fromkeys(args.kind))
    rules = base
    for channel in channels:
        for kind in kinds:
            rules = rules.with_rule(channel, kind, **changes)
    return rules


async def _set(settings: Settings, args: argparse.Namespace) -> int:
    presented = args.token or os.environ.get(TOKEN_ENV)
    refusal = check_token(presented, settings.operator_token)
    if refusal:
        print(refusal, file=sys.stderr)
        return 3
    who = args.who or _login_name()
    redis, store = _store(settings)
    try:
        # The first change lands on top of the seed, audited as its own version.
        current = await store.load() or await store.ensure_seeded(seed_rules(settings))
        try:
            new = proposed_rules(current, args)
        except (ValueError, ValidationError, OSError) as exc:
            print(f"invalid rule change: {exc}", file=sys.stderr)
            return 2
        if args.expect_version is not None and args.expect_version != current.version:
            print(
                f"refused: rules are at version {current.version}, not {args.expect_version}; "
                "re-read with 'thresholds show' and retry",
                file=sys.stderr,
            )
            return 4
        if new.same_rules(current):
            print(f"no change: rules version {current.version} already say that; nothing written")
            return 0
        expected = current.version if args.expect_version is None else args.expect_version
        try:
            written = await store.write(
                new, who=who, why=args.why, at=utc_now_iso(), expected_version=expected
            )
        except RuleConflictError as exc:
            print(f"refused: {exc}; re-read with 'thresholds show' and retry", file=sys.stderr)
            return 4
        history = await store.history(limit=1)
    finally:
        await redis.aclose()
    print(f"rules version {written.version} written by {who}: {args.why}")
    for line in history[0].changes if history else []:
        print(f"  {line}")
    return 0


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


async def _history(settings: Settings, n: int, as_json: bool) -> int:
    redis, store = _store(settings)
    try:
        entries = await store.history(limit=n)
    finally:
        await redis.aclose()
    if not entries:
        print("no rule changes recorded")
        return 0
    for e in entries:
        if as_json:
            print(
                json.dumps(
                    {
                        "id": e.entry_id,
                        "version": e.version,
                        "previous_version": e.previous_version,
                        "who": e.who,
                        "why": e.why,
                        "at": e.at,
                        "changes": e.changes,
                        "rules": e.rules.table(),
                    }
                )
            )
            continue
        print(f"v{e.version}  {e.at}  {e.who}: {e.why}")
        for line in e.changes:
            print(f"    {line}")
    return 0


async def _current_rules(settings: Settings) -> tuple[RuleSet, str]:
    """Rules from Redis, or the config seed when Redis has none or cannot be reached."""
    from redis.exceptions import RedisError

    redis, store = _store(settings)
    try:
        rules = await store.load()
    except (RedisError, OSError):
        rules = None
        source = "config seed (Redis unreachable)"
    else:
        source = f"Redis version {rules.version}" if rules else "config seed (not yet in Redis)"
    finally:
        await redis.aclose()
    return (rules or seed_rules(settings)), source


def _suggest(settings: Settings, args: argparse.Namespace) -> int:
    if not 0.0 < args.target_ppv <= 1.0:
        print("--target-ppv must be in (0, 1]", file=sys.stderr)
        return 2
    folder = args.calibration_dir or Path(settings.thresholds.calibration_dir)
    buckets_file, calibration_file = folder / "buckets.json", folder / "calibration.jsonl"
    for f in (buckets_file, calibration_file):
        if not f.is_file():
            print(
                f"no calibration data: {f} is missing (train/export the model first)",
                file=sys.stderr,
            )
            return 2
    tables = load_bucket_tables(buckets_file)
    points = load_calibration(calibration_file, tables)
    if args.kind:
        points = [p for p in points if p.kind == args.kind]
    if not points:
        print(f"no calibration statements of kind {args.kind}", file=sys.stderr)
        return 2
    rules, source = asyncio.run(_current_rules(settings))
    current = evaluate_rule_set(rules, args.channel, points)
    result = suggest(
        points, target_ppv=args.target_ppv, by=args.by, min_published=args.min_published
    )
    scope = args.kind or "all kinds"
    if args.plot:
        plot_ppv_coverage(
            result,
            target_ppv=args.target_ppv,
            current=current,
            out=args.plot,
            title=f"PPV vs coverage, {scope} (n={len(points)}, {args.channel} rules)",
        )
    best = result.best
    if args.json:
        print(
            json.dumps(
                {
                    "target_ppv": args.target_ppv,
                    "kind": args.kind,
                    "channel": args.channel,
                    "n": len(points),
                    "current": _outcome_json(current),
                    "current_source": source,
                    "suggested": _outcome_json(best) if best else None,
                    "plot": str(args.plot) if args.plot else None,
                }
            )
        )
        return 0 if best else 1
    print(f"calibration set: {len(points)} statements ({scope}) from {folder}")
    print(f"current {args.channel} rules ({source}): {current.description}")
    print(
        f"  would publish {current.coverage:.1%} ({current.n_published}), PPV "
        + (f"{current.ppv:.3f}" if current.ppv is not None else "n/a")
    )
    if best is None:
        print(
            f"no rule reaches PPV {args.target_ppv:g} with at least {args.min_published} "
            "published statements"
        )
        return 1
    threshold = best.rule.min_bucket_ppv if args.by == "ppv" else best.rule.min_confidence
    print(f"suggested (loosest meeting PPV {args.target_ppv:g}): {best.description}")
    print(
        f"  expected share published {best.coverage:.1%} ({best.n_published} of "
        f"{best.n_total}), PPV {best.ppv:.3f}"
    )
    flag = "--min-bucket-ppv" if args.by == "ppv" else "--min-confidence"
    other = "--min-confidence" if args.by == "ppv" else "--min-bucket-ppv"
    print(
        f"  apply: claimwatch thresholds set --channel {args.channel} --kind "
        f"{args.kind or 'all'} --enable {flag} {threshold:.4g} {other} none "
        f'--why "suggest: target PPV {args.target_ppv:g}"'
    )
    if args.plot:
        print(f"  plot: {args.plot}")
    return 0


def _outcome_json(o: RuleOutcome) -> dict[str, Any]:
    return {
        "rule": o.rule.model_dump(),
        "description": o.description,
        "n_total": o.n_total,
        "n_published": o.n_published,
        "coverage": o.coverage,
        "ppv": o.ppv,
    }


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.given = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    settings = load_settings()
    from redis.exceptions import RedisError

    try:
        if args.action == "show":
            return asyncio.run(_show(settings, args.json))
        if args.action == "set":
            return asyncio.run(_set(settings, args))
        if args.action == "history":
            return asyncio.run(_history(settings, args.n, args.json))
        return _suggest(settings, args)
    except (RedisError, OSError) as exc:
        print(f"cannot reach Redis (CLAIMWATCH_REDIS_URL): {exc}", file=sys.stderr)
        return 1
