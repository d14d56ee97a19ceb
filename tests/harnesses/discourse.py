"""A local fake Discourse and the adapter's harness for the contract suite (bot.testing), used
by tests/test_discourse.py, tests/test_poster_contract.py and bench/platforms.py.

The Discourse adapter against a local server that keeps Discourse's API contract: the
``Api-Key``/``Api-Username`` headers, ``POST /posts.json`` for topics and replies with the
validations Discourse applies (title and body lengths, category, unique ``external_id`` and
title, @mention limit, duplicate bodies, consecutive replies), 429 with ``extras.wait_seconds``,
``GET /t/external_id/{id}.json`` answered with a redirect, topic and post reads with
``include_raw``, and ``POST /uploads.json``. Messages are Discourse's own (config/locales/
server.en.yml).

The account the key posts as is a parameter (``account``): ``"staff"`` (an admin, exempt from
the mention, media, duplicate and consecutive-reply limits and from the review queue),
``"member"`` (trust level 1) or ``"tl0"`` (a new user: 2 mentions and 1 embedded image a post,
no tagging). Each rule below names where Discourse has it (paths in the discourse/discourse
repository, https://github.com/discourse/discourse):

- the API's authentication: ``Api-Key``/``Api-Username`` headers
  (``lib/auth/default_current_user_provider.rb``; https://docs.discourse.org/), a wrong pair
  answered 403 ``invalid_access``; ``GET /session/current.json`` answered 404 when the request
  is not logged in (``SessionController#current``);
- topics and posts: ``POST /posts.json`` (``PostsController#create``) with a topic's title
  length (``min_topic_title_length``, ``max_topic_title_length``: ``TopicTitleLengthValidator``),
  unique titles (``allow_duplicate_topic_titles`` off: ``app/models/topic.rb``), the category,
  ``external_id`` (``app/models/topic.rb``: at most 50 letters, digits, "_" or "-", unique), a
  post's length (``min_post_length``, ``max_post_length``: ``lib/validators/post_validator.rb``
  ``stripped_length``) and raw as ``PostCreator`` keeps it (``TextCleaner``: odd spaces made
  plain, trailing space cut); a refusal is 422 with ``errors``;
- consecutive replies: ``post_validator.rb`` ``force_edit_last_validator``
  (``max_consecutive_replies``, 3; staff and, since 2.2, the topic's author exempt);
- rate limits: 429 with ``extras.wait_seconds`` (``ApplicationController`` rescuing
  ``RateLimiter::LimitExceeded``) and ``Retry-After``;
- reading: ``GET /t/external_id/{id}.json`` answered with a redirect to the topic
  (``TopicsController#show_by_external_id``), ``GET /t/{id}.json`` with the first
  ``chunk_size`` (20) posts and the whole ``stream`` of ids, ``GET /t/{id}/posts.json`` with
  ``post_ids[]``, ``include_raw`` (``TopicsController#show``, ``#posts``);
- uploads: ``POST /uploads.json`` with ``type`` and ``synchronous`` (``UploadsController#create``;
  one upload per content, by its SHA-1);
- the review queue: ``lib/new_post_manager.rb`` (``post_needs_approval?``: staff skip it;
  ``approve_unless_trust_level``; a category's ``require_topic_approval`` /
  ``require_reply_approval``), answered by ``PostsController#create`` through
  ``NewPostResultSerializer`` as 200 with ``action: "enqueued"`` and no post; an approved post
  is created by ``app/models/reviewable_queued_post.rb`` from the queued payload, which does not
  carry ``external_id``;
- the duplicate check: ``lib/validators/post_validator.rb`` (``unique_post_validator``: skipped
  for staff, ``unique_posts_mins`` minutes, 5 by default, ``config/site_settings.yml``), and
  ``PostsController#create`` memoising an API request's answer 120 s (``DistributedMemoizer``);
- mentions and embedded media: ``post_validator.rb`` (``max_mention_validator``,
  ``max_embedded_media_validator``; staff exempt; trust level 0 uses
  ``newuser_max_mentions_per_post`` = 2 and ``newuser_max_embedded_media`` = 1);
- tags: ``lib/discourse_tagging.rb`` (``clean_tag``: lower-cased, spaces to dashes,
  ``TAGS_FILTER_REGEXP`` punctuation removed, cut to ``max_tag_length`` = 20;
  ``tags_for_saving``: nothing for an account that cannot tag, a tag that does not exist dropped
  unless the account may create tags, at most ``max_tags_per_topic`` = 5 kept), tagging by
  trust level (``tag_topic_allowed_groups``: trust level 1 and staff; ``create_tag_allowed_groups``:
  trust level 3 and staff), and ``GET /site.json`` (``can_tag_topics``, ``can_create_tag``);
- scoped API keys: ``app/models/api_key_scope.rb`` maps each scope to the actions it allows,
  and a scoped key is refused (403) anything else, ``/session/current.json`` included; before
  Discourse 3.1 ``topics:read`` did not include the external-id look-up (``external_id_scope``).

The fake's clock is ``now`` (seconds, moved by the tests): nothing waits for real time.
"""

from __future__ import annotations

import hashlib
import json
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


NOT_PERMITTED = "You are not permitted to view the requested resource."


# config/locales/server.en.yml tags.user_not_permitted (paraphrased: the adapter reads the
# status and what it asked, never these words)
TAGS_NOT_PERMITTED = "You are not permitted to tag this topic."


NOT_FOUND = "The requested URL or resource could not be found."


CONSECUTIVE = (
    "No more than {count} consecutive replies are allowed. Please edit your previous reply, "
    "or wait for someone to reply to you."
)


# app/models/api_key_scope.rb: the scope each endpoint the adapter uses needs; an endpoint in
# no scope (None) is refused to every scoped key
SCOPE_OF = {
    ("POST", "/posts.json"): "topics:write",
    ("POST", "/uploads.json"): "uploads:create",
    ("GET", "/session/current.json"): None,
    ("GET", "/site.json"): None,
    ("GET", "/tags.json"): "tags:list",
    ("GET", "topic"): "topics:read",
    ("GET", "external_id"): "topics:read",
    ("GET", "post"): "posts:list",
    ("GET", "user"): "users:show",
    ("GET", "category"): "categories:show",
    ("GET", "created-by"): "topics:read_lists",
}

# lib/discourse_tagging.rb TAGS_FILTER_REGEXP
TAGS_FILTER = re.compile(r"""[/?#\[\]@!$&'()*+,;=.%\\`^\s|{}"<>]+""")

ACCOUNTS = {  # the bot's account: (admin, trust level)
    "staff": (True, 4),
    "member": (False, 1),
    "tl0": (False, 0),
}


def clean_tag(tag: str, max_tag_length: int = 20) -> str:
    """DiscourseTagging.clean_tag (force_lowercase_tags on, the default)."""
    tag = re.sub(r"\s+", "-", tag.lower().strip())
    tag = re.sub(r"[^\w\-!-/:-@\[-`{-~]+", "", tag)
    tag = re.sub(r"-+", "-", TAGS_FILTER.sub("", tag))
    return tag[:max_tag_length]


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
        account: str | None = None,
        topic_owner_exempt: bool = True,  # Discourse since 2.2 (PR #6714)
        max_consecutive_replies: int = 3,
        min_title_length: int = 15,
        chunk_size: int = 20,
        approve_unless_trust_level: int = 0,
        require_topic_approval: bool = False,
        require_reply_approval: bool = False,
        scopes: set[str] | None = None,
        external_id_scope: bool = True,
        tags: tuple[str, ...] = ("on-this-day", "history"),
    ) -> None:
        self.account = account or ("staff" if staff else "member")
        admin, trust_level = ACCOUNTS[self.account]
        self.users = {
            BOT: {"id": 7, "username": BOT, "admin": admin, "moderator": False,
                  "trust_level": trust_level},
            "jane": {"id": 8, "username": "jane", "admin": False, "moderator": False,
                     "trust_level": 2},
        }  # fmt: skip
        self.categories = {CATEGORY: "Anniversaries"}
        self.min_title_length, self.max_title_length = min_title_length, 255
        self.min_post_length, self.max_post_length = 20, 32000
        self.max_mentions_per_post = 10
        self.newuser_max_mentions_per_post = 2
        self.newuser_max_embedded_media = 1
        self.unique_posts_mins = 5
        self.max_tags_per_topic, self.max_tag_length = 5, 20
        self.tag_topic_trust_level, self.create_tag_trust_level = 1, 3
        self.approve_unless_trust_level = approve_unless_trust_level
        self.require_topic_approval = require_topic_approval
        self.require_reply_approval = require_reply_approval
        # None: an all-actions key; else the key's scopes ("topics:write", ...)
        self.scopes = scopes
        self.external_id_scope = external_id_scope
        self.existing_tags = set(tags)
        self.max_consecutive_replies = max_consecutive_replies
        self.topic_owner_exempt = topic_owner_exempt
        self.chunk_size = chunk_size
        self.topics: dict[int, dict[str, Any]] = {}
        self.posts: dict[int, dict[str, Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self.pending: dict[int, dict[str, Any]] = {}  # the review queue
        # the API answers PostsController#create memoised: signature -> (time, answer)
        self.memo: dict[str, tuple[float, Any]] = {}
        # answers for the next POST /posts.json: (wait_seconds, send a Retry-After header)
        self.rate_limits: list[tuple[int, bool]] = []
        self.next_topic_id, self.next_post_id, self.next_pending_id = 100, 1000, 9000
        self.now = 0.0  # the forum's clock, in seconds: tests move it
        self.server = LocalServer(self._handle)

    @property
    def bot(self) -> dict[str, Any]:
        return self.users[BOT]

    def is_staff(self, user: dict[str, Any]) -> bool:
        return bool(user["admin"] or user["moderator"])

    def approve(self, pending_id: int) -> dict[str, Any]:
        """A moderator approves a queued post: ReviewableQueuedPost#perform_approve_post
        creates it from the queued payload, which has no ``external_id``."""
        queued = self.pending.pop(pending_id)
        user = self.users[queued["username"]]
        if queued["topic_id"] is None:
            topic = self._create_topic({**queued["data"], "external_id": None}, user)
        else:
            topic = self.topics[queued["topic_id"]]
        return self._create_post(topic, user["username"], queued["raw"])

    def reject(self, pending_id: int) -> None:
        """A moderator rejects a queued post: it is gone."""
        del self.pending[pending_id]

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
        if user is not None and not self._in_scope(request.method, path):
            return _error(403, NOT_PERMITTED, "invalid_access")
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
            return 200, {}, {"current_user": {**user, "staff": self.is_staff(user)}}
        if request.method == "GET" and path == "/site.json":
            # SiteSerializer: what the requesting user may do with tags
            staff = user is not None and self.is_staff(user)
            level = user["trust_level"] if user else -1
            site = {
                "can_tag_topics": user is not None and self.can_tag(user),
                "can_create_tag": staff or level >= self.create_tag_trust_level,
            }
            return 200, {}, site
        if request.method == "GET" and path == "/tags.json":
            tags = [{"id": t, "text": t, "name": t, "count": 0} for t in sorted(self.existing_tags)]
            return 200, {}, {"tags": tags}
        if match := re.fullmatch(r"/u/([^/]+)\.json", path):
            found = self.users.get(match.group(1).lower())
            if found is None:
                return _error(404, NOT_FOUND, "not_found")
            return 200, {}, {"user": dict(found)}
        if match := re.fullmatch(r"/topics/created-by/([^/]+)\.json", path):
            name = match.group(1).lower()
            mine = [t for t in self.topics.values() if t["username"].lower() == name]
            listed = [
                {"id": t["id"], "title": t["title"], "slug": t["slug"],
                 "category_id": t["category_id"]}
                for t in sorted(mine, key=lambda t: -t["id"])
            ]  # fmt: skip
            return 200, {}, {"topic_list": {"topics": listed}}
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

    def _in_scope(self, method: str, path: str) -> bool:
        """A scoped key may do only what its scopes allow (app/models/api_key_scope.rb)."""
        if self.scopes is None:
            return True
        kind = path
        if path.startswith("/t/external_id/"):
            if not self.external_id_scope:
                return False  # before Discourse 3.1: in no scope
            kind = "external_id"
        elif path.startswith("/t/"):
            kind = "topic"
        elif path.startswith("/posts/"):
            kind = "post"
        elif path.startswith("/u/"):
            kind = "user"
        elif path.startswith("/c/"):
            kind = "category"
        elif path.startswith("/topics/created-by/"):
            kind = "created-by"
        scope = SCOPE_OF.get((method, kind))
        return scope is not None and scope in self.scopes

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
        # PostsController#create memoises an API request's answer for 120 s: the same request
        # again within them gets the same answer, and nothing is created twice
        signature = hashlib.sha1(
            (user["username"] + "\0" + json.dumps(data, sort_keys=True)).encode()
        ).hexdigest()
        memoised = self.memo.get(signature)
        if memoised is not None and self.now - memoised[0] < 120:
            return memoised[1]
        answer = self._create_answer(data, user)
        self.memo[signature] = (self.now, answer)
        return answer

    def _create_answer(self, data: dict[str, Any], user: dict[str, Any]):
        raw = stored(str(data.get("raw") or ""))
        staff = self.is_staff(user)
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
        if topic is None and data.get("tags"):
            if not self.can_tag(user):
                # DiscourseTagging.tag_topic_by_names adds tags.user_not_permitted and
                # TopicCreator#setup_tags rolls the topic back (older versions dropped the tags)
                return _refused(TAGS_NOT_PERMITTED)
            data = {**data, "tags": self._tags_for_saving(data["tags"], user)}
        if self._needs_approval(user, topic):
            return 200, {}, self._enqueue(data, user, raw, topic)
        if topic is None:
            topic = self._create_topic(data, user)
        post = self._create_post(topic, user["username"], raw)
        return 200, {}, self._serialize(post, True)

    def _needs_approval(self, user: dict[str, Any], topic: dict[str, Any] | None) -> bool:
        """NewPostManager.post_needs_approval?: staff never; a trust level under
        approve_unless_trust_level; a category that requires approval of topics or replies."""
        if self.is_staff(user):
            return False
        if user["trust_level"] < self.approve_unless_trust_level:
            return True
        return self.require_topic_approval if topic is None else self.require_reply_approval

    def _enqueue(
        self, data: dict[str, Any], user: dict[str, Any], raw: str, topic: dict[str, Any] | None
    ) -> dict[str, Any]:
        """NewPostManager#enqueue, answered through NewPostResultSerializer: no post."""
        self.next_pending_id += 1
        self.pending[self.next_pending_id] = {
            "id": self.next_pending_id,
            "username": user["username"],
            "raw": raw,
            "topic_id": topic["id"] if topic else None,
            "data": data,
        }
        mine = [p for p in self.pending.values() if p["username"] == user["username"]]
        return {
            "action": "enqueued",
            "success": True,
            "pending_post": {"id": self.next_pending_id, "raw": raw},
            "pending_count": len(mine),
        }

    def can_tag(self, user: dict[str, Any]) -> bool:
        return self.is_staff(user) or user["trust_level"] >= self.tag_topic_trust_level

    def _tags_for_saving(self, tags: list[str], user: dict[str, Any]) -> list[str]:
        """DiscourseTagging.tags_for_saving: nothing for an account that cannot tag; existing
        tags, plus new ones cleaned if it may create tags; at most max_tags_per_topic."""
        staff, level = self.is_staff(user), user["trust_level"]
        names = [t for t in self.existing_tags if t in {x.lower() for x in tags}]
        if staff or level >= self.create_tag_trust_level:
            names += [clean_tag(t, self.max_tag_length) for t in tags if t.lower() not in names]
            names = list(dict.fromkeys(n for n in names if n))
            self.existing_tags.update(names)
        return names[: self.max_tags_per_topic]

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
            return []  # staff: no mention or media limit, no duplicate check
        errors = []
        mentioned = {m.lower() for m in MENTION.findall(raw)}
        if user["trust_level"] == 0:
            if len(mentioned) > self.newuser_max_mentions_per_post:
                errors.append(
                    "Sorry, new users can only mention "
                    f"{self.newuser_max_mentions_per_post} users in a post."
                )
            if raw.count("![") > self.newuser_max_embedded_media:
                errors.append(
                    "Sorry, new users can only put "
                    f"{self.newuser_max_embedded_media} embedded media items in a post."
                )
        elif len(mentioned) > self.max_mentions_per_post:
            errors.append(
                f"Sorry, you can only mention {self.max_mentions_per_post} users in a post."
            )
        window = self.unique_posts_mins * 60
        if any(
            p["username"] == user["username"] and p["raw"] == raw and self.now - p["at"] < window
            for p in self.posts.values()
        ):
            errors.append("Body is too similar to what you recently posted")
        return errors

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
            "at": self.now,
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
    """The contract suite's harness (bot.testing.Harness) for this adapter, posting as a
    staff account (what the README recommends)."""

    name = "discourse"
    can_read_back = True
    account = "staff"
    variant = "staff"

    def __init__(self, tmp_path: Path, capsys: Any) -> None:
        self.tmp_path, self.capsys = tmp_path, capsys
        # the contract suite titles a lead "Title": this forum's min_topic_title_length is 5
        self.forum = FakeDiscourse(account=self.account, min_title_length=5).__enter__()

    def settings(self) -> dict[str, Any]:
        return settings_for(self.forum)

    def received(self) -> list[str]:
        return self.forum.accepted()

    def close(self) -> None:
        self.forum.__exit__(None, None, None)


class DiscourseNewUserHarness(DiscourseHarness):
    """The same forum, the bot posting as a trust-level-0 account: no tagging, 2 mentions and 1
    image a post, and the duplicate check."""

    account = "tl0"
    variant = "tl0"
