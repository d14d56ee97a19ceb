"""Drafts: generate, edit (in $EDITOR), approve, skip, stale; and what publishing does with them.

The acceptance tests run the CLI as a curator would, against a file outbox, and read what the
outbox received."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest
import time_machine

from bot.config import Config, Destination
from bot.config.channel import Channel
from bot.drafts import (
    APPROVED,
    DRAFT,
    SKIPPED,
    STALE,
    Drafts,
    event_hash,
    over_limit,
    thread_data,
    thread_from_data,
    threads_to_publish,
)
from bot.publishing.daily import day_plan, day_threads, publish_day
from bot.store import Store
from tests.conftest import REFERENCE_EVENT_ID, THREE_PART_EVENT, write, write_config

DAY = "2026-07-20"
EVENT_ID = "1969-07-20-apollo-11-lands-on-the-moon"


@pytest.fixture
def env(tmp_path, three_part_store):
    """A store with the three-part Apollo event, and a config writer for an outbox."""

    class Env:
        db = str(three_part_store)
        outbox = tmp_path / "outbox"
        config = tmp_path / "config.yaml"

        def write_config(self, require_approval: bool = False, extra: str = "") -> None:
            write_config(
                self.config,
                f"  site:\n    type: outbox\n    path: {self.outbox}\n    format: text\n"
                f"    require_approval: {str(require_approval).lower()}\n",
                extra,
            )

        def sent(self) -> dict[int, str]:
            """Post number -> the text the outbox received (without its final newline)."""
            folder = self.outbox / DAY
            if not folder.is_dir():
                return {}
            return {
                int(path.stem.rsplit("-", 1)[1]): path.read_text(encoding="utf-8")[:-1]
                for path in sorted(folder.glob("*.txt"))
            }

    env = Env()
    env.write_config()
    return env


@pytest.fixture
def bot(cli_run, env):
    def run(*args: str, expect: int = 0, **kwargs):
        code, out, err = cli_run("--config", str(env.config), "--db", env.db, *args, **kwargs)
        assert code == expect, (code, out, err)
        return out + err

    return run


@pytest.fixture
def editor(tmp_path, monkeypatch):
    """$EDITOR set to a script that writes the given text into the file it is handed."""

    def use(text: str) -> None:
        source = tmp_path / "editor-text.txt"
        source.write_text(text, encoding="utf-8")
        script = tmp_path / "editor.py"
        script.write_text(
            "import pathlib, sys\n"
            f"text = pathlib.Path({str(source)!r}).read_text(encoding='utf-8')\n"
            "pathlib.Path(sys.argv[1]).write_text(text, encoding='utf-8')\n",
            encoding="utf-8",
        )
        monkeypatch.setenv("EDITOR", f'"{sys.executable}" "{script}"')
        monkeypatch.delenv("VISUAL", raising=False)

    return use


def change_event(env, tmp_path, old: str, new: str) -> None:
    store = Store(env.db)
    from bot.app import import_paths

    import_paths(store, [write(tmp_path / "changed.yaml", THREE_PART_EVENT.replace(old, new))])
    store.close()


def list_json(bot) -> list[dict]:
    out = bot("drafts", "list", "--all", "--json")
    return json.loads(out[: out.rindex("]") + 1])


# --- acceptance -----------------------------------------------------------------------------------


@pytest.mark.parametrize("require_approval", [False, True])
def test_an_edited_and_approved_draft_is_what_the_outbox_receives(
    env, bot, editor, require_approval
):
    env.write_config(require_approval)
    out = bot("drafts", "generate", "--date", DAY, "--days", "1")
    assert f"{DAY}  site         1      {EVENT_ID}  new: draft" in out
    edited = "Part two, corrected by a person.\n\nWith a second paragraph @everyone sees."
    editor(edited + "\n")  # editors end the file with a newline: it is not part of the post
    assert "post 2 edited; now draft, edited (post 2)" in bot("drafts", "edit", "1", "--post", "2")
    shown = bot("drafts", "show", "1")
    assert "---- post 2 (edited) of 3 (reply) ----" in shown and edited in shown

    # edited but not approved: nothing goes out, and the day's result says why
    out = bot("post", "--date", DAY)
    assert "not posted" in out and "drafts approve 1" in out
    assert env.sent() == {}

    bot("drafts", "approve", "1")
    draft = Drafts(Store(env.db)).get(1)
    out = bot("post", "--date", DAY)
    assert "3/3 posts sent (3 now)" in out
    sent = env.sent()
    assert sent[2] == edited  # exactly the edited text
    assert [sent[n] for n in (1, 3)] == [p.body for p in draft.thread().posts if p.number != 2]
    sidecar = json.loads((env.outbox / DAY / f"{EVENT_ID}-01.json").read_text())
    assert sidecar["title"] == draft.thread().posts[0].title


def test_an_event_changed_after_approval_makes_the_draft_stale_until_approved_again(
    env, bot, tmp_path
):
    bot("drafts", "generate", "--date", DAY, "--days", "1")
    bot("drafts", "approve", "1")
    approved = [p.body for p in Drafts(Store(env.db)).get(1).thread().posts]
    change_event(env, tmp_path, "Part one.", "Part one, revised after the approval.")

    # the user is told: at post time, in `drafts list` and in `status`
    out = bot("post", "--date", DAY)
    assert "not posted: draft 1 is stale: the event changed after this draft was approved" in out
    assert "waits for approval" in out
    assert env.sent() == {}
    (listed,) = list_json(bot)
    assert listed["state"] == STALE and "changed after this draft was approved" in listed["reason"]
    assert f"{EVENT_ID}  stale: the event changed" in bot("drafts", "list", "--all")
    with time_machine.travel(dt.datetime(2026, 7, 19, 12, tzinfo=dt.UTC), tick=False):
        status = bot("status")
    assert f"{DAY} site draft 1 ({EVENT_ID}): stale: the event changed" in status

    # generating again keeps it (stale), and the diff shows what changed
    assert "kept: stale" in bot("drafts", "generate", "--date", DAY, "--days", "1")
    diff = bot("drafts", "show", "1", "--diff")
    assert "-Part one." in diff and "+Part one, revised after the approval." in diff
    assert env.sent() == {}

    # approved again: it goes out as it stands
    out = bot("drafts", "approve", "1")
    assert "it was stale" in out
    assert "3/3 posts sent" in bot("post", "--date", DAY)
    assert list(env.sent().values()) == approved


def test_require_approval_with_an_unapproved_draft_posts_nothing_and_says_so(env, bot):
    env.write_config(require_approval=True)
    out = bot("post", "--date", DAY)  # no draft at all
    assert f"site: {EVENT_ID}: not posted: waits for approval (no draft yet)" in out
    bot("drafts", "generate", "--date", DAY, "--days", "1")
    out = bot("post", "--date", DAY)
    assert f"site: {EVENT_ID}: not posted: waits for approval (draft 1)" in out
    assert "drafts approve 1" in out
    assert env.sent() == {}
    history = bot("history", "--date", DAY)  # nothing went out, and history says why
    assert f"{DAY}  site  {EVENT_ID}  held (draft 1): waits for approval" in history
    assert history.strip().endswith("0 posts")
    with time_machine.travel(dt.datetime(2026, 7, 19, 12, tzinfo=dt.UTC), tick=False):
        status = bot("status")
    assert f"{DAY} site draft 1 ({EVENT_ID}): draft: waits for approval" in status


# --- publishing -------------------------------------------------------------------------------------


def config_for(tmp_path, **dest) -> Config:
    destination = Destination(
        name="site", type="outbox", format="text",
        settings={"path": str(tmp_path / "outbox"), "format": "text"}, **dest,
    )  # fmt: skip
    return Config(None, None, None, None, {"site": destination})


@pytest.fixture
def store(three_part_store) -> Store:
    return Store(three_part_store)


def test_an_approved_draft_goes_out_byte_for_byte_even_when_rendering_changed(tmp_path, store):
    config = config_for(tmp_path)
    dest = config.destinations["site"]
    day = dt.date(2026, 7, 20)
    drafts = Drafts(store)
    drafts.generate(config, dest, day)
    drafts.approve(config, 1)
    approved = drafts.get(1).thread()
    # templates change after the approval: the approved text still goes out
    templates = tmp_path / "templates"
    write(templates / "text" / "text.j2", "CHANGED {{ block.text }}")
    config.templates = templates
    fresh = day_threads(store, Channel.of(config, dest), day, drafts=False)
    assert fresh[0].posts[0].body != approved.posts[0].body
    (thread,) = day_threads(store, Channel.of(config, dest), day)
    assert thread.posts == approved.posts
    results = publish_day(store, Channel.of(config, dest), day)
    assert [r.state for r in results] == ["sent"]
    rows = store.db.query("select key, body, title from publish_log order by number")
    rows = list(rows)
    assert [r["key"] for r in rows] == [f"site/{EVENT_ID}/{DAY}/{n}" for n in (1, 2, 3)]
    assert [r["body"] for r in rows] == [p.body for p in approved.posts]


def test_the_scheduler_logs_a_thread_that_waits_for_approval(tmp_path, store):
    from bot.publishing.scheduler import DailyJob

    config = config_for(tmp_path, require_approval=True)
    day = dt.datetime(2026, 7, 20, 12, 0, tzinfo=dt.UTC)
    job = DailyJob(store.path, config, clock=lambda: day)
    message = job.run_destination("site").message
    assert "not posted: waits for approval (no draft yet)" in message
    drafts = Drafts(store)
    drafts.generate(config, config.destinations["site"], day.date())
    drafts.approve(config, 1)
    assert "3/3 posts sent (3 now)" in job.run_destination("site").message


def test_a_skipped_draft_is_held_back_and_approving_undoes_it(tmp_path, store):
    config = config_for(tmp_path)
    dest = config.destinations["site"]
    day = dt.date(2026, 7, 20)
    drafts = Drafts(store)
    drafts.generate(config, dest, day)
    assert drafts.skip(1, "  clashes with the memorial   post ").reason == (
        "clashes with the memorial post"
    )
    plan = day_plan(store, Channel.of(config, dest), day)
    assert plan.threads == [] and plan.held[0].state == SKIPPED
    assert "skipped (draft 1): clashes with the memorial post" in plan.held[0].summary()
    results = publish_day(store, Channel.of(config, dest), day)
    assert [r.summary() for r in results] == [
        f"site: {EVENT_ID}: not posted: skipped (draft 1): clashes with the memorial post"
    ]
    drafts.approve(config, 1)
    assert [r.state for r in publish_day(store, Channel.of(config, dest), day)] == ["sent"]


def test_an_untouched_draft_follows_the_event_without_approval(tmp_path, store):
    """Without require_approval, a draft nobody touched does not hold anything back."""
    config = config_for(tmp_path)
    dest = config.destinations["site"]
    day = dt.date(2026, 7, 20)
    Drafts(store).generate(config, dest, day)
    fresh = day_threads(store, Channel.of(config, dest), day, drafts=False)
    plan = threads_to_publish(store, dest, day, fresh)
    assert plan.threads == fresh and plan.held == []


# --- generating ---------------------------------------------------------------------------------------


def test_generating_again_keeps_what_a_person_did_and_renders_the_rest_anew(
    tmp_path, three_part_store
):
    from bot.app import import_paths

    store = Store(three_part_store)
    second = THREE_PART_EVENT.replace("Apollo 11 lands", "Apollo 11 returns").replace(
        "1969-07-20", "1970-07-20"
    )
    import_paths(store, [write(tmp_path / "second.yaml", second)])
    config = config_for(tmp_path, max_threads_per_day=2)
    dest = config.destinations["site"]
    day = dt.date(2026, 7, 20)
    drafts = Drafts(store)
    made = drafts.generate(config, dest, day)
    assert [g.action for g in made] == ["new", "new"]
    first, other = made[0].draft, made[1].draft
    drafts.edit(first.id, 1, "A person's lead.")
    again = drafts.generate(config, dest, day)
    assert [(g.draft.id, g.action) for g in again] == [(first.id, "kept"), (other.id, "kept")]
    assert drafts.get(first.id).overrides == {"1": "A person's lead."}
    # both events change: the edited draft becomes stale, the untouched one is rendered anew
    for text in (THREE_PART_EVENT, second):
        changed = text.replace("Part three.", "Part three, longer now.")
        import_paths(store, [write(tmp_path / "changed.yaml", changed)])
    again = {g.draft.id: g for g in drafts.generate(config, dest, day)}
    assert again[first.id].action == "kept" and again[first.id].draft.state == STALE
    assert drafts.get(first.id).overrides == {"1": "A person's lead."}  # never discarded
    assert again[other.id].action == "updated" and again[other.id].draft.state == DRAFT
    assert "Part three, longer now." in drafts.get(other.id).thread().posts[2].body
    # regenerate: the stale draft is rendered from the event as it is now, edits dropped
    fresh = drafts.regenerate(config, first.id)
    assert fresh.state == DRAFT and fresh.overrides == {}
    assert "Part three, longer now." in fresh.thread().posts[2].body


def test_a_day_already_posted_gets_no_drafts(tmp_path, store):
    config = config_for(tmp_path)
    dest = config.destinations["site"]
    day = dt.date(2026, 7, 20)
    publish_day(store, Channel.of(config, dest), day)
    (done,) = Drafts(store).generate(config, dest, day)
    assert done.action == "posted" and done.draft is None


def test_an_event_no_longer_the_days_pick_makes_its_approved_draft_stale(tmp_path, store):
    from bot.app import import_paths

    config = config_for(tmp_path)
    dest = config.destinations["site"]
    day = dt.date(2026, 7, 20)
    drafts = Drafts(store)
    drafts.generate(config, dest, day)
    drafts.approve(config, 1)
    first = THREE_PART_EVENT.replace("Apollo 11 lands", "Earlier first").replace(
        "title:", "priority: 5\ntitle:", 1
    )
    import_paths(store, [write(tmp_path / "first.yaml", first)])
    made = {g.action: g for g in drafts.generate(config, dest, day)}
    assert made["stale"].draft.id == 1 and "no longer among" in made["stale"].note
    assert made["new"].draft.event_id != EVENT_ID


# --- editing and approving ---------------------------------------------------------------------------


def test_edit_then_undo_and_the_title(tmp_path, store):
    config = config_for(tmp_path)
    dest = config.destinations["site"]
    drafts = Drafts(store)
    drafts.generate(config, dest, dt.date(2026, 7, 20))
    original = drafts.get(1).thread()
    drafts.approve(config, 1)
    draft, note = drafts.edit(1, 2, "Changed.\n\n")
    assert draft.state == DRAFT and "approval withdrawn" in note
    assert draft.thread().posts[1].body == "Changed."
    draft, note = drafts.edit(1, 2, original.posts[1].body + "\n")
    assert draft.overrides == {} and "undone" in note
    assert drafts.edit(1, 2, original.posts[1].body)[1] == "unchanged"
    draft, _ = drafts.edit(1, 0, "  A   better\ntitle ")
    assert (
        draft.thread().posts[0].title == "A better title" and draft.label == "draft, edited (title)"
    )
    with pytest.raises(Exception, match="posts 1 to 3, not 4"):
        drafts.edit(1, 4, "x")
    with pytest.raises(Exception, match="would be empty"):
        drafts.edit(1, 1, "  \n")


def test_approving_refuses_a_post_an_edit_made_too_long(tmp_path, store):
    from bot.errors import InputError

    config = config_for(tmp_path)
    toot = Destination("toot", "mastodon", "text", settings={"url": "https://m.example"})
    config.destinations["toot"] = toot
    drafts = Drafts(store)
    (made,) = drafts.generate(config, toot, dt.date(2026, 7, 20))
    draft_id = made.draft.id
    drafts.edit(draft_id, 2, "word " * 120)
    assert over_limit(drafts.get(draft_id).thread(), toot) == [
        "post 2 is 599 characters, over toot's limit of 500"
    ]
    with pytest.raises(InputError, match="post 2 is 599 characters, over toot's limit of 500"):
        drafts.approve(config, draft_id)
    assert drafts.get(draft_id).state == DRAFT


def test_cli_show_formats_list_and_skip(env, bot):
    bot("drafts", "generate", "--date", DAY, "--days", "2")
    listed = list_json(bot)
    assert [(d["id"], d["day"], d["state"]) for d in listed] == [(1, DAY, DRAFT)]
    shown = json.loads(bot("drafts", "show", "1", "--format", "json"))
    assert shown["thread"]["event_id"] == EVENT_ID and len(shown["thread"]["posts"]) == 3
    page = bot("drafts", "show", "1", "--format", "html")
    assert page.startswith("<!doctype html>") and "Part two." in page
    assert "skipped draft 1" in bot("drafts", "skip", "1", "--reason", "not this year")
    assert "skipped: not this year" in bot("drafts", "list", "--all")
    assert "no draft 9" in bot("drafts", "show", "9", expect=2)
    assert "--reason" in bot("drafts", "skip", "1", expect=2)
    assert "(no difference" in bot("drafts", "show", "1", "--diff")
    bot("drafts", "approve", "1")
    assert json.loads(bot("drafts", "show", "1", "--format", "json"))["state"] == APPROVED


# --- storage ---------------------------------------------------------------------------------------------


def test_a_thread_survives_the_round_trip_with_mentions_and_handles(sample_store, reference_day):
    from bot.app import threads_for_day

    (thread,) = threads_for_day(sample_store, reference_day, "markdown", platform="discourse")
    data = json.loads(json.dumps(thread_data(thread)))
    back = thread_from_data(data)
    assert back == thread
    assert [[m.handles for m in p.mentions] for p in back.posts] == [
        [m.handles for m in p.mentions] for p in thread.posts
    ]
    assert sum(len(p.mentions) for p in back.posts) > 40


def test_the_event_hash_follows_the_content(sample_store):
    event = sample_store.get_event(REFERENCE_EVENT_ID)
    assert event_hash(event) == event_hash(sample_store.get_event(REFERENCE_EVENT_ID))
    event.title += "!"
    assert event_hash(event) != event_hash(sample_store.get_event(REFERENCE_EVENT_ID))


def test_the_drafts_table_is_a_migration(tmp_path):
    store = Store(tmp_path / "new.db")
    assert "drafts" in store.db.table_names()
    assert Path(store.path).exists()


def test_scheduler_waits_for_approval_instead_of_calling_the_day_missed(
    tmp_path, sample_store_path
):
    """require_approval: the sweep neither records the day as missed nor as done while a draft
    waits; once approved, the next sweep posts it that same day, even past catch_up_hours."""
    import datetime as dt
    import shutil

    from bot.config.loading import load_config
    from bot.drafts import Drafts
    from bot.publishing.scheduler import DailyJob

    db = tmp_path / "store.db"
    shutil.copy(sample_store_path, db)
    outbox = tmp_path / "outbox"
    config_path = tmp_path / "bot.yaml"
    config_path.write_text(
        f"destinations:\n  out:\n    type: outbox\n    path: {outbox}\n    time: '07:00'\n"
        "    timezone: UTC\n    catch_up_hours: 2\n    require_approval: true\n"
    )
    config = load_config(config_path)
    destination = config.destination("out")
    day = dt.date(2026, 1, 10)
    store = Store(db)
    assert len(Drafts(store).generate(config, destination, day)) == 1
    job = DailyJob(db, config)
    at = lambda hour: dt.datetime(2026, 1, 10, hour, tzinfo=dt.UTC)  # noqa: E731
    assert "waits for approval" in job.run_destination("out", at(8)).message
    assert (
        "waits for approval" in job.run_destination("out", at(12)).message
    )  # past catch_up: not missed
    assert not outbox.exists()
    Drafts(store).approve(config, Drafts(store).for_day("out", day)[0].id)
    message = job.run_destination("out", at(13)).message
    assert "posts sent" in message and "missed" not in message
    assert len(list((outbox / "2026-01-10").glob("*.txt"))) == 3
    assert job.run_destination("out", at(14)).message.endswith(": done")
