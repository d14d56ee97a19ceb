"""A real Synapse homeserver for the Matrix tests, run from its own venv on 127.0.0.1.

Install it once with ``tests/synapse/install.sh VENV_DIR`` and point
``ANNIVERSARY_BOT_SYNAPSE_VENV`` at VENV_DIR. ``shared_synapse()`` then starts one server per
test process (SQLite in a temporary directory, a free port, the config from
``homeserver.yaml.template``), registers the users the tests need with Synapse's own
``register_new_matrix_user``, logs them in, and stops the server when the process ends (or when
the session fixture in tests/test_matrix.py tears it down, whichever comes first).

Without the variable ``shared_synapse()`` returns None and the tests that need the server skip
with ``SKIP_REASON``. Kept apart from the test module so that the pytest fixture and the
contract-suite harness (imported from another test module) share one server, not two.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import string
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

ENV_VAR = "ANNIVERSARY_BOT_SYNAPSE_VENV"
SKIP_REASON = (
    f"no Synapse for the Matrix server tests: run 'tests/synapse/install.sh VENV_DIR' "
    f"(about 45 s, 250 MB), then set {ENV_VAR}=VENV_DIR"
)
HERE = Path(__file__).resolve().parent
# must match homeserver.yaml.template: register_new_matrix_user signs with it
REGISTRATION_SECRET = "anniversary-bot-test-registration-secret"
SERVER_NAME = "localhost"
ROOM_ALIAS = f"#anniversaries:{SERVER_NAME}"
START_TIMEOUT = 90.0


class SynapseError(RuntimeError):
    """A call to the test server failed (setup, not the code under test)."""

    def __init__(self, message: str, status: int | None = None, errcode: str | None = None):
        super().__init__(message)
        self.status, self.errcode = status, errcode


@dataclass
class User:
    localpart: str
    password: str
    access_token: str = ""
    device_id: str = ""

    @property
    def user_id(self) -> str:
        return f"@{self.localpart}:{SERVER_NAME}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Synapse:
    """One Synapse process: ``start()``, use ``api()``, ``stop()``."""

    def __init__(self, venv: Path, data_dir: Path, port: int | None = None) -> None:
        self.venv = Path(venv)
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.startup_seconds: float | None = None
        self.http = requests.Session()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "homeserver.yaml"

    def _python(self) -> str:
        return str(self.venv / "bin" / "python")

    def write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        values = {"data_dir": str(self.data_dir), "port": str(self.port)}
        for name in ("homeserver.yaml", "log.config"):
            template = string.Template((HERE / f"{name}.template").read_text(encoding="utf-8"))
            (self.data_dir / name).write_text(template.substitute(values), encoding="utf-8")

    def start(self, timeout: float = START_TIMEOUT) -> None:
        if not (self.venv / "bin" / "python").exists():
            raise SynapseError(f"{self.venv} is not a venv: {SKIP_REASON}")
        self.write_config()
        started = time.monotonic()
        command = [self._python(), "-m", "synapse.app.homeserver", "-c", str(self.config_path)]
        generated = subprocess.run(
            [*command, "--generate-keys"],
            cwd=self.data_dir, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if generated.returncode != 0:
            raise SynapseError(f"synapse --generate-keys failed: {generated.stderr[-2000:]}")
        self._output = open(self.data_dir / "stdout.log", "wb")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            command, cwd=self.data_dir, stdout=self._output, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SynapseError(
                    f"synapse exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                health = self.http.get(f"{self.base_url}/health", timeout=2)
                if health.status_code == 200 and health.text == "OK":
                    self.startup_seconds = time.monotonic() - started
                    return
            except requests.RequestException:
                pass
            time.sleep(0.25)
        self.stop()
        raise SynapseError(
            f"synapse did not answer /health within {timeout:.0f} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if getattr(self, "_output", None) is not None:
            self._output.close()
            self._output = None
        self.http.close()

    def log_tail(self, lines: int = 40) -> str:
        chunks = []
        for name in ("stdout.log", "homeserver.log"):
            path = self.data_dir / name
            if path.exists():
                text = path.read_text(encoding="utf-8", errors="replace").splitlines()
                chunks.append(f"--- {name}\n" + "\n".join(text[-lines:]))
        return "\n".join(chunks)

    # ---- client API, as the tests' own hands (not the adapter under test)

    def api(
        self,
        method: str,
        path: str,
        token: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.http.request(
            method, self.base_url + path, headers=headers, json=json, params=params, timeout=30
        )
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code >= 400:
            raise SynapseError(
                f"{method} {path}: {response.status_code} {data.get('errcode')}: "
                f"{data.get('error')}",
                response.status_code,
                data.get("errcode"),
            )
        return data

    def register(self, localpart: str, admin: bool = False) -> User:
        """A user made with Synapse's own registration tool, then logged in (a device)."""
        user = User(localpart, password=f"{localpart}-password-{uuid.uuid4().hex[:8]}")
        result = subprocess.run(
            [str(self.venv / "bin" / "register_new_matrix_user"), "-k", REGISTRATION_SECRET,
             "-u", localpart, "-p", user.password, "--admin" if admin else "--no-admin",
             self.base_url],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if result.returncode != 0:
            raise SynapseError(f"register_new_matrix_user {localpart}: {result.stderr[-1000:]}")
        return self.login(user)

    def login(self, user: User) -> User:
        data = self.api(
            "POST",
            "/_matrix/client/v3/login",
            json={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": user.localpart},
                "password": user.password,
                "initial_device_display_name": "anniversary-bot tests",
            },
        )
        user.access_token, user.device_id = data["access_token"], data["device_id"]
        return user

    def create_room(self, owner: User, members: list[User] = (), alias: str | None = None) -> str:
        """A private room made by ``owner``, with ``members`` invited and joined."""
        body: dict[str, Any] = {
            "preset": "private_chat",
            "name": alias or "anniversary-bot test room",
            "invite": [m.user_id for m in members],
        }
        if alias:
            body["room_alias_name"] = alias
        room_id = self.api("POST", "/_matrix/client/v3/createRoom", owner.access_token, body)[
            "room_id"
        ]
        for member in members:
            self.api("POST", f"/_matrix/client/v3/join/{quote(room_id)}", member.access_token, {})
        return room_id

    def override_ratelimit(
        self, admin: User, user: User, per_second: int, burst_count: int
    ) -> None:
        """Synapse's admin API: this user's own message rate (ints only; 0, 0 = unlimited)."""
        self.api(
            "POST",
            f"/_synapse/admin/v1/users/{quote(user.user_id)}/override_ratelimit",
            admin.access_token,
            {"messages_per_second": per_second, "burst_count": burst_count},
        )

    def room_events(self, room_id: str, token: str, limit: int = 1000) -> list[dict[str, Any]]:
        """The room's m.room.message events, oldest first (paged backwards from the end)."""
        events: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "dir": "b",
            "limit": 100,
            "filter": '{"types": ["m.room.message"]}',
        }
        while len(events) < limit:
            data = self.api(
                "GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/messages", token, params=params
            )
            events.extend(data.get("chunk", []))
            if not data.get("end") or not data.get("chunk"):
                break
            params["from"] = data["end"]
        return list(reversed(events))


@dataclass
class SynapseSession:
    """The shared server and its users: ``bot`` (an admin, the adapter's account), ``alice``
    and ``bob`` (members to mention or not), ``slow`` (a second bot whose message rate is
    overridden low, for the throttled test)."""

    server: Synapse
    bot: User
    alice: User
    bob: User
    slow: User
    setup_seconds: float = 0.0
    room: str = ""  # a room made at start, with the alias ROOM_ALIAS: the bot, alice and bob
    rooms: list[str] = field(default_factory=list)

    def new_room(self, alias: str | None = None, members: list[User] | None = None) -> str:
        """A fresh room for one test: the bot creates it, alice and bob join. Fresh rooms keep
        tests apart, since transaction ids are scoped to the room's send path."""
        room_id = self.server.create_room(
            self.bot, [self.alice, self.bob] if members is None else members, alias
        )
        self.rooms.append(room_id)
        return room_id


_shared: SynapseSession | None = None
_shared_error: BaseException | None = None


def synapse_venv() -> Path | None:
    value = os.environ.get(ENV_VAR)
    return Path(value).expanduser() if value else None


def shared_synapse() -> SynapseSession | None:
    """The process's Synapse, started on first use; None when ``ENV_VAR`` is not set.

    A start that fails raises (every time, not only the first): with the variable set the
    user asked for the real server, so a broken one must be loud, not skipped."""
    global _shared, _shared_error
    venv = synapse_venv()
    if venv is None:
        return None
    if _shared is not None:
        return _shared
    if _shared_error is not None:
        raise SynapseError(f"the test Synapse failed to start earlier: {_shared_error}")
    data_dir = Path(tempfile.mkdtemp(prefix="anniversary-bot-synapse-"))
    server = Synapse(venv, data_dir)
    try:
        server.start()
        began = time.monotonic()
        bot = server.register("botadmin", admin=True)
        alice = server.register("alice")
        bob = server.register("bob")
        slow = server.register("slowbot")
        server.override_ratelimit(bot, slow, per_second=1, burst_count=1)
        session = SynapseSession(server, bot, alice, bob, slow)
        session.room = session.new_room(alias=ROOM_ALIAS[1:].split(":")[0])
        session.setup_seconds = time.monotonic() - began
    except BaseException as error:
        _shared_error = error
        server.stop()
        raise
    _shared = session
    atexit.register(stop_shared)
    return session


def stop_shared() -> None:
    global _shared
    if _shared is not None:
        _shared.server.stop()
        if not os.environ.get("ANNIVERSARY_BOT_KEEP_SYNAPSE_DIR"):
            shutil.rmtree(_shared.server.data_dir, ignore_errors=True)
        _shared = None


if __name__ == "__main__":
    # a server to try things by hand: ANNIVERSARY_BOT_SYNAPSE_VENV=... python -m tests.synapse.fixture
    if synapse_venv() is None:
        raise SystemExit(SKIP_REASON)
    session = shared_synapse()
    assert session is not None
    print(f"Synapse {session.server.base_url} ready in {session.server.startup_seconds:.1f} s")
    print(f"room {session.room} ({ROOM_ALIAS})")
    for user in (session.bot, session.alice, session.bob, session.slow):
        print(f"{user.user_id}  password {user.password}  token {user.access_token}")
    try:
        session.server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_shared()
