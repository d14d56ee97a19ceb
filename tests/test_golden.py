"""The reference thread, rendered from the bundled sample event, line for line."""

from __future__ import annotations

import re

import pytest

from bot.app import threads_for_day
from tests.conftest import REFERENCE_EVENT_ID, REFERENCE_THREAD

pytestmark = pytest.mark.shared(REFERENCE_THREAD)

# ANATOMY.md: what the poster wrote (the rest is site chrome, vote counts, image ids)
BOT_PARTS = [(11, 74), (85, 282), (293, 321)]

# In the copy, names in the FYI lines ran together ("FrazerCSM", "Furgerson]Sgt"); these are
# the lists name by name, as the reference page shows them.
FYI_LISTS = [
    ["COL Mikel J. Burroughs", "SMSgt Lawrence McCarter", "SPC Michael Duricko, Ph.D",
     "GySgt Thomas Vick", "SGT Denny Espinosa", "SSG Stephen Rogerson", "SPC Matthew Lamb",
     "LTC (Join to see)", "Maj Bill Smith, Ph.D.", "MAJ Dale E. Wilson, Ph.D.",
     'PO1 William "Chip" Nagel', "PO2 (Join to see)", "SSG Franklin Briant", "SPC Woody Bullard",
     "TSgt David L.", "SMSgt David A Asbury", "SPC Michael Terrell", "LTC (Join to see)"],
    ["Sgt John H.", "SGM Bill Frazer", "CSM (Join to see)", "SSG Jeffrey Leake",
     "SSG Paul Headlee", "SGM Major Stroupe", "CPL Michael Peck", "SSG Jeff Furgerson",
     "Sgt (Join to see)", "PO1 Steve Ditto", "CPL Douglas Chrysler", "SP5 Geoffrey Vannerson",
     "LTC John Shaw", "SPC Matthew Lamb", "GySgt John Hudson", "SPC(P) (Join to see)",
     "SSG Robert Webster", "SFC Bernard Walko", "SFC Chuck Martinez", "CSM Chuck Stafford"],
    ["1SG Steven Imerman", "SSG Pete Fish", "GySgt Gary Cordeiro", "PO1 H Gene Lawrence",
     "SPC Chris Bayner-Cwik", "Sgt Jim Belanus", "SGM Bill Frazer", "MSG Tom Earley",
     "SSgt Marian Mitchell", "SGT Michael Hearn", "PO2 Frederick Dunn", "SP5 Dennis Loberger",
     "CPO John Bjorge", "SGT Randell Rose", "SSG Jimmy Cernich", "SGT Denny Espinosa",
     "MSG Fred Bucci", "Maj Marty Hogan", "TSgt Joe C."],
]  # fmt: skip


def normalised_lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def reference_parts() -> list[list[str]]:
    lines = REFERENCE_THREAD.read_text(encoding="utf-8").split("\n")
    return [normalised_lines("\n".join(lines[start - 1 : end])) for start, end in BOT_PARTS]


@pytest.fixture
def rendered(sample_store, reference_day):
    threads = threads_for_day(sample_store, reference_day, "text", limit=None)
    (thread,) = [t for t in threads if t.event_id == REFERENCE_EVENT_ID]
    return thread


def test_reference_renders_as_three_posts(rendered):
    assert [post.number for post in rendered.posts] == [1, 2, 3]
    assert rendered.posts[0].title == (
        "January 10, 1928: The Soviet Union orders the exile of Leon Trotsky (98th anniversary)"
    )


@pytest.mark.parametrize("part", [0, 1, 2])
def test_reference_part_lines_match(rendered, reference_parts, part):
    expected = reference_parts[part]
    got = normalised_lines(rendered.posts[part].body)
    # everything but the FYI line: the same lines in the same order
    assert got[:-1] == expected[:-1]
    assert len(got) == len(expected)


@pytest.mark.parametrize("part", [0, 1, 2])
def test_reference_fyi_lists_match_name_by_name(rendered, reference_parts, part):
    fyi_line = normalised_lines(rendered.posts[part].body)[-1]
    assert fyi_line.startswith("FYI ")
    assert [m.name for m in rendered.posts[part].mentions] == FYI_LISTS[part]
    assert fyi_line == "FYI " + " ".join(FYI_LISTS[part])
    # and the copy's run-together line holds exactly these names in this order
    squashed = re.sub(r"[\s\]]", "", reference_parts[part][-1])
    assert squashed == "FYI" + "".join(FYI_LISTS[part]).replace(" ", "")


def test_reference_repeats_three_members_across_parts(rendered):
    ids = [{m.id for m in post.mentions} for post in rendered.posts]
    repeated = (ids[0] & ids[1]) | (ids[1] & ids[2]) | (ids[0] & ids[2])
    assert len(repeated) == 3


def test_reference_part_sizes(rendered):
    # ANATOMY.md: part 1 about 11,000 characters, part 2 about 75,000, part 3 about 5,800
    sizes = [post.length for post in rendered.posts]
    assert 10_000 < sizes[0] < 12_000
    assert 70_000 < sizes[1] < 80_000
    assert 5_000 < sizes[2] < 6_500
