"""``discourse``: each thread becomes a Discourse topic; its lead opens the topic and every later
post is a reply in it, through the forum's API (``Api-Key`` and ``Api-Username`` headers).

Exactly once. The lead is created with an ``external_id`` derived from the thread key
(``anniv-`` and 40 hex digits of its SHA-256: Discourse takes at most 50 characters of
``[A-Za-z0-9_-]`` and keeps it unique, case-insensitively). ``find`` for a lead asks
``GET /t/external_id/{id}.json``, which Discourse answers with a redirect to the topic; a second
topic with the same ``external_id`` is refused with 422, so even a lead sent twice makes one
topic: the refusal is answered by looking the topic up. A reply has no such id: ``find`` reads
the topic's posts with ``include_raw`` and looks for one by ``api_username`` whose raw text is
the body (compared the way Discourse stores raw: odd spaces made plain, trailing space cut).

Consecutive replies. A thread is a lead and several replies by the same account, and Discourse
refuses a reply from a user whose posts are already the last ``max_consecutive_replies`` (site
setting, default 3) of the topic: with the default, the lead and two replies are as many posts
in a row as such a user may make. Staff (admins, moderators) are exempt, and since Discourse
2.2 so is the topic's original poster, which the bot is for the topics it creates: on a current
forum the limit does not bite. Where it does (an older forum, a plugin that widens the rule, a
topic opened by someone else), the adapter recognises the refusal, from Discourse's message
("No more than 3 consecutive replies are allowed...") or from a 422 on a reply numbered past
``max_consecutive_replies``, and fails without retrying, telling the operator to post as a
staff ``api_username`` or to raise the site setting. A staff account is the better choice
anyway: staff are also exempt from the mention limit (``max_mentions_per_post``, 10) and from
the duplicate check (the same body twice within ``unique_posts_mins``).

Replies are looked up before they are sent. Discourse's duplicate check is no idempotency
key: it lasts ``unique_posts_mins`` (5 minutes by default), staff skip it, and an API answer is
memoised only 120 s. So a reply that this adapter did not just follow with its own previous
post (a later run, a retry) is first looked for in the topic (``find``), and sent only when it
is not there.

The review queue. A post by a non-staff account may be held for the forum's moderators (trust
level under ``approve_unless_trust_level``, a category that requires approval, a watched word):
Discourse answers 200 with ``action: "enqueued"`` and no post (lib/new_post_manager.rb). The
adapter returns it as ``held`` (the publish log records it so, and the thread's later posts wait
for it); ``find_held`` finds it once approved. An approved topic does not keep its
``external_id`` (app/models/reviewable_queued_post.rb creates it from the queued payload), so a
held lead is looked for among the account's own topics (``/topics/created-by``) by category,
title and raw; only a held lead, since another day's thread may have the same title and text.

The account. ``load_limits`` reads who the key posts as (``/session/current.json``, else
``/u/{username}.json`` for a scoped key that may not read the session) and what it may do with
tags (``/site.json``): a trust-level-0 account may mention 2 users and embed 1 image a post
(``newuser_max_mentions_per_post``, ``newuser_max_embedded_media``), and fitting moves the
other mentions to the next posts; an account that cannot tag sends no tags (Discourse refuses
the topic otherwise). ``check`` reports the trust level, staff, tagging and what a scoped key
may not do. Tags in the config are validated as Discourse keeps them (``clean_tag`` in
lib/discourse_tagging.rb: lower case, no punctuation, at most 20 characters; at most 5 a topic).

Images. Each image with a local ``file`` is uploaded (``POST /uploads.json``, ``type=composer``,
synchronously) and appended to the post as ``![caption](upload://...)``; an image with only a
``url`` is appended as ``![caption](url)``. Discourse keeps one upload per file content, so an
upload repeated by a retry costs nothing. Images that would take the post past ``max_length``
are left out, with a warning: the body, already fitted by the core, is never cut.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from bot.local_files import ImageFile, ImageFileError, read_image
from bot.posters.base import (
    Capabilities,
    HandleFormat,
    Outcome,
    OutgoingPost,
    Poster,
    PostError,
    Published,
    platform_rule,
)
from bot.secrets_filter import safe_host, shorten

if TYPE_CHECKING:
    from bot.http import PlatformHTTP

log = logging.getLogger("bot.posters.discourse")

EXTERNAL_ID_PREFIX = "anniv-"
# Discourse's Topic::EXTERNAL_ID_MAX_LENGTH, and the characters its validation takes
EXTERNAL_ID_MAX_LENGTH = 50
EXTERNAL_ID_PATTERN = re.compile(r"^[\w-]+$")
# Discourse's TextCleaner.normalize_whitespaces: these become a plain space in stored raw
_ODD_SPACES = re.compile("[\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
# where a topic lives: /t/{slug}/{id}, /t/{id}, optionally /{post_number} and .json
_TOPIC_PATH = re.compile(r"/t/(?:(\d*[^\d/][^/]*)/)?(\d+)(?:/\d+)?(?:\.json)?$")
# how many posts one GET /t/{id}/posts.json asks for (Discourse's own chunk size)
_CHUNK = 20
# config/site_settings.yml defaults: a tag's length and count, and a trust-level-0 account's
# mentions and embedded images per post
MAX_TAG_LENGTH = 20
MAX_TAGS_PER_TOPIC = 5
NEWUSER_MAX_MENTIONS = 2
NEWUSER_MAX_EMBEDDED_MEDIA = 1
# lib/discourse_tagging.rb TAGS_FILTER_REGEXP: what clean_tag removes from a tag
_TAG_PUNCTUATION = re.compile(r"""[/?#\[\]@!$&'()*+,;=.%\\`^\s|{}"<>]+""")
# how many of the account's topics of the same title are read when a lead is looked for
# without its external_id (an approved queued topic)
_CREATED_BY_CANDIDATES = 5


def clean_tag(tag: str) -> str:
    """The tag Discourse keeps of ``tag`` (DiscourseTagging.clean_tag with the default
    force_lowercase_tags and max_tag_length)."""
    tag = re.sub(r"\s+", "-", tag.lower().strip())
    tag = re.sub(r"-+", "-", _TAG_PUNCTUATION.sub("", tag))
    return tag[:MAX_TAG_LENGTH]


@dataclass(frozen=True)
class Account:
    """Who the API key posts as, as far as the forum tells (None: it would not say)."""

    username: str | None = None
    trust_level: int | None = None
    staff: bool | None = None
    can_tag: bool | None = None
    can_create_tag: bool | None = None
    session_refused: bool = False  # 403 on /session/current.json: a scoped key


def _base_url(value: str) -> str:
    split = urlsplit(value.strip())
    if split.scheme not in ("http", "https") or not split.netloc:
        raise ValueError(
            f"expected the forum's base URL, e.g. https://forum.example.org, got {value!r}"
        )
    if split.query or split.fragment:
        raise ValueError("expected the forum's base URL, without ?query or #fragment")
    # a subfolder install (https://example.org/forum) keeps its path
    return f"{split.scheme}://{split.netloc}{split.path.rstrip('/')}"


@cache
def _settings_model() -> type:
    # built on first use, so that importing the adapter (for its capabilities) does not
    # import pydantic
    from typing import Annotated

    from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

    Tag = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^\S+$")]

    class DiscourseSettings(BaseModel):
        model_config = ConfigDict(extra="forbid")

        url: str
        api_key: str = Field(min_length=1)
        api_username: str = Field(min_length=1, max_length=60, pattern=r"^\S+$")
        category: int = Field(ge=1)
        tags: list[Tag] = []

        @field_validator("url")
        @classmethod
        def _url(cls, value: str) -> str:
            return _base_url(value)

        @field_validator("tags")
        @classmethod
        def _tags(cls, value: list[str]) -> list[str]:
            # Discourse would change or drop a tag not written as it keeps tags, and refuses
            # more than max_tags_per_topic (lib/discourse_tagging.rb)
            for tag in value:
                if clean_tag(tag) != tag:
                    kept = clean_tag(tag)
                    raise ValueError(
                        f"{tag!r} is not a tag as Discourse keeps it (lower case, no spaces or "
                        f"punctuation, at most {MAX_TAG_LENGTH} characters): write {kept!r}"
                        if kept
                        else f"{tag!r} is not a tag: Discourse keeps nothing of it"
                    )
            if len(value) > MAX_TAGS_PER_TOPIC:
                raise ValueError(
                    f"{len(value)} tags: Discourse takes at most {MAX_TAGS_PER_TOPIC} a topic "
                    "(max_tags_per_topic)"
                )
            return value

    return DiscourseSettings


def __getattr__(name: str) -> Any:
    if name == "DiscourseSettings":
        return _settings_model()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def external_id(thread_key: str) -> str:
    """The topic's ``external_id``: the same for every attempt at the same thread."""
    digest = hashlib.sha256(thread_key.encode("utf-8")).hexdigest()[:40]
    value = EXTERNAL_ID_PREFIX + digest
    assert len(value) <= EXTERNAL_ID_MAX_LENGTH and EXTERNAL_ID_PATTERN.match(value)
    return value


def normalize_raw(text: str) -> str:
    """Raw text as Discourse stores it (PostCreator: NUL removed, odd spaces made plain,
    trailing whitespace cut), so what was sent compares equal to what is read back."""
    return _ODD_SPACES.sub(" ", text.replace("\x00", "")).rstrip()


class DiscoursePoster(Poster):
    name = "discourse"
    description = "posts each thread as a Discourse topic with replies, through the forum's API"
    platform = "discourse"
    # Discourse usernames: letters, digits, "_", ".", "-" (site setting max_username_length: 60)
    handle_format = HandleFormat(
        r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,59}", "a username such as jane_doe", "jane_doe"
    )
    formats = ("markdown",)
    default_format = "markdown"
    # Discourse's site-setting defaults: max_post_length, max_mentions_per_post,
    # min_post_length, min/max_topic_title_length; a forum may set others
    capabilities = Capabilities(
        max_length=32000,
        max_mentions=10,
        titles=True,
        replies=True,
        images=True,
        mention_syntax="@{handle}",
        min_length=20,
        title_length=(15, 255),
        # a title another topic has is refused ("Title has already been used") while the site
        # setting allow_duplicate_topic_titles is off, its default (Discourse's
        # config/site_settings.yml; the title's unique_among validation in app/models/topic.rb)
        unique_titles=True,
    )
    secret_settings = ("api_key",)
    can_find = True
    Settings = "bot.posters.discourse:DiscourseSettings"
    # Discourse's default max_consecutive_replies: a 422 on a reply numbered past it is read
    # as that refusal even when the message is in another language
    max_consecutive_replies: ClassVar[int] = 3
    # a topic's posts are long (32,000): a thread past this many is a document, not a thread
    max_posts_per_thread = 10

    @platform_rule
    def author(self, settings: dict[str, Any]) -> str:
        # a topic shows the account the API key posts as
        return str(settings.get("api_username") or "anniversary-bot")

    def __init__(self, destination: str, settings: dict[str, Any]) -> None:
        super().__init__(destination, settings)
        self.base = settings["url"]
        self.host = safe_host(self.base)  # for messages: never a user:password@ in the URL
        self.username = settings["api_username"]
        self.account: Account | None = None  # read once, by load_limits or the first lead
        self.max_images: int | None = None  # embedded images a post, where the account has a cap
        self._last_created: str | None = None  # the remote id of the post this instance made last

    @cached_property
    def http(self) -> PlatformHTTP:
        """Built when the adapter first sends or reads: a preview never imports requests."""
        from bot.http import PlatformHTTP

        return PlatformHTTP(
            "discourse",
            headers={
                "Api-Key": self.settings["api_key"],
                "Api-Username": self.username,
                "Accept": "application/json",
            },
        )

    # -- publishing --------------------------------------------------------------------------

    def publish(
        self, post: OutgoingPost, lead: Published | None, previous: Published | None
    ) -> Published:
        raw = self._raw(post)
        if post.is_lead:
            payload: dict[str, Any] = {
                "title": post.title or "",
                "raw": raw,
                "category": self.settings["category"],
                "external_id": external_id(post.thread_key),
            }
            tags = self._tags_to_send()
            if tags:
                payload["tags"] = tags
        else:
            topic_id = self._topic_id(post, lead)
            if previous is None or previous.remote_id != self._last_created:
                # not right after this instance's own previous post: a later run or a retry,
                # and the reply may be there already (Discourse's duplicate check is no key)
                existing = self._find_reply(topic_id, post.body, _after(previous))
                if existing is not None:
                    log.info(
                        "discourse: post %s was already on the forum: %s", post.key, existing.url
                    )
                    self._last_created = existing.remote_id
                    return existing
            payload = {"topic_id": topic_id, "raw": raw}
        try:
            data = self._json("POST", "/posts.json", json=payload)
        except PostError as error:
            if error.status != 422:
                raise
            # the post may already be there: a lead whose external_id is taken, or a reply
            # refused as a duplicate after an answer that was lost on the way back
            existing = self._find_quietly(post, lead)
            if existing is not None:
                log.info("discourse: post %s was already on the forum: %s", post.key, existing.url)
                return existing
            raise self._refusal(error, post) from None
        if data.get("action") == "enqueued":
            return self._held(data, post)
        published = self._published(data)
        self._last_created = published.remote_id
        return published

    def _held(self, data: dict[str, Any], post: OutgoingPost) -> Published:
        """Discourse queued the post for its moderators (NewPostManager#enqueue)."""
        pending = data.get("pending_post") or {}
        log.warning(
            "discourse (%s): post %s is held for the forum's moderators (review queue): "
            "@%s's posts need approval (trust level, category or watched words)",
            self.host,
            post.key,
            self.username,
        )
        return Published(remote_id=f"pending/{pending.get('id', '?')}", held=True)

    def _tags_to_send(self) -> list[str]:
        tags = list(self.settings.get("tags") or [])
        if not tags:
            return []
        account = self._account_quietly()
        if account.can_tag is False:
            log.warning(
                "discourse (%s): tags %s left out: @%s cannot tag topics (trust level %s), "
                "and Discourse would refuse the topic",
                self.host,
                ", ".join(tags),
                self.username,
                account.trust_level,
            )
            return []
        return tags

    def _raw(self, post: OutgoingPost) -> str:
        """The body and its images, each image line only while the post stays within the
        length limit."""
        raw = post.body
        limit = self.capabilities.max_length
        # an image with only a caption (the reference's own) is already in the text's
        # "Images:" list: there is nothing to upload or link
        images = [image for image in post.images if image.get("file") or image.get("url")]
        if self.max_images is not None and len(images) > self.max_images:
            log.warning(
                "discourse: post %s: %d image(s) left out: @%s may embed %d a post (trust "
                "level 0: newuser_max_embedded_media)",
                post.key,
                len(images) - self.max_images,
                self.username,
                self.max_images,
            )
            images = images[: self.max_images]
        for index, image in enumerate(images):
            caption = _caption(image.get("caption") or "")
            target = self._image_target(image)
            line = f"![{caption}]({target})"
            if limit is not None and len(raw) + 2 + len(line) > limit:
                log.warning(
                    "discourse: post %s: %d image(s) left out: the post would pass %d characters",
                    post.key,
                    len(images) - index,
                    limit,
                )
                break
            raw += "\n\n" + line
        return raw

    def _image_target(self, image: dict[str, Any]) -> str:
        file = image.get("file")
        reason = None
        if file:
            # checked again as it is read: a file swapped since import is not uploaded
            try:
                return self._upload(read_image(file))
            except ImageFileError as error:
                reason = error.reason
        if image.get("url"):
            if file:
                log.warning("discourse: image file %s %s: linking %s", file, reason, image["url"])
            return _markdown_url(image["url"])
        raise PostError(
            f"discourse: image file {file} {reason} and the image has no url",
            retryable=False,
        )

    def _upload(self, image: ImageFile) -> str:
        data = self._json(
            "POST",
            "/uploads.json",
            data={"type": "composer", "synchronous": "true"},
            files={"file": (image.name, image.content, image.kind.mime)},
        )
        short_url = data.get("short_url") or data.get("url")
        if not isinstance(short_url, str) or not short_url:
            raise PostError(f"discourse ({self.host}): the upload of {image.name} gave no URL")
        return short_url

    def _published(self, data: dict[str, Any]) -> Published:
        try:
            topic_id, number = int(data["topic_id"]), int(data["post_number"])
        except (KeyError, TypeError, ValueError):
            raise PostError(
                f"discourse ({self.host}): the post was sent but the answer has no topic_id "
                "and post_number: is url the forum's address?",
                retryable=False,
            ) from None
        return self._ref(topic_id, number, data.get("topic_slug"))

    def _ref(self, topic_id: int, number: int, slug: str | None) -> Published:
        url = f"{self.base}/t/{slug or 'topic'}/{topic_id}"
        return Published(
            remote_id=f"{topic_id}/{number}", url=url if number == 1 else f"{url}/{number}"
        )

    def _topic_id(self, post: OutgoingPost, lead: Published | None) -> int:
        if lead is not None:
            return _parse_remote_id(lead.remote_id)[0]
        # no lead given: the topic is still findable by the thread's external_id
        found = self._find_topic(post.thread_key)
        if found is None:
            raise PostError(
                f"discourse ({self.host}): the topic of thread {post.thread_key} was not found "
                "(its lead was never published, or the topic was deleted)",
                retryable=False,
            )
        return _parse_remote_id(found.remote_id)[0]

    # -- finding -----------------------------------------------------------------------------

    def find(self, post: OutgoingPost, lead: Published | None) -> Published | None:
        if post.is_lead:
            return self._find_topic(post.thread_key)
        if lead is not None:
            topic_id = _parse_remote_id(lead.remote_id)[0]
        else:
            found = self._find_topic(post.thread_key)
            if found is None:
                return None
            topic_id = _parse_remote_id(found.remote_id)[0]
        return self._find_reply(topic_id, post.body)

    def _find_quietly(self, post: OutgoingPost, lead: Published | None) -> Published | None:
        try:
            return self.find(post, lead)
        except PostError:
            return None  # the refusal being explained matters more than this look-up

    def _find_topic(self, thread_key: str) -> Published | None:
        path = f"/t/external_id/{external_id(thread_key)}.json"
        try:
            response = self._request("GET", path, follow=True)
        except PostError as error:
            if error.status == 404:
                return None
            raise
        if response.is_redirect:
            # read the topic from where Discourse sends us rather than following: the key is
            # only ever sent to the configured forum
            match = _TOPIC_PATH.search(urlsplit(response.headers.get("Location", "")).path)
            if match is None:
                raise PostError(
                    f"discourse ({self.host}): unexpected answer to the external_id look-up "
                    f"(redirect to {response.headers.get('Location')!r})",
                    retryable=False,
                )
            return self._ref(int(match.group(2)), 1, match.group(1))
        data = _body(response)
        if not isinstance(data, dict) or "id" not in data:
            raise PostError(f"discourse ({self.host}): the external_id look-up gave no topic")
        return self._ref(int(data["id"]), 1, data.get("slug"))

    def find_held(self, post: OutgoingPost, lead: Published | None) -> Published | None:
        found = self.find(post, lead)
        if found is None and post.is_lead:
            # a queued topic, approved since, has no external_id
            found = self._find_own_topic(post)
        return found

    def _find_own_topic(self, post: OutgoingPost) -> Published | None:
        """The lead among the account's own topics (``/topics/created-by``): in the configured
        category, of the same title (as Discourse may have prettified it), whose first post's
        raw is the body."""
        try:
            data = self._json("GET", f"/topics/created-by/{self.username}.json")
        except PostError as error:
            if error.status in (403, 404):
                return None  # a scoped key without topics:read_lists, or no such list
            raise
        wanted = _title_key(post.title or "")
        candidates = [
            topic
            for topic in (data.get("topic_list") or {}).get("topics") or []
            if topic.get("category_id") == self.settings["category"]
            and _title_key(str(topic.get("title") or "")) == wanted
        ]
        for topic in candidates[:_CREATED_BY_CANDIDATES]:
            found = self._find_post(int(topic["id"]), post.body, first=True)
            if found is not None:
                return found
        return None

    def _find_reply(self, topic_id: int, body: str, after: int = 1) -> Published | None:
        """The reply in the topic, numbered past ``after``, by the API user whose raw is
        ``body``."""
        return self._find_post(topic_id, body, after=after)

    def _find_post(
        self, topic_id: int, body: str, *, after: int = 1, first: bool = False
    ) -> Published | None:
        """The post in the topic by the API user whose raw is ``body`` (and the image lines
        this adapter appends), the first post if ``first``, else one numbered past ``after``:
        the first page of the topic, then the rest of its posts in chunks, stopping at the
        first match."""
        wanted = normalize_raw(body)
        try:
            topic = self._json("GET", f"/t/{topic_id}.json", params={"include_raw": "true"})
        except PostError as error:
            if error.status in (404, 410):
                return None
            raise
        stream = topic.get("post_stream") or {}
        slug = topic.get("slug")
        posts = list(stream.get("posts") or [])
        loaded = {p.get("id") for p in posts}
        pending = [i for i in stream.get("stream") or [] if i not in loaded]
        while True:
            for item in posts:
                number = int(item.get("post_number") or 0)
                if (number == 1 if first else number > after) and self._is_match(item, wanted):
                    return self._ref(topic_id, number, slug)
            if first:
                return None
            if not pending:
                return None
            batch, pending = pending[:_CHUNK], pending[_CHUNK:]
            more = self._json(
                "GET",
                f"/t/{topic_id}/posts.json",
                params={"post_ids[]": batch, "include_raw": "true"},
            )
            posts = list((more.get("post_stream") or {}).get("posts") or [])

    def _is_match(self, item: dict[str, Any], wanted: str) -> bool:
        if str(item.get("username", "")).lower() != self.username.lower():
            return False
        raw = item.get("raw")
        if raw is None:  # a serializer without raw: ask for the post itself
            raw = self._json("GET", f"/posts/{item['id']}.json").get("raw") or ""
        raw = normalize_raw(raw)
        return raw == wanted or raw.startswith(wanted + "\n\n![")

    # -- the account -------------------------------------------------------------------------

    def load_limits(self) -> None:
        """The account's own limits: a trust-level-0 account may mention fewer users and embed
        fewer images a post (staff and trust level 1 keep the site defaults)."""
        account = self._account_quietly()
        if account.trust_level == 0 and not account.staff:
            self.capabilities = dataclasses.replace(
                type(self).capabilities, max_mentions=NEWUSER_MAX_MENTIONS
            )
            self.max_images = NEWUSER_MAX_EMBEDDED_MEDIA

    def _account_quietly(self) -> Account:
        """The account, read once; what the forum would not tell stays None (the defaults
        apply)."""
        if self.account is None:
            try:
                self.account = self._read_account()
            except PostError as error:
                log.info("discourse (%s): cannot read the account: %s", self.host, error)
                self.account = Account()
        return self.account

    def _read_account(self) -> Account:
        """Who the key posts as (``/session/current.json``; a scoped key may not read it, then
        the public ``/u/{username}.json``) and what it may do with tags (``/site.json``)."""
        session_refused = False
        try:
            user = self._json("GET", "/session/current.json").get("current_user") or {}
        except PostError as error:
            if error.status == 404:
                user = {}  # Discourse's answer when the request is not logged in
            elif error.status == 403 and not _bad_credentials(error):
                session_refused = True
                user = self._optional_json(f"/u/{self.username}.json").get("user") or {}
            else:
                raise
        site = self._optional_json("/site.json")
        level = user.get("trust_level")
        staff = None
        if user:
            staff = bool(user.get("admin") or user.get("moderator") or user.get("staff"))
        return Account(
            username=user.get("username"),
            trust_level=level if isinstance(level, int) else None,
            staff=staff,
            can_tag=_flag(site.get("can_tag_topics")),
            can_create_tag=_flag(site.get("can_create_tag")),
            session_refused=session_refused,
        )

    def _optional_json(self, path: str) -> dict[str, Any]:
        """A read a scoped key may be refused (403) or an older forum may lack (404): {}."""
        try:
            return self._json("GET", path)
        except PostError as error:
            if error.status in (403, 404):
                return {}
            raise

    # -- checking ----------------------------------------------------------------------------

    def check(self) -> str:
        account = self._read_account()
        self.account = account
        if not account.username:
            raise PostError(
                f"discourse ({self.host}): the API key is not logged in as anyone: check "
                "api_key and api_username",
                retryable=False,
            )
        category = self.settings["category"]
        try:
            found = self._json("GET", f"/c/{category}/show.json").get("category") or {}
        except PostError as error:
            if error.status not in (403, 404):
                raise
            raise PostError(
                f"discourse ({self.host}): logged in as @{account.username}, but category "
                f"{category} does not exist or this user cannot see it",
                retryable=False,
            ) from None
        lines = [
            f"logged in to {self.host} as @{account.username} ({self._role(account)}); "
            f"category {category} ({found.get('name', '?')}) is visible",
            "tags: " + self._tagging_report(account),
            "key: " + self._scope_report(account),
        ]
        return "\n  ".join(lines)  # config check prints it under the destination

    def _role(self, account: Account) -> str:
        level = (
            "trust level ?" if account.trust_level is None else f"trust level {account.trust_level}"
        )
        if account.staff:
            return (
                f"staff, {level}: exempt from the consecutive-replies, mention and duplicate "
                "limits and from the review queue"
            )
        if account.trust_level == 0:
            return (
                f"not staff, {level}: at most {NEWUSER_MAX_MENTIONS} mentions and "
                f"{NEWUSER_MAX_EMBEDDED_MEDIA} image a post (later mentions move to the next "
                "posts, extra images are left out); its posts may be held for the moderators"
            )
        return (
            f"not staff, {level}: at most {type(self).capabilities.max_mentions} mentions a "
            "post, replies in a row unless the bot opened the topic; its posts may be held "
            "for the moderators where a category requires approval"
        )

    def _tagging_report(self, account: Account) -> str:
        tags = list(self.settings.get("tags") or [])
        if not tags:
            return "none configured"
        if account.can_tag is False:
            return (
                f"{', '.join(tags)} will be left out: @{account.username} cannot tag topics "
                "(raise its trust level or the site's tag_topic_allowed_groups)"
            )
        if account.can_create_tag:
            return f"{', '.join(tags)} (this account may create tags)"
        existing = self._optional_json("/tags.json").get("tags")
        if not isinstance(existing, list):
            return f"{', '.join(tags)} (whether they exist could not be read)"
        names = {str(t.get("name") or t.get("id") or "").lower() for t in existing}
        missing = [tag for tag in tags if tag not in names]
        if not missing:
            return f"{', '.join(tags)} exist"
        return (
            f"{', '.join(missing)} do(es) not exist on the forum and @{account.username} may "
            "not create tags: Discourse drops them (create them, or remove them from tags)"
        )

    def _scope_report(self, account: Account) -> str:
        problems = []
        if account.session_refused:
            problems.append(
                "it is a scoped key (/session/current.json is refused): the account was read "
                "from its public profile"
            )
        try:
            self._find_topic("config-check")
        except PostError as error:
            if error.status != 403:
                raise
            problems.append(
                "it may not look topics up by external_id (topics:read on Discourse before "
                "3.1): a lead whose answer is lost cannot be found and is left unconfirmed; use "
                "a key with all actions or a newer forum"
            )
        return (
            "; ".join(problems)
            if problems
            else "reads the session and looks topics up by external_id"
        )

    def close(self) -> None:
        if "http" in self.__dict__:  # built: the adapter sent or read something
            self.http.close()

    # -- HTTP --------------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, follow: bool = False, **kwargs: Any):
        """One request through ``PlatformHTTP``; a refusal comes back as a PostError that says
        what Discourse said, and a redirect is an error unless ``follow`` (a POST redirected
        would be replayed as a GET by requests)."""
        try:
            response = self.http.request(method, self.base + path, allow_redirects=False, **kwargs)
        except PostError as error:
            raise self._explain(error, error.response) from None
        if response.is_redirect and not follow:
            location = response.headers.get("Location", "")
            target = urlsplit(location)
            raise PostError(
                f"discourse ({self.host}) redirects {path} to {target.scheme}://"
                f"{safe_host(location)}{target.path}: set url to the forum's own address",
                retryable=False,
                status=response.status_code,
            )
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        data = _body(self._request(method, path, **kwargs))
        if not isinstance(data, dict):
            raise PostError(
                f"discourse ({self.host}): {path} did not answer with JSON: is url the forum's "
                "address?",
                # a POST answered 2xx unreadably may have created the post
                outcome=Outcome.NOT_SENT if method == "GET" else Outcome.UNKNOWN,
            )
        return data

    def _explain(self, error: PostError, response: Any) -> PostError:
        status = error.status
        if response is None or status is None:
            return error  # no answer (connection, timeout, a long Retry-After): as it was
        body = _body(response)
        data: dict[str, Any] = body if isinstance(body, dict) else {}
        said = _errors(data)
        where = f"discourse ({self.host})"
        if status == 429:
            given = data.get("extras")
            extras: dict[str, Any] = given if isinstance(given, dict) else {}
            wait = _number(extras.get("wait_seconds"))
            wait = wait if wait is not None else error.retry_after
            after = f": wait {wait:.0f} s" if wait is not None else ""
            return PostError(
                f"{where} is rate limiting{after}" + (f" ({said})" if said else ""),
                retryable=True,
                status=status,
                retry_after=wait,
            )
        if (
            status == 401
            or data.get("error_type") == "not_logged_in"
            or (status == 403 and "API username or key" in said)
        ):
            return PostError(
                f"{where} refused the credentials ({status}): check api_key and api_username "
                "(the key must be valid for that user, or for all users)",
                retryable=False,
                status=status,
            )
        if status == 403:
            return PostError(
                f"{where}: @{self.username} may not do this ({status}"
                + (f": {said}" if said else "")
                + f"): can it post in category {self.settings['category']}?",
                retryable=False,
                status=status,
            )
        if status in (413, 422):
            return PostError(
                f"{where} refused it ({status})" + (f": {said}" if said else ""),
                retryable=False,
                status=status,
            )
        if said:
            return PostError(
                f"{where} answered {status}: {said}",
                retryable=error.retryable,
                status=status,
                retry_after=error.retry_after,
            )
        return error

    def _refusal(self, error: PostError, post: OutgoingPost) -> PostError:
        """A 422 for a post, with what the operator can do about the usual causes."""
        message = str(error)
        lowered = message.lower()
        if "consecutive repl" in lowered:
            named = re.search(r"(\d+) consecutive repl", lowered)
            limit = int(named.group(1)) if named else self.max_consecutive_replies
            return PostError(
                f"{message}. Discourse refused post {post.number} of the thread because "
                f"@{self.username} already made the last {limit} posts of the topic (site "
                "setting max_consecutive_replies). Set api_username to a staff (admin or "
                "moderator) account, which is exempt, or raise max_consecutive_replies above "
                "the number of posts in a thread",
                retryable=False,
                status=error.status,
            )
        hints = []
        if "mention" in lowered:
            hints.append("staff accounts are exempt from the mention limit")
        if "similar to what you recently posted" in lowered:
            hints.append("Discourse refuses the same body twice within unique_posts_mins")
        if post.is_lead and "external" in lowered:
            hints.append(
                f"a topic with external_id {external_id(post.thread_key)} exists but cannot be "
                "seen: deleted, or in a category this user cannot read"
            )
        if post.is_lead and "title has already been used" in lowered:
            hints.append("another topic has this title: allow_duplicate_topic_titles is off")
        if not hints and not post.is_lead and post.number > self.max_consecutive_replies:
            # the message may be in the forum's language: say what it may be, not what it is
            hints.append(
                "if this is Discourse's limit on consecutive replies by one user, "
                f"max_consecutive_replies, {self.max_consecutive_replies} by default: use a staff "
                "api_username or raise that site setting"
            )
        if hints:
            message += " (" + "; ".join(hints) + ")"
        return PostError(message, retryable=False, status=error.status)


def _bad_credentials(error: PostError) -> bool:
    return "refused the credentials" in str(error)


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _after(previous: Published | None) -> int:
    """The post number a reply comes after (1 when unknown: a post marked sent by hand)."""
    try:
        return _parse_remote_id(previous.remote_id)[1] if previous is not None else 1
    except PostError:
        return 1


def _title_key(title: str) -> str:
    """A title compared as Discourse may have prettified it (case, spaces, punctuation)."""
    return re.sub(r"[\W_]+", "", title.lower())


def _body(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _errors(data: dict[str, Any]) -> str:
    value = data.get("errors") or data.get("error") or data.get("message")
    if isinstance(value, list):
        value = "; ".join(str(x) for x in value)
    return shorten(str(value), 300) if value else ""  # it may quote the request


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _parse_remote_id(remote_id: str) -> tuple[int, int]:
    topic, _, number = remote_id.partition("/")
    try:
        return int(topic), int(number or 1)
    except ValueError:
        raise PostError(
            f"discourse: {remote_id!r} is not a Discourse post reference (topic_id/post_number)",
            retryable=False,
        ) from None


def _caption(text: str) -> str:
    """Alt text that cannot end the image markup early (in Discourse's ``![alt|WxH](...)`` a
    ``|`` starts the size, and brackets would close the alt text), neutralised like every
    other text from event data: Markdown escaped, ``@`` unable to mention anyone."""
    from bot.neutralise import escape_markdown, neutralise_at

    text = " ".join(text.split())
    text = text.replace("[", "(").replace("]", ")").replace("|", "/")
    return neutralise_at(escape_markdown(text))


def _markdown_url(url: str) -> str:
    # the one URL sanitiser: a ")" or "]" cannot end the image's link, "@" cannot mention
    from bot.urls import safe_url

    return safe_url(url)
