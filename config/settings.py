"""The one typed settings object.

Precedence (highest first): explicit keyword arguments, ``CLAIMWATCH_*`` environment variables
(nested with ``__``, e.g. ``CLAIMWATCH_STREAM__MAX_TEXT_CHARS``), the local override YAML
(``CLAIMWATCH_CONFIG_FILE`` or ``config/local.yaml``), then ``config/defaults.yaml``.
Secrets are accepted from the environment only: a YAML file that contains one is refused, so a
committed config file can never carry a credential.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config.errors import ClaimWatchError

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULTS_FILE = CONFIG_DIR / "defaults.yaml"
LOCAL_FILE = CONFIG_DIR / "local.yaml"
ENV_PREFIX = "CLAIMWATCH_"

# Field names that hold credentials. They may only come from the environment.
SECRET_FIELDS = frozenset(
    {
        "x_bearer_token",
        "x_api_key",
        "x_api_secret",
        "x_access_token",
        "x_access_token_secret",
        "operator_token",
    }
)


class SettingsError(ClaimWatchError, ValueError):
    """Settings could not be loaded; the message names the bad field and where it came from."""


class FaustSettings(BaseModel):
    """Consumer-group timings. Short timeouts keep group joins fast on the dev broker."""

    app_id: str = "claimwatch"
    session_timeout_s: float = Field(6.0, gt=0, le=300)
    heartbeat_interval_s: float = Field(2.0, gt=0, le=60)
    rebalance_timeout_s: float = Field(6.0, gt=0, le=300)
    commit_interval_s: float = Field(1.0, gt=0, le=60)
    web_port: int = Field(6066, ge=1, le=65535)
    web_enabled: bool = False
    # Flow control: records per fetch, and events an agent may hold before fetching pauses.
    max_poll_records: int | None = Field(None, ge=1)
    stream_buffer_maxsize: int = Field(4096, ge=1)
    # How long the worker's fetch may wait for records (streams/transport.py says why).
    fetch_max_wait_ms: int = Field(100, ge=1, le=60_000)


class StreamSettings(BaseModel):
    """Validation limits and de-duplication for incoming statements."""

    min_text_chars: int = Field(3, ge=1)
    max_text_chars: int = Field(5000, ge=10)
    max_raw_bytes: int = Field(64_000, ge=1024)
    seen_ttl_s: int = Field(30 * 24 * 3600, ge=60)
    max_future_skew_s: int = Field(300, ge=0)
    earliest_said_at: str = "1990-01-01T00:00:00+00:00"
    # normalize and decide take events in batches of up to batch_max, waiting at most
    # batch_within_ms for a batch to fill (a lone live statement waits no longer than that).
    batch_max: int = Field(100, ge=1, le=10_000)
    batch_within_ms: int = Field(20, ge=0, le=60_000)


class ThresholdSettings(BaseModel):
    """Posting rules: the seed written to Redis when none exist yet, and how often workers
    look for an operator's change (a version check, so changes apply without a restart)."""

    check_interval_s: float = Field(default=5.0, gt=0, le=3600)
    # Model artifact folder holding buckets.json and calibration.jsonl (for ``suggest``).
    calibration_dir: str = "models/minilm-liar"
    # How many recent predictions (with their decisions) operators can list.
    recent_max: int = Field(default=5000, ge=10, le=1_000_000)
    # Seed rules: channel -> kind -> rule; validated by streams.rules.RuleSet.
    rules: dict[str, dict[str, dict[str, Any]]] = {}

    @field_validator("rules")
    @classmethod
    def _rules_valid(cls, value: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
        from streams.rules import RuleSet  # lazy: streams imports config, never the reverse

        RuleSet.from_table(value)
        return value


class WatchedAccount(BaseModel):
    """An X account whose posts become statements; metadata goes with every statement."""

    username: str = Field(pattern=r"^[A-Za-z0-9_]{1,15}$")
    name: str | None = None
    party: str | None = None
    role: str | None = None
    state: str | None = None


class WatchedSpeaker(BaseModel):
    """A speaker kept from transcripts; ``aliases`` are other labels transcripts use."""

    name: str = Field(min_length=1)
    aliases: list[str] = []
    party: str | None = None
    role: str | None = None
    state: str | None = None


class TranscriptFeed(BaseModel):
    """An RSS/Atom/JSON feed whose entries link to transcript documents."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    url: str = Field(pattern=r"^https?://")
    format: Literal["auto", "rss", "atom", "json"] = "auto"
    venue: str | None = None
    speakers: list[WatchedSpeaker] = []


class SourcesSettings(BaseModel):
    """Watched accounts and feeds, polling schedule and limits (defaults as Deep Classiflie)."""

    x_accounts: list[WatchedAccount] = []
    feeds: list[TranscriptFeed] = []
    x_interval_s: float = Field(default=180.0, gt=0)
    feed_interval_s: float = Field(default=900.0, gt=0)
    jitter_s: float = Field(default=10.0, ge=0)
    x_api_base_url: str = Field(default="https://api.x.com", pattern=r"^https?://")
    x_backfill_limit: int = Field(default=0, ge=0, le=3200)
    x_page_size: int = Field(default=100, ge=5, le=100)
    x_max_pages: int = Field(default=20, ge=1, le=200)
    exclude_retweets: bool = True
    exclude_replies: bool = True
    thread_window_s: float = Field(default=120.0, ge=0)
    seen_ids_max: int = Field(default=5000, ge=10)
    min_statement_chars: int = Field(default=25, ge=1)
    max_document_bytes: int = Field(default=2_000_000, ge=1024)
    max_entries_per_run: int = Field(default=50, ge=1)
    max_entry_attempts: int = Field(default=5, ge=1)
    http_timeout_s: float = Field(default=15.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    max_rate_limit_wait_s: float = Field(default=900.0, ge=0)
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    user_agent: str = "ClaimWatch/0.1 (+https://github.com/claimwatch)"


class XSettings(BaseModel):
    """The X bot account: where the API is (None = real X; a loopback URL = the local fake),
    what a post says, and our own posting caps on top of X's 100 posts per 15 minutes."""

    api_base_url: str | None = None
    dry_run: bool = False
    bot_username: str = "ClaimWatchBot"
    # Fields: {verdict} {ppv_pct} {author} {quote} {statement_url} {feed_url} {marker}
    post_template: str = (
        'Likely {verdict} ({ppv_pct} of similar calls were right): {author}: "{quote}" '
        "{statement_url} Feed: {feed_url} {marker}"
    )
    feed_url: str = "https://claimwatch.example/feed"
    window_posts: int = Field(default=100, ge=1)  # X's per-user limit ...
    window_s: float = Field(default=900.0, gt=0)  # ... per 15 minutes
    hourly_cap: int = Field(default=25, ge=1)
    daily_cap: int = Field(default=200, ge=1)
    max_retries: int = Field(default=3, ge=0, le=10)  # on 5xx / connection errors, per call
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    request_timeout_s: float = Field(default=15.0, gt=0)
    reconcile_pages: int = Field(default=3, ge=1, le=32)  # own-timeline pages searched for a marker


class PublishSettings(BaseModel):
    """The publish ledger: how long a worker holds a publish before others may reconcile it,
    and how many attempts before a prediction is dead-lettered."""

    lease_s: float = Field(default=120.0, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=100)
    max_wait_s: float = Field(default=900.0, ge=0)  # longest a consumer waits on a retry_later


class IpfsSettings(BaseModel):
    """The IPFS channel: the Kubo RPC endpoint (the dev js-ipfs node by default), the IPNS key
    the feed is published under, the pubsub topic announcing entries, and feed paging."""

    api_url: str = "http://127.0.0.1:5001"
    dry_run: bool = False
    ipns_key: str = Field(default="claimwatch-feed", min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    pubsub_topic: str = Field(default="claimwatch.predictions", min_length=1)
    mfs_root: str = Field(default="/claimwatch", pattern=r"^/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$")
    feed_page_size: int = Field(default=50, ge=1, le=1000)
    ipns_lifetime: str = "48h"  # record validity; republish well inside it
    republish_interval_s: float = Field(default=12 * 3600.0, ge=60, le=86400)  # at least daily
    timeout_s: float = Field(default=15.0, gt=0)
    connect_timeout_s: float = Field(default=3.0, gt=0)
    gateway_url: str = "https://ipfs.io"  # for human links (posts, README); never fetched


class ModelSettings(BaseModel):
    """The scoring model: artifact folder, input length, micro-batching and ONNX Runtime."""

    artifact_path: str = "models/minilm-liar"
    max_length: int = Field(128, ge=8, le=512)
    max_batch: int = Field(32, ge=1, le=1024)
    # The score agent takes up to take_max statements (waiting at most batch_within_ms), sorts
    # them by length and scores them in max_batch calls: a wider sort means less padding.
    take_max: int = Field(128, ge=1, le=10_000)
    batch_within_ms: int = Field(50, ge=0, le=60_000)
    intra_op_threads: int = Field(1, ge=0, le=256)  # per model call; 0: onnxruntime picks
    # Score agent actors per worker: while one waits for its model call (a thread, no GIL),
    # another does its batch's Python (decode, send, acks), so the cores stay busy.
    score_concurrency: int = Field(2, ge=1, le=64)
    provider: Literal["auto", "cpu", "cuda"] = "auto"
    # How the int8 graph's quantised weights run: auto = int8 where this CPU's u8 x s8 kernels
    # are exact (VNNI/AMX: faster), else uint8 as stored; the scores are the same either way.
    int8_weights: Literal["auto", "int8", "uint8"] = "auto"


class CardsSettings(BaseModel):
    """Interpretation cards: which attribution method, and how many integrated-gradients steps.

    ``auto`` uses the IG graph when the artifact folder has one, else leave-one-out.
    """

    enabled: bool = True  # False: publish without a card (e.g. evaluation replays)
    attribution: Literal["auto", "ig", "loo", "none"] = "auto"
    ig_steps: int = Field(32, ge=4, le=512)
    ig_graph_file: str = "attributions.ig.onnx"
    out_dir: str | None = None  # also write each card here as <statement id>.png (demo)
    cache_size: int = Field(256, ge=0)  # cards kept in memory: X and IPFS share one render


class Settings(BaseSettings):
    """Everything ClaimWatch reads from its environment, typed and validated."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    environment: Literal["development", "production", "test"] = "development"
    log_format: Literal["console", "json"] = "console"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    broker_url: str = "kafka://127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    partitions: int = Field(4, ge=1, le=256)
    replication_factor: int = Field(1, ge=1, le=10)

    faust: FaustSettings = FaustSettings()
    stream: StreamSettings = StreamSettings()
    sources: SourcesSettings = SourcesSettings()
    thresholds: ThresholdSettings = ThresholdSettings()
    x: XSettings = XSettings()
    publish: PublishSettings = PublishSettings()
    ipfs: IpfsSettings = IpfsSettings()
    model: ModelSettings = ModelSettings()
    cards: CardsSettings = CardsSettings()

    # Secrets: environment only (see module docstring).
    x_bearer_token: SecretStr | None = None
    x_api_key: SecretStr | None = None
    x_api_secret: SecretStr | None = None
    x_access_token: SecretStr | None = None
    x_access_token_secret: SecretStr | None = None
    operator_token: SecretStr | None = None

    @field_validator("broker_url")
    @classmethod
    def _broker_url_scheme(cls, value: str) -> str:
        urls = [u.strip() for u in value.split(";") if u.strip()]
        if not urls or not all(u.startswith("kafka://") for u in urls):
            raise ValueError("must be kafka://HOST:PORT (several separated by ';')")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @property
    def bootstrap_servers(self) -> list[str]:
        """``broker_url`` as aiokafka wants it (host:port list)."""
        return [u.strip().removeprefix("kafka://") for u in self.broker_url.split(";") if u.strip()]

    def secret_values(self) -> list[str]:
        """Every configured secret's plain value, for log redaction."""
        values = []
        for name in SECRET_FIELDS:
            secret = getattr(self, name)
            if secret is not None and secret.get_secret_value():
                values.append(secret.get_secret_value())
        return values

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, YamlFilesSource(settings_cls))


class YamlFilesSource(PydanticBaseSettingsSource):
    """Defaults YAML deep-merged with the optional local override YAML."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._data = load_yaml_layers(yaml_files())

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def yaml_files() -> list[Path]:
    """The YAML layers in merge order: defaults first, then the local override if present."""
    files = [DEFAULTS_FILE]
    override = os.environ.get(f"{ENV_PREFIX}CONFIG_FILE")
    if override:
        path = Path(override)
        if not path.is_file():
            raise SettingsError(f"{ENV_PREFIX}CONFIG_FILE={override}: no such file")
        files.append(path)
    elif LOCAL_FILE.is_file():
        files.append(LOCAL_FILE)
    return files


def load_yaml_layers(files: list[Path]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise SettingsError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise SettingsError(f"{path}: the top level must be a mapping")
        leaked = sorted(SECRET_FIELDS & data.keys())
        if leaked:
            raise SettingsError(
                f"{path}: {', '.join(leaked)} may only be set in the environment "
                f"({', '.join(ENV_PREFIX + n.upper() for n in leaked)}), never in a file"
            )
        merged = deep_merge(merged, data)
    return merged


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning pydantic's error into one readable message."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            env = ENV_PREFIX + "__".join(str(p) for p in err["loc"]).upper()
            lines.append(f"  {where} (YAML key, or env {env}): {err['msg']}")
        raise SettingsError("invalid ClaimWatch settings:\n" + "\n".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, loaded once."""
    return load_settings()
