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

Images. Each image with a local ``file`` is uploaded (``POST /uploads.json``, ``type=composer``,
synchronously) and appended to the post as ``![caption](upload://...)``; an image with only a
``url`` is appended as ``![caption](url)``. Discourse keeps one upload per file content, so an
upload repeated by a retry costs nothing. Images that would take the post past ``max_length``
are left out, with a warning: the body, already fitted by the core, is never cut.
"""

from __future__ import annotations

import hashlib
import logging
import re
from functools import cache
from typing import Any, ClassVar
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

    @platform_rule
    def author(self, settings: dict[str, Any]) -> str:
        # a topic shows the account the API key posts as
        return str(settings.get("api_username") or "anniversary-bot")

    def __init__(self, destination: str, settings: dict[str, Any]) -> None:
        super().__init__(destination, settings)
        from bot.http import PlatformHTTP

        self.base = settings["url"]
        self.host = safe_host(self.base)  # for messages: never a user:password@ in the URL
        self.username = settings["api_username"]
        self.http = PlatformHTTP(
            "discourse",
            headers={
                "Api-Key": settings["api_key"],
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
            if self.settings.get("tags"):
                payload["tags"] = list(self.settings["tags"])
        else:
            payload = {"topic_id": self._topic_id(post, lead), "raw": raw}
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
        return self._published(data)

    def _raw(self, post: OutgoingPost) -> str:
        """The body and its images, each image line only while the post stays within the
        length limit."""
        raw = post.body
        limit = self.capabilities.max_length
        # an image with only a caption (the reference's own) is already in the text's
        # "Images:" list: there is nothing to upload or link
        images = [image for image in post.images if image.get("file") or image.get("url")]
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

    def _find_reply(self, topic_id: int, body: str) -> Published | None:
        """The post in the topic by the API user whose raw is ``body`` (and the image lines
        this adapter appends): the first page of the topic, then the rest of its posts in
        chunks, stopping at the first match."""
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
                if self._is_match(item, wanted):
                    return self._ref(topic_id, int(item["post_number"]), slug)
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
        if int(item.get("post_number") or 0) <= 1:
            return False
        if str(item.get("username", "")).lower() != self.username.lower():
            return False
        raw = item.get("raw")
        if raw is None:  # a serializer without raw: ask for the post itself
            raw = self._json("GET", f"/posts/{item['id']}.json").get("raw") or ""
        raw = normalize_raw(raw)
        return raw == wanted or raw.startswith(wanted + "\n\n![")

    # -- checking ----------------------------------------------------------------------------

    def check(self) -> str:
        try:
            data = self._json("GET", "/session/current.json")
        except PostError as error:
            if error.status != 404:
                raise
            data = {}  # Discourse's answer when the request is not logged in
        user = data.get("current_user") or {}
        if not user.get("username"):
            raise PostError(
                f"discourse ({self.host}): the API key is not logged in as anyone: check "
                "api_key and api_username",
                retryable=False,
            )
        staff = bool(user.get("admin") or user.get("moderator") or user.get("staff"))
        role = "admin" if user.get("admin") else "moderator" if staff else "not staff"
        category = self.settings["category"]
        try:
            found = self._json("GET", f"/c/{category}/show.json").get("category") or {}
        except PostError as error:
            if error.status not in (403, 404):
                raise
            raise PostError(
                f"discourse ({self.host}): logged in as @{user['username']}, but category "
                f"{category} does not exist or this user cannot see it",
                retryable=False,
            ) from None
        limits = (
            "exempt from the consecutive-replies, mention and duplicate limits"
            if staff
            else f"the forum's limits apply: at most {self.capabilities.max_mentions} mentions a "
            "post, and replies in a row unless the bot opened the topic"
        )
        return (
            f"logged in to {self.host} as @{user['username']} ({role}: {limits}); "
            f"category {category} ({found.get('name', '?')}) is visible"
        )

    def close(self) -> None:
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
