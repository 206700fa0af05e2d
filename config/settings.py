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


class SettingsError(ValueError):
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


class StreamSettings(BaseModel):
    """Validation limits and de-duplication for incoming statements."""

    min_text_chars: int = Field(3, ge=1)
    max_text_chars: int = Field(5000, ge=10)
    max_raw_bytes: int = Field(64_000, ge=1024)
    seen_ttl_s: int = Field(30 * 24 * 3600, ge=60)
    max_future_skew_s: int = Field(300, ge=0)
    earliest_said_at: str = "1990-01-01T00:00:00+00:00"


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
