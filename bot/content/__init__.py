"""Content for the daily posts: the Wikipedia on-this-day import, background excerpts, the
daily pick and the coverage calendar.

A *candidate* is an event the bot found rather than a curator wrote (origin other than
"curated": the on-this-day feed and the JSON-lines data set both import as origin
"wikipedia"). With the daily pick enabled, a candidate posts only as a day's fallback;
``anniversary-bot events promote ID`` makes it curated.
"""

from __future__ import annotations

CURATED = "curated"
CANDIDATE_ORIGIN = "wikipedia"

# the daily pick's defaults (bot.content.pick), here so that reading a config does not import
# the pick
# biggest first: a bigger milestone of an important event wins
DEFAULT_MILESTONES = (1000, 500, 250, 200, 150, 100, 75, 50, 25, 10)
DEFAULT_SENSITIVE_TAGS = ("disaster", "terrorism", "genocide", "massacre", "holocaust",
                          "war-crimes", "suicide", "attack", "execution", "accident")  # fmt: skip
# "word" matches the word; "word*" any word starting with it; spaces match any white space.
# Deaths by violence or disaster, not a death of old age: "dies" and "died" are not here.
DEFAULT_SENSITIVE_KEYWORDS = (
    "massacre*", "genocide*", "holocaust", "terroris*", "bomb", "bombs", "bombed", "bombing*",
    "suicide*", "murder*", "assassinat*", "shooting", "shootings", "shot dead", "executed",
    "execution", "executions", "beheaded", "guillotined", "hanged", "burned at the stake",
    "lynch*", "killed", "killing*", "dead", "deaths", "death toll", "deadliest", "casualties",
    "famine", "pogrom*", "atrocit*", "rape*", "torture*", "slaughter*", "war crime*",
    "ethnic cleansing", "disaster*", "catastroph*", "earthquake*", "tsunami*", "crash",
    "crashes", "plane crash*", "derail*", "shipwreck*", "explosion*", "attack", "attacks",
    "attacked", "raid", "hijack*", "hostage*", "kidnap*", "riot", "riots", "injured",
)  # fmt: skip


def is_candidate(origin: str) -> bool:
    return origin != CURATED
