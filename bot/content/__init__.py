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


def is_candidate(origin: str) -> bool:
    return origin != CURATED
