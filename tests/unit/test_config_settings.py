"""Settings: YAML layers, environment overrides, clear errors, secrets only from the env."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import SettingsError, load_settings


def test_defaults_load_from_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAIMWATCH_BROKER_URL", raising=False)
    settings = load_settings()
    assert settings.broker_url == "kafka://127.0.0.1:9092"
    assert settings.stream.max_text_chars == 5000
    assert settings.bootstrap_servers == ["127.0.0.1:9092"]


def test_env_overrides_yaml_including_nested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMWATCH_BROKER_URL", "kafka://k1:9092;kafka://k2:9092")
    monkeypatch.setenv("CLAIMWATCH_STREAM__MAX_TEXT_CHARS", "1234")
    settings = load_settings()
    assert settings.bootstrap_servers == ["k1:9092", "k2:9092"]
    assert settings.stream.max_text_chars == 1234


def test_local_override_file_is_deep_merged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    override = tmp_path / "local.yaml"
    override.write_text("stream:\n  min_text_chars: 9\npartitions: 8\n")
    monkeypatch.setenv("CLAIMWATCH_CONFIG_FILE", str(override))
    settings = load_settings()
    assert settings.partitions == 8
    assert settings.stream.min_text_chars == 9
    assert settings.stream.max_text_chars == 5000  # untouched keys keep their defaults


def test_bad_value_gives_a_readable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMWATCH_PARTITIONS", "zero")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "partitions" in str(err.value) and "CLAIMWATCH_PARTITIONS" in str(err.value)


def test_bad_broker_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMWATCH_BROKER_URL", "http://nope")
    with pytest.raises(SettingsError, match="kafka://"):
        load_settings()


def test_secret_in_yaml_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    override = tmp_path / "local.yaml"
    override.write_text("x_api_secret: hunter2hunter2\n")
    monkeypatch.setenv("CLAIMWATCH_CONFIG_FILE", str(override))
    with pytest.raises(SettingsError, match="CLAIMWATCH_X_API_SECRET"):
        load_settings()


def test_secret_from_env_is_hidden_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMWATCH_X_BEARER_TOKEN", "AAAA-very-secret-token")
    settings = load_settings()
    assert settings.x_bearer_token is not None
    assert settings.x_bearer_token.get_secret_value() == "AAAA-very-secret-token"
    assert "very-secret" not in repr(settings)
    assert "AAAA-very-secret-token" in settings.secret_values()


def test_missing_override_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLAIMWATCH_CONFIG_FILE", str(tmp_path / "absent.yaml"))
    with pytest.raises(SettingsError, match="no such file"):
        load_settings()


def test_invalid_yaml_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    override = tmp_path / "local.yaml"
    override.write_text("stream: [unclosed\n")
    monkeypatch.setenv("CLAIMWATCH_CONFIG_FILE", str(override))
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings()
