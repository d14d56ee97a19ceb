"""The reference event's thread fitted for each platform, and the time to post it to the
local servers the tests use (a real Synapse for Matrix when ANNIVERSARY_BOT_SYNAPSE_VENV is
set; otherwise the tests' fake homeserver).

    python bench/platforms.py

For each platform, with its default ``max_posts_per_thread`` and then (Mastodon, Discord, Slack)
with no cap, the whole excerpt split into replies: posts after fitting, the largest post against the limit (counted as the
platform counts), the mentions per post against the cap, and the seconds to post the thread
through the publish log. Floor: the same thread written to the file outbox in the same run.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REFERENCE = "1928-01-10-the-soviet-union-orders-the-exile-of-leon-trotsky"
DAY = dt.date(2026, 1, 10)


def main() -> None:
    os.environ.setdefault("ANNIVERSARY_BOT_HOME", tempfile.mkdtemp())
    from bot.app import open_store
    from bot.config import Config, Destination
    from bot.config.channel import Channel
    from bot.events.mentions import MentionDirectory
    from bot.posters import poster_class
    from bot.publishing.log import publish_thread
    from bot.store import Store
    from bot.threads.fitting import fit_for
    from bot.threads.render import render_thread

    # the local fake platforms the tests post to, each with its harness (bot.testing.Harness)
    from tests.harnesses.discord import DiscordHarness
    from tests.harnesses.discourse import DiscourseHarness
    from tests.harnesses.mastodon import MastodonHarness
    from tests.harnesses.matrix import MatrixHarness
    from tests.harnesses.slack import SlackHarness

    work = Path(tempfile.mkdtemp(prefix="anniversary-platforms-"))
    sample = open_store(work / "sample.db")
    event = sample.get_event(REFERENCE)
    directory = MentionDirectory.from_store(sample)

    def post_thread(
        platform: str, settings: dict, max_posts: int | None = None
    ) -> tuple[object, float]:
        cls = poster_class(platform)
        destination = Destination(
            "bench", platform, cls.default_format, max_posts_per_thread=max_posts
        )
        poster = cls("bench", cls.validate_settings(settings, "bench", work))
        poster.load_limits()
        thread = render_thread(event, DAY, cls.default_format, directory, cls.platform)
        fitted = fit_for(thread, Channel(Config(None, None, None, None, {}), destination, poster))
        store = Store(work / f"{platform}-{time.monotonic_ns()}.db")
        start = time.perf_counter()
        result = publish_thread(store, poster, "bench", fitted)
        elapsed = time.perf_counter() - start
        poster.close()
        assert result.state == "sent", result.summary()
        return (fitted, poster, cls), elapsed

    (_, _, _), floor = post_thread("outbox", {"path": str(work / "outbox"), "format": "text"})
    print(
        f"reference thread ({REFERENCE}), rendered per platform; floor: the outbox, {floor:.3f} s"
    )
    print(
        f"{'platform':<21} {'posts':>5} {'largest':>8} {'limit':>7} {'max mentions':>13} {'cap':>4} {'post time':>10} {'ratio':>7}"
    )
    # each platform with its defaults (its max_posts_per_thread), then the small-post platforms
    # with the whole excerpt split into replies (a cap no thread reaches)
    runs: list[tuple[type, int | None]] = [
        (h, None)
        for h in (DiscourseHarness, MastodonHarness, DiscordHarness, SlackHarness, MatrixHarness)
    ]
    runs += [(MastodonHarness, 1000), (DiscordHarness, 1000), (SlackHarness, 1000)]
    for harness_class, max_posts in runs:
        harness = harness_class(work, None)
        try:
            (fitted, poster, cls), elapsed = post_thread(
                harness.name, harness.settings(), max_posts
            )
        finally:
            harness.close()
        caps = poster.capabilities
        largest = max(poster.length(p.body) for p in fitted.posts)
        mentions = max(len([m for m in p.mentions if m.handle(cls.platform)]) for p in fitted.posts)
        label = harness.name + (" (no cap)" if max_posts else "")
        print(
            f"{label:<21} {len(fitted.posts):>5} {largest:>8,} {caps.max_length or 0:>7,} "
            f"{mentions:>13} {caps.max_mentions or '-':>4} {elapsed:>9.3f}s {elapsed / floor:>6.1f}x"
        )
        for warning in fitted.warnings:
            print(f"{'':<21} warning: {warning}")


if __name__ == "__main__":
    main()
