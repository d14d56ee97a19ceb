"""Each setting is declared for validation (the pydantic models in bot.config.schema) and for
the run (the light dataclasses every command uses without importing pydantic): the two must
agree, key for key and default for default, and config.example.yaml must name every key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.config import AlertSettings, Destination
from bot.config.schema import SPECIAL, AlertsIn, ContentIn, DestinationIn, PickIn, WebIn
from bot.content.fetching import FetchSettings
from bot.content.pick import PickSettings
from bot.web.settings import WebSettings

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.yaml"
RUN_ONLY = {"name", "settings", "secret_keys"}  # made by parse_config, not written by a person


def _defaults(cls) -> dict:
    out = {}
    for item in dataclasses.fields(cls):
        if item.default is not dataclasses.MISSING:
            value = item.default
        elif item.default_factory is not dataclasses.MISSING:
            value = item.default_factory()
        else:
            continue
        out[item.name] = list(value) if isinstance(value, tuple) else value
    return out


def _model_defaults(model) -> dict:
    out = {}
    for name, info in model.model_fields.items():
        if info.is_required():
            continue
        value = info.get_default(call_default_factory=True)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def test_a_destinations_keys_are_declared_alike_for_validation_and_the_run():
    run = {f.name for f in dataclasses.fields(Destination)} - RUN_ONLY
    assert run == set(DestinationIn.model_fields)
    model = _model_defaults(DestinationIn)
    run_defaults = _defaults(Destination)
    for key in set(DestinationIn.model_fields) - set(SPECIAL):
        assert model[key] == run_defaults[key], key


@pytest.mark.parametrize(
    ("model", "settings"),
    [
        (PickIn, PickSettings),
        (ContentIn, FetchSettings),
        (AlertsIn, AlertSettings),
        (WebIn, WebSettings),
    ],
)
def test_pick_content_and_alert_settings_are_declared_alike(model, settings):
    assert set(model.model_fields) == {f.name for f in dataclasses.fields(settings)}
    assert _model_defaults(model) == _defaults(settings)


def test_the_example_config_names_every_key():
    text = EXAMPLE.read_text(encoding="utf-8")
    keys = (
        (set(DestinationIn.model_fields) - {"pick"})
        | set(PickIn.model_fields)
        | set(ContentIn.model_fields)
        | set(AlertsIn.model_fields)
        | {"alerts", "heartbeat", "events"}
        | set(WebIn.model_fields)
    )
    missing = sorted(key for key in keys if f"{key}:" not in text)
    assert missing == []
