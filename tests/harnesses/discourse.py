"""A local fake Discourse and the adapter's harness for the contract suite (bot.testing), used
by tests/test_discourse.py, tests/test_poster_contract.py and bench/platforms.py.

The Discourse adapter against a local server that keeps Discourse's API contract: the
``Api-Key``/``Api-Username`` headers, ``POST /posts.json`` for topics and replies with the
validations Discourse applies (title and body lengths, category, unique ``external_id`` and
title, @mention limit, duplicate bodies, consecutive replies), 429 with ``extras.wait_seconds``,
``GET /t/external_id/{id}.json`` answered with a redirect, topic and post reads with
``include_raw``, and ``POST /uploads.json``. Messages are Discourse's own (config/locales/
server.en.yml).
"""

from __future__ import annotations

import hashlib
import re
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.testing import Harness
from tests.servers import FakePlatform, LocalServer, Recorded

API_KEY = "discourse-api-key-0123456789abcdef0123456789abcdef"


BOT = "anniversary-bot"


CATEGORY = 5


ODD_SPACES = re.compile("[\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")


MENTION = re.compile(r"(?<![\w@`])@([A-Za-z0-9_][\w.-]*)")


INVALID_CREDENTIALS = (
    "You are not permitted to view the requested resource. The API username or key is invalid."
)


NOT_LOGGED_IN = "You need to be logged in to do that."


NOT_FOUND = "The requested URL or resource could not be found."


CONSECUTIVE = (
    "No more than {count} consecutive replies are allowed. Please edit your previous reply, "
    "or wait for someone to reply to you."
)


def stored(raw: str) -> str:
    """What Discourse's PostCreator keeps of a raw text."""
    return ODD_SPACES.sub(" ", raw.replace("\x00", "")).rstrip()


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "topic"


class FakeDiscourse(FakePlatform):
    """A Discourse forum as far as this adapter uses it. Site settings are attributes."""

    def __init__(
        self,
        *,
        staff: bool = False,
        topic_owner_exempt: bool = True,  # Discourse since 2.2 (PR #6714)
        max_consecutive_replies: int = 3,
        min_title_length: int = 15,
        chunk_size: int = 20,
    ) -> None:
        self.users = {
            BOT: {"id": 7, "username": BOT, "admin": staff, "moderator": False},
            "jane": {"id": 8, "username": "jane", "admin": False, "moderator": False},
        }
        self.categories = {CATEGORY: "Anniversaries"}
        self.min_title_length, self.max_title_length = min_title_length, 255
        self.min_post_length, self.max_post_length = 20, 32000
        self.max_mentions_per_post = 10
        self.max_consecutive_replies = max_consecutive_replies
        self.topic_owner_exempt = topic_owner_exempt
        self.chunk_size = chunk_size
        self.topics: dict[int, dict[str, Any]] = {}
        self.posts: dict[int, dict[str, Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        # answers for the next POST /posts.json: (wait_seconds, send a Retry-After header)
        self.rate_limits: list[tuple[int, bool]] = []
        self.next_topic_id, self.next_post_id = 100, 1000
        self.server = LocalServer(self._handle)

    def calls(self, method: str, path_prefix: str) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if r.method == method and urlsplit(r.path).path.startswith(path_prefix)
        ]

    def accepted(self) -> list[str]:
        """Raw of every post the forum kept, in the order it kept them."""
        return [p["raw"] for p in sorted(self.posts.values(), key=lambda p: p["id"])]

    def add_post(self, topic_id: int, username: str, raw: str) -> dict[str, Any]:
        """A post by someone else, as if made in the forum's web interface."""
        return self._create_post(self.topics[topic_id], username, raw)

    # -- the API -----------------------------------------------------------------------------

    def _handle(self, request: Recorded):
        split = urlsplit(request.path)
        path, query = split.path, parse_qs(split.query)
        user, refusal = self._authenticate(request)
        if refusal:
            return refusal
        if request.method == "POST" and path == "/posts.json":
            if user is None:
                return _error(403, NOT_LOGGED_IN, "not_logged_in")
            return self._create(request, user)
        if request.method == "POST" and path == "/uploads.json":
            if user is None:
                return _error(403, NOT_LOGGED_IN, "not_logged_in")
            return self._upload(request)
        if request.method == "GET" and path == "/session/current.json":
            if user is None:
                return 404, {}, b""
            return 200, {}, {"current_user": dict(user)}
        if request.method != "GET":
            return _error(404, NOT_FOUND, "not_found")
        include_raw = "include_raw" in query
        if match := re.fullmatch(r"/t/external_id/([^/]+)\.json", path):
            wanted = match.group(1).lower()
            topic = next(
                (t for t in self.topics.values() if (t["external_id"] or "").lower() == wanted),
                None,
            )
            if topic is None:
                return _error(404, NOT_FOUND, "not_found")
            location = f"{self.url}/t/{topic['slug']}/{topic['id']}.json"
            if include_raw:
                location += "?include_raw=true"
            return 301, {"Location": location}, b""
        if match := re.fullmatch(r"/t/(?:[^/]+/)?(\d+)\.json", path):
            topic = self.topics.get(int(match.group(1)))
            if topic is None:
                return _error(404, NOT_FOUND, "not_found")
            return 200, {}, self._topic_view(topic, include_raw)
        if match := re.fullmatch(r"/t/(\d+)/posts\.json", path):
            topic = self.topics.get(int(match.group(1)))
            if topic is None:
                return _error(404, NOT_FOUND, "not_found")
            ids = [int(i) for i in query.get("post_ids[]", [])]
            posts = [self._serialize(self.posts[i], include_raw) for i in ids if i in self.posts]
            return 200, {}, {"post_stream": {"posts": posts}}
        if match := re.fullmatch(r"/posts/(\d+)\.json", path):
            post = self.posts.get(int(match.group(1)))
            if post is None:
                return _error(404, NOT_FOUND, "not_found")
            return 200, {}, self._serialize(post, True)
        if match := re.fullmatch(r"/c/(\d+)/show\.json", path):
            name = self.categories.get(int(match.group(1)))
            if name is None:
                return _error(404, NOT_FOUND, "not_found")
            return 200, {}, {"category": {"id": int(match.group(1)), "name": name}}
        return _error(404, NOT_FOUND, "not_found")

    def _authenticate(self, request: Recorded):
        key, username = _header(request, "Api-Key"), _header(request, "Api-Username")
        if key is None and username is None:
            return None, None  # anonymous: may read public topics
        if key != API_KEY or (username or "").lower() not in self.users:
            return None, _error(403, INVALID_CREDENTIALS, "invalid_access")
        return self.users[username.lower()], None

    def _create(self, request: Recorded, user: dict[str, Any]):
        if self.rate_limits:
            wait, with_header = self.rate_limits.pop(0)
            headers = {"Retry-After": str(wait)} if with_header else {}
            return (
                429,
                headers,
                {
                    "errors": [
                        "You’ve performed this action too many times. Please wait "
                        f"{wait} seconds before trying again."
                    ],
                    "error_type": "rate_limit",
                    "extras": {"wait_seconds": wait, "time_left": f"{wait} seconds"},
                },
            )
        if not _header(request, "Content-Type", "").startswith("application/json"):
            return _error(400, "param is missing or the value is empty: raw", "invalid_parameters")
        data = request.json()
        raw = stored(str(data.get("raw") or ""))
        staff = user["admin"] or user["moderator"]
        topic_id = data.get("topic_id")
        if topic_id is None:
            topic, errors = None, self._topic_errors(data)
        else:
            topic = self.topics.get(int(topic_id))
            if topic is None:
                return _refused(
                    "Something has gone wrong. Perhaps this topic was closed or deleted while "
                    "you were looking at it?"
                )
            errors = []
        errors += self._body_errors(raw, user, staff)
        if topic is not None and not errors and not staff:
            errors += self._consecutive_errors(topic, user)
        if errors:
            return _refused(*errors)
        if topic is None:
            topic = self._create_topic(data, user)
        return 200, {}, self._serialize(self._create_post(topic, user["username"], raw), True)

    def _topic_errors(self, data: dict[str, Any]) -> list[str]:
        errors = []
        title = " ".join(str(data.get("title") or "").split())
        if len(title) < self.min_title_length:
            errors.append(f"Title is too short (minimum is {self.min_title_length} characters)")
        elif len(title) > self.max_title_length:
            errors.append(f"Title is too long (maximum is {self.max_title_length} characters)")
        elif any(t["title"].lower() == title.lower() for t in self.topics.values()):
            errors.append("Title has already been used")
        if data.get("category") not in self.categories:
            errors.append("Category can't be blank")
        eid = data.get("external_id")
        if eid is not None:
            if len(eid) > 50:
                errors.append("External is too long (maximum is 50 characters)")
            elif not re.fullmatch(r"[\w-]+", eid):
                errors.append("External is invalid")
            elif any((t["external_id"] or "").lower() == eid.lower() for t in self.topics.values()):
                errors.append("External has already been taken")
        tags = data.get("tags", [])
        if not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
            errors.append("Tags are invalid")
        return errors

    def _body_errors(self, raw: str, user: dict[str, Any], staff: bool) -> list[str]:
        length = len(raw.strip())
        if length < self.min_post_length:
            return [f"Body is too short (minimum is {self.min_post_length} characters)"]
        if length > self.max_post_length:
            return [f"Body is limited to {self.max_post_length} characters; you entered {length}."]
        if staff:
            return []  # staff: no mention limit, no duplicate check
        mentioned = {m.lower() for m in MENTION.findall(raw)}
        if len(mentioned) > self.max_mentions_per_post:
            return [f"Sorry, you can only mention {self.max_mentions_per_post} users in a post."]
        if any(p["username"] == user["username"] and p["raw"] == raw for p in self.posts.values()):
            return ["Body is too similar to what you recently posted"]
        return []

    def _consecutive_errors(self, topic: dict[str, Any], user: dict[str, Any]) -> list[str]:
        """PostValidator#force_edit_last_validator."""
        limit = self.max_consecutive_replies
        if limit == 0:
            return []
        if self.topic_owner_exempt and topic["username"] == user["username"]:
            return []
        last = [self.posts[i] for i in topic["post_ids"]][-limit:]
        if sum(p["username"] == user["username"] for p in last) < limit:
            return []
        return [CONSECUTIVE.format(count=limit)]

    def _create_topic(self, data: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
        self.next_topic_id += 1
        title = " ".join(str(data["title"]).split())
        topic = {
            "id": self.next_topic_id,
            "title": title,
            "slug": slugify(title),
            "category_id": data["category"],
            "tags": list(data.get("tags", [])),
            "external_id": data.get("external_id"),
            "username": user["username"],
            "post_ids": [],
        }
        self.topics[topic["id"]] = topic
        return topic

    def _create_post(self, topic: dict[str, Any], username: str, raw: str) -> dict[str, Any]:
        self.next_post_id += 1
        post = {
            "id": self.next_post_id,
            "topic_id": topic["id"],
            "post_number": len(topic["post_ids"]) + 1,
            "username": username,
            "raw": raw,
        }
        self.posts[post["id"]] = post
        topic["post_ids"].append(post["id"])
        return post

    def _serialize(self, post: dict[str, Any], include_raw: bool) -> dict[str, Any]:
        topic = self.topics[post["topic_id"]]
        data = {
            "id": post["id"],
            "topic_id": topic["id"],
            "topic_slug": topic["slug"],
            "post_number": post["post_number"],
            "username": post["username"],
            "cooked": f"<p>{post['raw']}</p>",
        }
        if include_raw:
            data["raw"] = post["raw"]
        return data

    def _topic_view(self, topic: dict[str, Any], include_raw: bool) -> dict[str, Any]:
        ids = topic["post_ids"]
        return {
            "id": topic["id"],
            "title": topic["title"],
            "slug": topic["slug"],
            "category_id": topic["category_id"],
            "tags": topic["tags"],
            "posts_count": len(ids),
            "post_stream": {
                "posts": [
                    self._serialize(self.posts[i], include_raw) for i in ids[: self.chunk_size]
                ],
                "stream": list(ids),
            },
        }

    def _upload(self, request: Recorded):
        content_type = _header(request, "Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            return _refused("You must provide a file to upload")
        message = BytesParser(policy=policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.body
        )
        fields: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename():
                fields[name] = (part.get_filename(), part.get_payload(decode=True))
            else:
                fields[name] = part.get_payload(decode=True).decode()
        if fields.get("type") not in ("composer", "avatar", "profile_background"):
            return _refused("Invalid upload type")
        if "file" not in fields or not isinstance(fields["file"], tuple):
            return _refused("You must provide a file to upload")
        if fields.get("synchronous") != "true":
            return 200, {}, {"success": "OK"}  # queued: no upload to link to yet
        filename, content = fields["file"]
        sha1 = hashlib.sha1(content).hexdigest()
        extension = Path(filename).suffix.lstrip(".").lower()
        upload = self.uploads.setdefault(
            sha1,
            {
                "id": 500 + len(self.uploads),
                "url": f"/uploads/default/original/1X/{sha1}.{extension}",
                "original_filename": filename,
                "filesize": len(content),
                "extension": extension,
                "short_url": f"upload://{sha1[:27]}.{extension}",
            },
        )
        return 200, {}, upload


def _header(request: Recorded, name: str, default: str | None = None) -> str | None:
    for key, value in request.headers.items():
        if key.lower() == name.lower():
            return value
    return default


def _error(status: int, message: str, error_type: str):
    return status, {}, {"errors": [message], "error_type": error_type}


def _refused(*errors: str):
    return 422, {}, {"action": "create_post", "errors": list(errors)}


def settings_for(fake: FakeDiscourse, **overrides: Any) -> dict[str, Any]:
    values = {
        "url": fake.url,
        "api_key": API_KEY,
        "api_username": BOT,
        "category": CATEGORY,
        "tags": ["on-this-day"],
    }
    values.update(overrides)
    return values


class DiscourseHarness(Harness):
    """The contract suite's harness (bot.testing.Harness) for this adapter."""

    name = "discourse"
    can_read_back = True

    def __init__(self, tmp_path: Path, capsys: Any) -> None:
        self.tmp_path, self.capsys = tmp_path, capsys
        # the contract suite titles a lead "Title": this forum's min_topic_title_length is 5
        self.forum = FakeDiscourse(min_title_length=5).__enter__()

    def settings(self) -> dict[str, Any]:
        return settings_for(self.forum)

    def received(self) -> list[str]:
        return self.forum.accepted()

    def close(self) -> None:
        self.forum.__exit__(None, None, None)
