"""The worker hands Faust a log level it accepts for every level our settings allow."""

from __future__ import annotations

from typing import get_args

import click
import pytest

from config.settings import Settings
from ops.worker import faust_log_level


def faust_option() -> click.ParamType:
    """The type of the Faust worker's --loglevel option, as its CLI declares it."""
    from faust.cli import params
    from faust.cli.base import LOGLEVELS

    return params.CaseInsensitiveChoice(LOGLEVELS)


def test_every_settings_level_maps_to_a_level_faust_accepts() -> None:
    allowed = get_args(Settings.model_fields["log_level"].annotation)
    assert set(allowed) == {"debug", "info", "warning", "error"}
    for level in allowed:
        faust_option().convert(faust_log_level(level), None, None)  # raises if refused
    assert faust_log_level("warning") == "warn"


def test_faust_refuses_the_logging_name_warning() -> None:
    """Why the mapping exists: with 'warning' the worker exited with 2 before starting."""
    with pytest.raises(click.BadParameter):
        faust_option().convert("warning", None, None)
