"""The ``web:`` keys of the config as the web page uses them, and who may log in.

Validated by ``bot.config.schema.WebIn`` (the same keys and defaults:
``tests/test_config_keys.py``); a token and the session key stay ``SecretRef``s until
``serve`` reads them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.secrets_filter import SecretRef

LOOPBACK_NAMES = ("localhost",)


class Role(StrEnum):
    """What a person may do: a curator reviews, edits events and mentions; an operator also
    posts, retries and marks posts sent."""

    CURATOR = "curator"
    OPERATOR = "operator"

    def allows(self, needed: Role) -> bool:
        return self == Role.OPERATOR or needed == Role.CURATOR


@dataclass(frozen=True)
class WebUser:
    name: str
    role: Role
    password_hash: str | None = None
    token: SecretRef | None = None


# whoever opens a page served on 127.0.0.1 with no users configured
LOCAL_USER = WebUser("local", Role.OPERATOR)


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    path_prefix: str = ""
    secret_key: SecretRef | None = None
    session_hours: float = 12.0
    secure_cookies: bool = False
    # a reverse proxy in front: its X-Forwarded-For/-Proto/-Host/-Prefix are believed (one hop)
    behind_proxy: bool = False
    users: dict[str, WebUser] = field(default_factory=dict)

    @classmethod
    def from_config(cls, data: dict[str, Any]) -> WebSettings:
        values = {k: v for k, v in data.items() if k != "users"}
        users = {
            name: WebUser(name, Role(user["role"]), user.get("password_hash"), user.get("token"))
            for name, user in data.get("users", {}).items()
        }
        return cls(**values, users=users)

    @property
    def loopback(self) -> bool:
        """Bound to this machine only."""
        if self.host in LOOPBACK_NAMES:
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False

    @property
    def open(self) -> bool:
        """No login: no users configured (allowed on a loopback address only)."""
        return not self.users
