"""Real HTTP servers on 127.0.0.1 for adapter tests: they check the requests a platform's API
expects and keep what they accepted, so a test can count copies."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class Recorded:
    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.time = time.monotonic()

    def json(self) -> Any:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that went away before its answer (a test's timeout, an answer that never
        # came) is what some tests do on purpose; socketserver would print the traceback to
        # the standard error of whatever test runs at that moment (handler threads outlive
        # their test), where a test counting error lines reads it
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class LocalServer:
    """Runs ``handle(request) -> (status, headers, body)`` for every request, in a thread."""

    def __init__(self, handle: Callable[[Recorded], tuple[int, dict[str, str], Any]]) -> None:
        self.handle = handle
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each small answer waits ~40 ms

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Recorded(self.command, self.path, dict(self.headers), body)
                with server.lock:
                    server.requests.append(request)
                    answer = server.handle(request)
                if answer == "drop":  # the connection breaks after the body was read
                    self.close_connection = True
                    return
                status, headers, payload = answer
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Type" not in headers:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakePlatform:
    """A platform's fake: subclasses set ``self.server = LocalServer(self._handle)`` and
    implement ``_handle``; this gives them the context manager, ``url`` and ``requests``."""

    server: LocalServer

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests


class WebhookReceiver(FakePlatform):
    """A webhook receiver as a careful user would write one: it checks the signature, keeps
    each post by its key, and answers lookups. ``script`` scripts answers: a list of
    (status, headers) used, in order, for the next POSTs before it starts accepting."""

    def __init__(self, secret: str, path: str = "/hook/s3cr3t-path-token") -> None:
        self.secret = secret
        self.path = path
        self.accepted: dict[str, list[dict]] = {}
        self.script: list[tuple[int, dict[str, str]]] = []
        self.server = LocalServer(self._handle)

    @property
    def url(self) -> str:
        return self.server.url + self.path

    @property
    def lookup_url(self) -> str:
        return self.server.url + "/lookup"

    def copies(self) -> dict[str, int]:
        return {key: len(posts) for key, posts in self.accepted.items()}

    def _handle(self, request: Recorded):
        split = urlsplit(request.path)
        if request.method == "GET" and split.path == "/lookup":
            key = parse_qs(split.query).get("key", [""])[0]
            if key in self.accepted:
                return 200, {}, {"id": f"msg-{key}", "url": f"{self.server.url}/m/{key}"}
            return 404, {}, {"error": "no such post"}
        if request.method != "POST" or split.path != self.path:
            return 404, {}, {"error": "not found"}
        timestamp = request.headers.get("X-Anniversary-Bot-Timestamp", "")
        expected = (
            "sha256="
            + hmac.new(
                self.secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
            ).hexdigest()
        )
        if not hmac.compare_digest(
            expected, request.headers.get("X-Anniversary-Bot-Signature", "")
        ):
            return 401, {}, {"error": "bad signature"}
        if self.script:
            status, headers = self.script.pop(0)
            return status, headers, {"error": f"scripted {status}"}
        payload = request.json()
        assert payload["key"] == request.headers["X-Anniversary-Bot-Key"]
        self.accepted.setdefault(payload["key"], []).append(payload)
        return (
            200,
            {},
            {"id": f"msg-{payload['key']}", "url": f"{self.server.url}/m/{payload['key']}"},
        )
