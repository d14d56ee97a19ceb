"""The Discourse adapter against a local server that keeps Discourse's API contract: the
``Api-Key``/``Api-Username`` headers, ``POST /posts.json`` for topics and replies with the
validations Discourse applies (title and body lengths, category, unique ``external_id`` and
title, @mention limit, duplicate bodies, consecutive replies), 429 with ``extras.wait_seconds``,
``GET /t/external_id/{id}.json`` answered with a redirect, topic and post reads with
``include_raw``, and ``POST /uploads.json``. Messages are Discourse's own (config/locales/
server.en.yml)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.errors import ConfigError
from bot.mentions import Member
from bot.posters.base import OutgoingPost, PostError, Published
from bot.posters.discourse import DiscoursePoster, external_id
from tests.harness import Harness
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


# -- helpers -------------------------------------------------------------------------------


@pytest.fixture
def forum():
    with FakeDiscourse() as fake:
        yield fake


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


def make_poster(fake: FakeDiscourse, tmp_path: Path, **overrides: Any) -> DiscoursePoster:
    settings = DiscoursePoster.validate_settings(settings_for(fake, **overrides), "test", tmp_path)
    poster = DiscoursePoster("forum", settings)
    # retries back off for real: keep them short in tests
    poster.http.session.get_adapter("http://").max_retries.backoff_factor = 0.01
    return poster


THREAD = "forum/1969-07-20-apollo-11/2026-07-20"
TITLE = "57 years ago: Apollo 11 lands on the Moon"


def post(number: int, body: str | None = None, **fields: Any) -> OutgoingPost:
    values: dict[str, Any] = {
        "key": f"{THREAD}/{number}",
        "thread_key": THREAD,
        "number": number,
        "body": body if body is not None else f"Part {number} of the Apollo 11 thread, in full.",
        "format": "markdown",
        "event_id": "1969-07-20-apollo-11",
        "day": dt.date(2026, 7, 20),
        "title": TITLE if number == 1 else None,
    }
    values.update(fields)
    return OutgoingPost(**values)


def publish_thread(poster: DiscoursePoster, count: int) -> list[Published]:
    published: list[Published] = []
    for number in range(1, count + 1):
        lead = published[0] if published else None
        previous = published[-1] if published else None
        published.append(poster.publish(post(number), lead, previous))
    return published


# -- settings --------------------------------------------------------------------------------


def test_settings_are_validated_and_the_key_is_masked(forum, tmp_path):
    settings = DiscoursePoster.validate_settings(
        settings_for(forum, url=forum.url + "/"), "test", tmp_path
    )
    assert settings["url"] == forum.url  # no trailing slash: paths are appended to it
    assert settings["tags"] == ["on-this-day"]
    assert API_KEY not in repr(settings)
    assert DiscoursePoster.secret_settings == ("api_key",)
    with pytest.raises(ConfigError, match=r"^test\.category: "):
        DiscoursePoster.validate_settings(settings_for(forum, category="general"), "test", tmp_path)
    with pytest.raises(ConfigError, match=r"^test\.url: expected the forum's base URL"):
        DiscoursePoster.validate_settings(
            settings_for(forum, url="forum.example.org"), "test", tmp_path
        )
    values = settings_for(forum)
    del values["api_username"]
    with pytest.raises(ConfigError, match=r"^test\.api_username: required key"):
        DiscoursePoster.validate_settings(values, "test", tmp_path)
    with pytest.raises(ConfigError, match=r"^test\.token: unknown key for discourse"):
        DiscoursePoster.validate_settings({**settings_for(forum), "token": "x"}, "test", tmp_path)
    subfolder = DiscoursePoster.validate_settings(
        settings_for(forum, url="https://example.org/forum/"), "test", tmp_path
    )
    assert subfolder["url"] == "https://example.org/forum"


def test_importing_the_adapter_does_not_import_pydantic():
    code = "import sys, bot.posters.discourse; print('pydantic' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_tags_are_single_words(forum, tmp_path):
    with pytest.raises(ConfigError, match=r"^test\.tags\.0: "):
        DiscoursePoster.validate_settings(
            settings_for(forum, tags=["on this day"]), "test", tmp_path
        )


def test_declared_contract():
    caps = DiscoursePoster.capabilities
    assert (caps.max_length, caps.max_mentions, caps.min_length) == (32000, 10, 20)
    assert caps.title_length == (15, 255) and caps.mention_syntax == "@{handle}"
    assert caps.titles and caps.replies and caps.images
    assert DiscoursePoster.formats == ("markdown",) and DiscoursePoster.default_format == "markdown"
    assert DiscoursePoster.platform == "discourse" and DiscoursePoster.can_find
    assert DiscoursePoster.max_consecutive_replies == 3


def test_external_id_is_deterministic_and_fits_discourse():
    value = external_id(THREAD)
    assert value == external_id(THREAD)
    assert value != external_id(THREAD.replace("2026", "2027"))
    assert len(value) <= 50 and re.fullmatch(r"[\w-]+", value)  # Topic::EXTERNAL_ID_MAX_LENGTH
    assert len(external_id("x" * 500)) == len(value)


# -- publishing ------------------------------------------------------------------------------


def test_a_three_part_thread_is_one_topic_and_two_replies_in_it(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    lead, second, third = publish_thread(poster, 3)

    assert len(forum.topics) == 1
    topic = next(iter(forum.topics.values()))
    assert [forum.posts[i]["post_number"] for i in topic["post_ids"]] == [1, 2, 3]
    assert forum.accepted() == [post(n).body for n in (1, 2, 3)]
    assert topic["title"] == TITLE and topic["tags"] == ["on-this-day"]
    assert topic["category_id"] == CATEGORY and topic["username"] == BOT

    posts = forum.calls("POST", "/posts.json")
    assert len(posts) == 3 and len(forum.requests) == 3
    assert posts[0].json() == {
        "title": TITLE,
        "raw": post(1).body,
        "category": CATEGORY,
        "tags": ["on-this-day"],
        "external_id": external_id(THREAD),
    }
    assert posts[1].json() == {"topic_id": topic["id"], "raw": post(2).body}
    assert posts[2].json() == {"topic_id": topic["id"], "raw": post(3).body}
    for request in posts:
        assert _header(request, "Api-Key") == API_KEY
        assert _header(request, "Api-Username") == BOT

    base = f"{forum.url}/t/57-years-ago-apollo-11-lands-on-the-moon/{topic['id']}"
    assert lead == Published(remote_id=f"{topic['id']}/1", url=base)
    assert second == Published(remote_id=f"{topic['id']}/2", url=f"{base}/2")
    assert third == Published(remote_id=f"{topic['id']}/3", url=f"{base}/3")
    poster.close()


def test_without_tags_no_tags_are_sent(forum, tmp_path):
    poster = make_poster(forum, tmp_path, tags=[])
    poster.publish(post(1), None, None)
    assert "tags" not in forum.calls("POST", "/posts.json")[0].json()


def test_a_reply_without_its_lead_finds_the_topic_by_external_id(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    lead = poster.publish(post(1), None, None)
    reply = poster.publish(post(2), None, None)
    assert reply.remote_id == lead.remote_id.replace("/1", "/2")
    assert len(forum.calls("GET", "/t/external_id/")) == 1


def test_a_reply_whose_topic_was_never_created_fails_without_posting(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    with pytest.raises(PostError, match="topic of thread .* was not found") as caught:
        poster.publish(post(2), None, None)
    assert caught.value.retryable is False
    assert forum.calls("POST", "/posts.json") == []


# -- finding and exactly once ----------------------------------------------------------------


def test_a_crash_between_create_and_log_finds_the_topic_instead_of_a_second(forum, tmp_path):
    first = make_poster(forum, tmp_path)
    lead = first.publish(post(1), None, None)
    reply = first.publish(post(2), lead, lead)
    first.close()  # the process dies before the publish log records either

    again = make_poster(forum, tmp_path)  # the next run reconciles
    assert again.find(post(1), None) == lead
    assert again.find(post(2), lead) == reply
    assert len(forum.topics) == 1 and len(forum.posts) == 2
    assert len(forum.calls("POST", "/posts.json")) == 2
    # one look-up by external_id, answered with Discourse's redirect, which is read, not
    # followed; then one read of the topic for the reply
    topic_id = int(lead.remote_id.split("/")[0])
    reads = [urlsplit(r.path).path for r in forum.requests if r.method == "GET"]
    assert reads == [f"/t/external_id/{external_id(THREAD)}.json", f"/t/{topic_id}.json"]
    assert all(_header(r, "Api-Key") == API_KEY for r in forum.requests)


def test_sending_the_lead_again_makes_no_second_topic(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    lead = poster.publish(post(1), None, None)
    # Discourse refuses the second topic with the same external_id; the adapter finds the first
    assert poster.publish(post(1), None, None) == lead
    assert len(forum.topics) == 1 and len(forum.posts) == 1
    assert len(forum.calls("POST", "/posts.json")) == 2


def test_a_reply_sent_again_after_a_lost_answer_is_not_posted_twice(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    lead = poster.publish(post(1), None, None)
    reply = poster.publish(post(2), lead, lead)
    # the same body again: Discourse's duplicate check refuses it, and the post is found
    assert poster.publish(post(2), lead, lead) == reply
    assert len(forum.posts) == 2


def test_find_returns_none_for_an_unknown_key(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    assert poster.find(post(1), None) is None
    assert len(forum.requests) == 1
    lead = poster.publish(post(1), None, None)
    assert poster.find(post(2), lead) is None
    assert poster.find(post(2), None) is None  # topic found by external_id, reply not in it
    # a reply by someone else with the very same text is not the bot's
    forum.add_post(int(lead.remote_id.split("/")[0]), "jane", post(2).body)
    assert poster.find(post(2), lead) is None


def test_find_compares_raw_the_way_discourse_stores_it(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    body = "A reply with a\u00a0non-breaking space and a trailing newline.\n"
    lead = poster.publish(post(1), None, None)
    reply = poster.publish(post(2, body), lead, lead)
    assert forum.accepted()[-1] != body  # Discourse changed it
    assert poster.find(post(2, body), lead) == reply


def test_find_reads_past_the_first_page_of_a_long_topic(tmp_path):
    with FakeDiscourse(chunk_size=2) as forum:
        poster = make_poster(forum, tmp_path)
        lead = poster.publish(post(1), None, None)
        topic_id = int(lead.remote_id.split("/")[0])
        for n in range(4):
            forum.add_post(topic_id, "jane", f"A member's reply number {n} to the thread.")
        reply = poster.publish(post(2), lead, lead)
        assert reply.remote_id == f"{topic_id}/6"
        assert poster.find(post(2), lead) == reply
        pages = forum.calls("GET", f"/t/{topic_id}/posts.json")
        assert len(pages) == 1
        assert parse_qs(urlsplit(pages[0].path).query)["post_ids[]"] == [
            str(i) for i in forum.topics[topic_id]["post_ids"][2:]
        ]


# -- refusals and rate limits ----------------------------------------------------------------


def test_a_429_with_retry_after_is_waited_out_and_retried(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    forum.rate_limits = [(1, True)]
    lead = poster.publish(post(1), None, None)
    posts = forum.calls("POST", "/posts.json")
    assert len(posts) == 2 and posts[1].time - posts[0].time >= 0.9
    assert len(forum.topics) == 1 and lead.remote_id.endswith("/1")


def test_a_429_gives_discourses_wait_seconds_as_retry_after(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    forum.rate_limits = [(42, False)] * 5  # no Retry-After header: only the body says it
    with pytest.raises(PostError) as caught:
        poster.publish(post(1), None, None)
    assert caught.value.retryable is True and caught.value.status == 429
    assert caught.value.retry_after == 42
    assert "rate limiting: wait 42 s" in str(caught.value)
    assert len(forum.calls("POST", "/posts.json")) == 5  # the first try and 4 retries
    assert forum.topics == {}


def test_a_long_429_is_not_slept_through(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    forum.rate_limits = [(600, True)]
    with pytest.raises(PostError) as caught:
        poster.publish(post(1), None, None)
    assert caught.value.retryable is True and caught.value.retry_after == 600
    assert len(forum.calls("POST", "/posts.json")) == 1


def test_a_422_is_refused_with_discourses_message(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    poster.publish(post(1), None, None)
    other_day = post(1, key="forum/x/2027-07-20/1", thread_key="forum/x/2027-07-20")
    with pytest.raises(PostError) as caught:
        poster.publish(other_day, None, None)
    error = caught.value
    assert error.retryable is False and error.status == 422
    assert "Title has already been used" in str(error)
    assert "allow_duplicate_topic_titles" in str(error)
    assert len(forum.topics) == 1
    with pytest.raises(PostError, match=r"Title is too short \(minimum is 15 characters\)"):
        poster.publish(post(1, title="Too short", thread_key="forum/y/2026-07-20"), None, None)


def test_too_many_mentions_are_refused_for_a_member_but_not_for_staff(tmp_path):
    names = [f"member{n}" for n in range(11)]
    body = "Thanks to " + " ".join(f"@{n}" for n in names) + " for the photos."
    mentions = tuple(Member(n, n.title(), handles={"discourse": n}) for n in names)
    with FakeDiscourse() as forum:
        poster = make_poster(forum, tmp_path)
        with pytest.raises(PostError, match="only mention 10 users.*staff accounts are exempt"):
            poster.publish(post(1, body, mentions=mentions), None, None)
        assert forum.posts == {}
    with FakeDiscourse(staff=True) as forum:
        make_poster(forum, tmp_path).publish(post(1, body, mentions=mentions), None, None)
        assert forum.accepted() == [body]


def test_the_consecutive_replies_refusal_says_what_to_do(tmp_path):
    # a forum where the topic's author is not exempt (before Discourse 2.2, or a plugin)
    with FakeDiscourse(topic_owner_exempt=False) as forum:
        poster = make_poster(forum, tmp_path)
        lead, second, third = publish_thread(poster, 3)
        with pytest.raises(PostError) as caught:
            poster.publish(post(4), lead, third)
        error = caught.value
        assert error.retryable is False and error.status == 422
        message = str(error)
        assert "No more than 3 consecutive replies are allowed" in message
        assert "staff (admin or moderator) account" in message
        assert "raise max_consecutive_replies" in message
        assert API_KEY not in message
        assert len(forum.posts) == 3
        # 4 POSTs, and the look-up that checked the refused reply was not there already
        assert len(forum.calls("POST", "/posts.json")) == 4


def test_the_topic_author_and_staff_are_exempt_from_consecutive_replies(tmp_path):
    with FakeDiscourse() as forum:  # current Discourse: the bot opened the topic
        publish_thread(make_poster(forum, tmp_path), 6)
        assert len(forum.posts) == 6
    with FakeDiscourse(staff=True, topic_owner_exempt=False) as forum:
        publish_thread(make_poster(forum, tmp_path), 6)
        assert len(forum.posts) == 6


def test_a_refused_reply_past_the_limit_gets_the_hint_in_any_language(tmp_path):
    with FakeDiscourse(topic_owner_exempt=False) as forum:
        poster = make_poster(forum, tmp_path)
        lead, _, third = publish_thread(poster, 3)
        forum.max_consecutive_replies = 0  # let the reply through the limit...
        forum.min_post_length = 500  # ...to a refusal in words the adapter does not parse
        with pytest.raises(PostError) as caught:
            poster.publish(post(4), lead, third)
        assert "Body is too short" in str(caught.value)
        assert "if this is Discourse's limit on consecutive replies" in str(caught.value)


def test_wrong_credentials_are_named_and_the_key_never_shown(forum, tmp_path):
    poster = make_poster(forum, tmp_path, api_key="not-the-key-0000")
    with pytest.raises(PostError) as caught:
        poster.publish(post(1), None, None)
    error = caught.value
    assert error.retryable is False and error.status == 403
    assert "check api_key and api_username" in str(error)
    assert "not-the-key-0000" not in str(error) and API_KEY not in str(error)
    assert len(forum.requests) == 1 and forum.topics == {}
    unknown = make_poster(forum, tmp_path, api_username="nobody")
    with pytest.raises(PostError, match="refused the credentials"):
        unknown.check()


def test_a_401_is_a_credentials_error_too(tmp_path):
    def handle(request: Recorded):
        return 401, {}, {"errors": ["unauthorized"]}

    with LocalServer(handle) as server:
        settings = DiscoursePoster.validate_settings(
            {"url": server.url, "api_key": API_KEY, "api_username": BOT, "category": 1},
            "test",
            tmp_path,
        )
        poster = DiscoursePoster("forum", settings)
        with pytest.raises(PostError, match=r"refused the credentials \(401\)") as caught:
            poster.publish(post(1), None, None)
        assert caught.value.retryable is False


def test_a_redirected_post_is_not_replayed_as_a_get(tmp_path):
    def handle(request: Recorded):
        return 301, {"Location": "https://forum.example.org" + request.path}, b""

    with LocalServer(handle) as server:
        settings = DiscoursePoster.validate_settings(
            {"url": server.url, "api_key": API_KEY, "api_username": BOT, "category": 1},
            "test",
            tmp_path,
        )
        poster = DiscoursePoster("forum", settings)
        with pytest.raises(PostError, match=r"redirects /posts.json to https://forum.example.org"):
            poster.publish(post(1), None, None)
        assert [(r.method, r.path) for r in server.requests] == [("POST", "/posts.json")]


# -- images ----------------------------------------------------------------------------------


def test_images_are_uploaded_and_linked(forum, tmp_path):
    photo = tmp_path / "eagle.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"lunar module" * 10)
    images = (
        {"caption": "The Eagle [LM-5] | on the Moon", "url": None, "file": str(photo)},
        {"caption": "Aldrin", "url": "https://example.org/aldrin (1969).jpg", "file": None},
    )
    poster = make_poster(forum, tmp_path)
    lead = poster.publish(post(1, images=images), None, None)

    uploads = forum.calls("POST", "/uploads.json")
    assert len(uploads) == 1
    assert _header(uploads[0], "Api-Key") == API_KEY
    short_url = next(iter(forum.uploads.values()))["short_url"]
    assert forum.accepted() == [
        post(1).body
        + f"\n\n![The Eagle (LM-5) / on the Moon]({short_url})"
        + "\n\n![Aldrin](https://example.org/aldrin%20%281969%29.jpg)"
    ]
    # a lost answer: the same images again find the same post
    assert poster.find(post(1, images=images), None) == lead
    reply = poster.publish(post(2, images=images), lead, lead)
    assert poster.find(post(2, images=images), lead) == reply
    assert len(forum.uploads) == 1  # one upload per file content


def test_a_missing_image_file_falls_back_to_its_url_or_fails(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    gone = str(tmp_path / "gone.png")
    linked = ({"caption": "Gone", "url": "https://example.org/gone.png", "file": gone},)
    poster.publish(post(1, images=linked), None, None)
    assert forum.accepted()[0].endswith("\n\n![Gone](https://example.org/gone.png)")
    lost = ({"caption": "Lost", "url": None, "file": gone},)
    with pytest.raises(PostError, match="gone.png not found") as caught:
        poster.publish(post(1, images=lost, thread_key="forum/z/2026-07-20"), None, None)
    assert caught.value.retryable is False
    assert forum.calls("POST", "/uploads.json") == []


def test_images_that_would_pass_the_length_limit_are_left_out(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    body = "x" * (32000 - 40)
    images = (
        {"caption": "One", "url": "https://example.org/1.png", "file": None},
        {"caption": "Two", "url": "https://example.org/2.png", "file": None},
    )
    poster.publish(post(1, body, images=images), None, None)
    assert forum.accepted() == [body + "\n\n![One](https://example.org/1.png)"]


# -- check -----------------------------------------------------------------------------------


def test_check_says_who_it_is_logged_in_as(tmp_path):
    with FakeDiscourse() as forum:
        report = make_poster(forum, tmp_path).check()
        assert f"logged in to 127.0.0.1:{urlsplit(forum.url).port} as @{BOT} (not staff" in report
        assert "category 5 (Anniversaries) is visible" in report
        assert [urlsplit(r.path).path for r in forum.requests] == [
            "/session/current.json",
            "/c/5/show.json",
        ]
        with pytest.raises(PostError, match="category 99 does not exist"):
            make_poster(forum, tmp_path, category=99).check()
    with FakeDiscourse(staff=True) as forum:
        assert f"as @{BOT} (admin: exempt from" in make_poster(forum, tmp_path).check()
    assert forum.posts == {}


# -- the contract suite ----------------------------------------------------------------------


class DiscourseHarness(Harness):
    """The contract suite's harness (tests/harness.py) for this adapter."""

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


def test_the_harness_reads_back_what_the_forum_kept(tmp_path):
    harness = DiscourseHarness(tmp_path, None)
    try:
        settings = DiscoursePoster.validate_settings(harness.settings(), "test", tmp_path)
        poster = DiscoursePoster("contract", settings)
        publish_thread(poster, 2)
        assert harness.received() == [post(1).body, post(2).body]
        assert json.loads(harness.forum.calls("POST", "/posts.json")[0].body)["raw"] == post(1).body
    finally:
        harness.close()
