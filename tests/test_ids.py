"""Names that cannot collide: outbox file names, ids derived from titles, and imports that would
overwrite a different event with the same derived id."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import unicodedata

import pytest

from bot.app import import_paths, threads_for_day
from bot.errors import InputError
from bot.model import Event, derive_id
from bot.model.dates import AnniversaryDate, parse_date
from bot.posters.base import OutgoingPost
from bot.posters.outbox import OutboxPoster
from bot.publishing.log import post_key, publish_thread
from bot.store import Store
from tests.conftest import SHARED_DATA, write

DAY = dt.date(2026, 4, 12)


@pytest.fixture(autouse=True)
def empty_new_stores(monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")


def event_yaml(title: str, *, date: str = "1961-04-12", lead: str = "Something happened.",
               event_id: str | None = None) -> str:  # fmt: skip
    id_line = f"id: {event_id}\n" if event_id else ""
    return (
        f'{id_line}date: "{date}"\ntitle: {json.dumps(title, ensure_ascii=False)}\n'
        f"lead: {lead}\nparts:\n  - blocks:\n      - type: text\n        text: {lead}\n"
    )


def stored(db) -> dict[str, tuple[str, str]]:
    """id -> (title, lead) of every stored event."""
    store = Store(db)
    try:
        return {
            r[0]: (r[1], r[2]) for r in store.conn.execute("select id, title, lead from events")
        }
    finally:
        store.close()


def error_lines(stderr: str) -> list[str]:
    """The error of a command: one line (notes such as a new store's may stand before it)."""
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def snapshot(db) -> list[tuple]:
    store = Store(db)
    try:
        return [tuple(r) for r in store.conn.execute("select * from events order by id")]
    finally:
        store.close()


# --- outbox file names ---------------------------------------------------------------------

# two ids that differ only after their first 120 characters (ids may be up to 200 long)
LONG_PREFIX = "1961-04-12-" + "-".join(["vostok"] * 21)
LONG_A, LONG_B = LONG_PREFIX + "-first-orbit", LONG_PREFIX + "-second-orbit"


def outgoing(event_id: str, body: str, number: int = 1) -> OutgoingPost:
    return OutgoingPost(
        key=post_key("out", event_id, DAY, number),
        thread_key=f"out/{event_id}/{DAY.isoformat()}",
        number=number,
        body=body,
        format="text",
        event_id=event_id,
        day=DAY,
        title=body,
    )


def test_two_events_whose_ids_share_120_characters_get_their_own_outbox_files(tmp_path):
    assert len(LONG_PREFIX) > 120 and len(LONG_B) <= 200
    db = tmp_path / "store.db"
    store = Store(db)
    import_paths(
        store,
        [
            write(tmp_path / "a.yaml", event_yaml("Vostok A", event_id=LONG_A, lead="Orbit A.")),
            write(tmp_path / "b.yaml", event_yaml("Vostok B", event_id=LONG_B, lead="Orbit B.")),
        ],
    )
    poster = OutboxPoster("out", {"path": str(tmp_path / "outbox"), "format": "text"})
    threads = threads_for_day(store, DAY, "text", limit=None)
    assert {t.event_id for t in threads} == {LONG_A, LONG_B}
    results = [publish_thread(store, poster, "out", t) for t in threads]
    assert [r.state for r in results] == ["sent", "sent"]
    remote_ids = {r.event_id: r.posts[0].remote_id for r in results}
    assert remote_ids[LONG_A] != remote_ids[LONG_B]
    for event_id, words in ((LONG_A, "Orbit A."), (LONG_B, "Orbit B.")):
        body = (tmp_path / "outbox" / remote_ids[event_id]).read_text(encoding="utf-8")
        assert words in body
        sidecar = json.loads(
            (tmp_path / "outbox" / remote_ids[event_id]).with_suffix(".json").read_text()
        )
        assert sidecar["event_id"] == event_id
    # each post is found where it was written, not in the other's file
    for thread in threads:
        found = poster.find(outgoing(thread.event_id, "Lead."), None)
        assert found is not None and found.remote_id == remote_ids[thread.event_id]
    store.close()


def test_an_id_that_fits_keeps_the_outbox_name_it_always_had(tmp_path):
    poster = OutboxPoster("out", {"path": str(tmp_path), "format": "text"})
    event_id = "1961-04-12-" + "x" * (120 - 11)  # exactly 120 characters
    published = poster.publish(outgoing(event_id, "Lead."), None, None)
    assert published.remote_id == f"2026-04-12/{event_id}-01.txt"
    assert (tmp_path / "2026-04-12" / f"{event_id}-01.json").exists()


def test_ids_that_differ_only_in_characters_unsafe_for_file_names_get_their_own_files(tmp_path):
    # events written straight to the store (not through the validator) may hold such ids
    poster = OutboxPoster("out", {"path": str(tmp_path), "format": "text"})
    spaced = poster.publish(outgoing("vostok 1", "Spaced."), None, None)
    dashed = poster.publish(outgoing("vostok_1", "Underscored."), None, None)
    assert spaced.remote_id != dashed.remote_id
    assert poster.find(outgoing("vostok 1", ""), None) == spaced
    assert poster.find(outgoing("vostok_1", ""), None) == dashed


def test_a_post_written_under_the_old_cut_name_is_still_found(tmp_path):
    # outboxes written before long ids got a hash: the name was the id's first 120 characters
    post = outgoing(LONG_A, "Lead.")
    old_stem = tmp_path / "2026-04-12" / f"{LONG_A[:120]}-01"
    write(old_stem.with_suffix(".txt"), "Lead.\n")
    write(old_stem.with_suffix(".json"), json.dumps({"key": post.key}))
    poster = OutboxPoster("out", {"path": str(tmp_path), "format": "text"})
    found = poster.find(post, None)
    assert found is not None and found.remote_id == f"2026-04-12/{LONG_A[:120]}-01.txt"
    # the other event whose id shares those 120 characters is not found in that file
    assert poster.find(outgoing(LONG_B, "Lead."), None) is None


def test_a_sidecar_of_another_post_never_counts_as_found(tmp_path):
    poster = OutboxPoster("out", {"path": str(tmp_path), "format": "text"})
    poster.publish(outgoing("1961-04-12-vostok-1", "Lead."), None, None)
    same_file_other_key = outgoing("1961-04-12-vostok-1", "Lead.")
    same_file_other_key = OutgoingPost(**{**same_file_other_key.__dict__, "key": "other/key"})
    assert poster.find(same_file_other_key, None) is None


# --- ids derived from titles ---------------------------------------------------------------

LATIN_TITLES = [
    ("1969-07-20", "Apollo 11 lands on the Moon", "1969-07-20-apollo-11-lands-on-the-moon"),
    ("07-14", "Storming of the Bastille", "07-14-storming-of-the-bastille"),
    ("-0044-03-15", "Assassination of Julius Caesar", "44bc-03-15-assassination-of-julius-caesar"),
    ("1905-06-30", "Einstein's “Zur Elektrodynamik bewegter Körper”",
     "1905-06-30-einstein-s-zur-elektrodynamik-bewegter-korper"),
    ("2000-01-01", "Øresund Bridge: Łódź & Malmö", "2000-01-01-resund-bridge-odz-malmo"),
    ("1961-04-12", "Gagarin (Гагарин) flies", "1961-04-12-gagarin-flies"),
    ("1812-06-24", "1812", "1812-06-24-1812"),
    ("1942-02-02", "The Osvald Group is responsible for the first, active event of anti-Nazi "
     "resistance in Norway", "1942-02-02-the-osvald-group-is-responsible-for-the-first-active-event"),
]  # fmt: skip


@pytest.mark.parametrize("date, title, expected", LATIN_TITLES)
def test_a_title_with_latin_letters_keeps_the_id_it_always_had(date, title, expected):
    assert derive_id(parse_date(date), title) == expected


def slug_before_non_latin_titles(text: str, max_length: int = 60) -> str:
    """How ids were derived before non-Latin titles got their own: the ids of stores in use."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0]
    return slug or "event"


@pytest.mark.shared(SHARED_DATA)
def test_every_title_of_the_shared_data_set_keeps_its_id():
    checked = 0
    with gzip.open(SHARED_DATA, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            date = AnniversaryDate(record["month"], record["day"], record["year"])
            title = record["text"][:300]
            old = slug_before_non_latin_titles(title)
            if not re.search("[a-z]", old):
                continue
            assert derive_id(date, title).endswith("-" + old), title
            checked += 1
    assert checked > 100_000


NON_LATIN = {
    "ru": "Первый полёт человека в космос",
    "el": "Πρώτη πτήση ανθρώπου στο διάστημα",
    "zh": "人类首次进入太空",
    "ar": "أول رحلة مأهولة إلى الفضاء",
}


def test_non_latin_titles_on_one_day_get_ids_of_their_own():
    date = parse_date("1961-04-12")
    ids = {derive_id(date, title) for title in NON_LATIN.values()}
    assert len(ids) == len(NON_LATIN)
    for event_id in ids:
        assert event_id.startswith("1961-04-12-") and event_id != "1961-04-12-event"
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", event_id)


def test_a_derived_id_is_the_same_every_time_and_ignores_case_and_spacing():
    date = parse_date("1961-04-12")
    title = NON_LATIN["ru"]
    assert derive_id(date, title) == derive_id(date, title)
    assert derive_id(date, title) == derive_id(date, "  " + title.upper() + " ")
    assert derive_id(date, title) != derive_id(date, title + " 2")


def test_importing_a_second_non_latin_event_keeps_the_first(tmp_path, cli_run):
    db = tmp_path / "store.db"
    russian = write(tmp_path / "ru.yaml", event_yaml(NON_LATIN["ru"], lead="Vostok 1."))
    greek = write(tmp_path / "el.yaml", event_yaml(NON_LATIN["el"], lead="Vostok 1 (el)."))
    assert cli_run("--db", str(db), "import", str(russian))[0] == 0
    code, out, err = cli_run("--db", str(db), "import", str(greek))
    assert code == 0, err
    assert sorted(title for title, _ in stored(db).values()) == sorted(
        [NON_LATIN["ru"], NON_LATIN["el"]]
    )


def test_two_non_latin_events_on_one_day_in_one_import(tmp_path, cli_run):
    db = tmp_path / "store.db"
    both = write(
        tmp_path / "both.yaml",
        "events:\n"
        + "".join(
            "  - " + event_yaml(title).replace("\n", "\n    ").rstrip() + "\n"
            for title in NON_LATIN.values()
        ),
    )
    code, out, err = cli_run("--db", str(db), "import", str(both))
    assert code == 0, err
    assert "4 new" in out
    assert {title for title, _ in stored(db).values()} == set(NON_LATIN.values())


def test_importing_a_non_latin_event_again_updates_it(tmp_path, cli_run):
    db = tmp_path / "store.db"
    path = write(tmp_path / "ru.yaml", event_yaml(NON_LATIN["ru"], lead="First words."))
    assert cli_run("--db", str(db), "import", str(path))[0] == 0
    write(path, event_yaml(NON_LATIN["ru"], lead="Better words."))
    code, out, err = cli_run("--db", str(db), "import", str(path))
    assert code == 0, err
    assert "1 updated" in out
    assert [lead for _, lead in stored(db).values()] == ["Better words."]


def test_a_non_latin_event_stored_under_its_old_id_is_updated_there(tmp_path, cli_run):
    # stores in use hold non-Latin events as "<date>-event": importing the same file again
    # must update that event, not add a second copy of it under the new id
    db = tmp_path / "store.db"
    store = Store(db)
    old = Event(
        id="1961-04-12-event",
        date=parse_date("1961-04-12"),
        title=NON_LATIN["ru"],
        lead="First words.",
        parts=[{"blocks": [{"type": "text", "text": "First words."}]}],
    )
    store.import_events([old])
    store.close()
    path = write(tmp_path / "ru.yaml", event_yaml(NON_LATIN["ru"], lead="Better words."))
    code, out, err = cli_run("--db", str(db), "import", str(path))
    assert code == 0, err
    assert stored(db) == {"1961-04-12-event": (NON_LATIN["ru"], "Better words.")}
    # and another non-Latin title that day is a new event beside it, not an overwrite
    greek = write(tmp_path / "el.yaml", event_yaml(NON_LATIN["el"]))
    code, out, err = cli_run("--db", str(db), "import", str(greek))
    assert code == 0, err
    assert stored(db)["1961-04-12-event"] == (NON_LATIN["ru"], "Better words.")
    assert len(stored(db)) == 2


# --- an import never overwrites a different event ------------------------------------------

# two titles whose slugs share the first 60 characters: the same derived id
LONG_TITLE = "The first crewed spaceflight in history orbits the Earth once and lands safely"
OTHER_LONG_TITLE = (
    "The first crewed spaceflight in history orbits the Earth once and ends in a crash"
)


def test_the_two_long_titles_derive_the_same_id():
    date = parse_date("1961-04-12")
    assert derive_id(date, LONG_TITLE) == derive_id(date, OTHER_LONG_TITLE)


def test_a_derived_id_that_matches_a_different_stored_event_is_an_error(tmp_path, cli_run):
    db = tmp_path / "store.db"
    first = write(tmp_path / "first.yaml", event_yaml(LONG_TITLE))
    assert cli_run("--db", str(db), "import", str(first))[0] == 0
    before = snapshot(db)
    second = write(tmp_path / "second.yaml", event_yaml(OTHER_LONG_TITLE))
    code, out, err = cli_run("--db", str(db), "import", str(second))
    assert code == 2
    assert "Traceback" not in err
    lines = error_lines(err)
    assert len(lines) == 1, err
    assert f"{second}:2: title:" in lines[0]
    assert repr(LONG_TITLE) in lines[0]
    assert "id:" in lines[0].split("title:", 1)[1]  # the fix: give it an id
    assert snapshot(db) == before


def test_importing_the_same_event_again_with_other_fields_changed_updates_it(tmp_path, cli_run):
    db = tmp_path / "store.db"
    path = write(tmp_path / "first.yaml", event_yaml(LONG_TITLE, lead="Old lead."))
    assert cli_run("--db", str(db), "import", str(path))[0] == 0
    # the same title, a changed lead, and a capital letter and full stop fixed in the title
    write(path, event_yaml(LONG_TITLE.replace("the Earth", "the earth") + ".", lead="New lead."))
    code, out, err = cli_run("--db", str(db), "import", str(path))
    assert code == 0, err
    ((title, lead),) = stored(db).values()
    assert lead == "New lead." and title.endswith("safely.")


def test_an_id_given_by_the_curator_is_an_update_by_design(tmp_path, cli_run):
    db = tmp_path / "store.db"
    first = write(tmp_path / "first.yaml", event_yaml(LONG_TITLE))
    assert cli_run("--db", str(db), "import", str(first))[0] == 0
    (event_id,) = stored(db)
    renamed = write(tmp_path / "renamed.yaml", event_yaml(OTHER_LONG_TITLE, event_id=event_id))
    code, out, err = cli_run("--db", str(db), "import", str(renamed))
    assert code == 0, err
    assert stored(db) == {event_id: (OTHER_LONG_TITLE, "Something happened.")}


def test_two_events_in_one_import_deriving_the_same_id_name_both(tmp_path, cli_run):
    db = tmp_path / "store.db"
    first = write(tmp_path / "a.yaml", event_yaml(LONG_TITLE))
    second = write(tmp_path / "b.yaml", event_yaml(OTHER_LONG_TITLE))
    code, out, err = cli_run("--db", str(db), "import", str(first), str(second))
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 1, err
    assert f"{second}:2: title:" in lines[0] and f"{first}:2" in lines[0]
    assert repr(LONG_TITLE) in lines[0]
    assert stored(db) == {}


def test_the_store_refuses_a_derived_id_of_a_different_event_when_called_directly(tmp_path):
    # what fetch and promote (which pass no derived ids) rely on: nothing changes for them
    store = Store(tmp_path / "s.db")
    import_paths(store, [write(tmp_path / "a.yaml", event_yaml(LONG_TITLE))])
    (event,) = store.iter_events()
    with pytest.raises(InputError, match="title"):
        store.import_events(
            [Event(**{**event.__dict__, "title": OTHER_LONG_TITLE})],
            derived_ids={event.id: "b.yaml:2"},
        )
    assert store.get_event(event.id).title == LONG_TITLE
    store.import_events([Event(**{**event.__dict__, "title": OTHER_LONG_TITLE})])
    assert store.get_event(event.id).title == OTHER_LONG_TITLE
    store.close()
