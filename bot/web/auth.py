"""Who is asking: a user's password (its hash in the config) or token (``{$env}``/``{$file}``),
and a login brute force slowed down.

Passwords are hashed with Werkzeug's ``generate_password_hash`` (scrypt, salted); a token is
compared in constant time. ``LoginThrottle`` makes each failed login, from the ``free``-th on,
cost a wait that doubles: a login tried during the wait is refused unread (HTTP 429 with Retry-After), so
guessing is slow whatever the attacker's speed, and the server never sleeps.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field

from werkzeug.security import check_password_hash, generate_password_hash

from bot.web.settings import WebSettings, WebUser

# checked when the user name is unknown, so that an unknown name costs the same time as a
# wrong password (a made-up password's hash, not anyone's)
MAX_KEYS = 10_000  # failed-login keys remembered at most
_DUMMY_HASH = generate_password_hash("not anyone's password")


def hash_password(password: str) -> str:
    """The ``password_hash`` to write in the config for ``password``."""
    return generate_password_hash(password)


def check_login(settings: WebSettings, name: str, password: str) -> WebUser | None:
    """The user ``name`` if ``password`` is theirs (their password or their token)."""
    from bot.config import read_secret

    user = settings.users.get(name)
    if user is None or user.password_hash is None:
        matched = check_password_hash(_DUMMY_HASH, password)
        if user is None:
            return None
    else:
        matched = check_password_hash(user.password_hash, password)
    if user.token is not None:
        token = str(read_secret(user.token))
        matched = bool(token) and hmac.compare_digest(token.encode(), password.encode())
    return user if matched else None


@dataclass
class LoginThrottle:
    """Failed logins per key (a user name, a client address): the ``free``-th failure and each
    one after it make the key wait ``base * 2**n`` seconds (n = 0, 1, 2...; at most ``cap``)
    before a login is read again. ``clock`` is seconds (``time.monotonic``; tests move it)."""

    clock: Callable[[], float]
    free: int = 3
    base: float = 1.0
    cap: float = 300.0
    _failures: dict[str, int] = field(default_factory=dict)
    _until: dict[str, float] = field(default_factory=dict)

    def wait(self, *keys: str) -> float:
        """Seconds before a login with these keys is read (0: now)."""
        now = self.clock()
        return max((self._until.get(k, now) - now for k in keys), default=0.0)

    def failed(self, *keys: str) -> None:
        now = self.clock()
        if len(self._failures) > MAX_KEYS:  # made-up names cannot fill the memory
            self._forget_settled(now)
        for key in keys:
            count = self._failures.get(key, 0) + 1
            self._failures[key] = count
            if count >= self.free:
                self._until[key] = now + min(self.cap, self.base * 2 ** (count - self.free))

    def _forget_settled(self, now: float) -> None:
        for key in [k for k in self._failures if self._until.get(k, now) <= now]:
            self._failures.pop(key, None)
            self._until.pop(key, None)
        while len(self._failures) > MAX_KEYS:  # all waiting: the oldest go first
            key = next(iter(self._failures))
            self._failures.pop(key, None)
            self._until.pop(key, None)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)
            self._until.pop(key, None)
