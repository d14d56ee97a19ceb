"""Validation of a mention list, apart from ``bot.events.schema`` so that reading a config
file (``bot.config.schema``, whose ``lists`` are mention lists) does not build the event
schema."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from bot.input_rules import MAX_TEXT_CHARS

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]*$"

OptionalText = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=64)]


class Strict(BaseModel):
    # strict: a number where text is expected is an error, not silently converted
    model_config = ConfigDict(extra="forbid", strict=True)


class MentionListIn(Strict):
    name: Name
    description: OptionalText | None = None
    members: list[Name] = []
    include_tags: list[Name] = []
