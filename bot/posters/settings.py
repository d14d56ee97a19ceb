"""Config keys of the built-in adapters, as pydantic models (imported only to validate a config)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class OutboxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    format: str = "text"


class ConsoleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: str = "text"


class WebhookSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://\S+$")
    secret: str = Field(min_length=16)
    format: str = "text"
    lookup_url: str | None = Field(None, pattern=r"^https?://\S+$")
    timeout: float = Field(30.0, gt=0, le=300)
