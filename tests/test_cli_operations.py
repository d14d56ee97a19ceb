"""The library functions the publishing commands call (``bot.operations.retry``, ``bot.operations.publish_report``),
on a publish log written directly: what each step says and what it leaves in the store."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import InputError
from bot.operations.publish_report import history, history_cells
from bot.operations.retry import BY_HAND, MarkedSent, retry
from bot.posters.base import OutgoingPost
from bot.publishing.log import PostState, PublishLog, post_key

DAY = dt.date(2026, 7, 20)
EVENT = "1969-07-20-apollo-11"


def planned(store, numbers: tuple[int, ...] = (1, 2)) -> list[str]:
    posts = [
        OutgoingPost(post_key("forum", EVENT, DAY, n), "t", n, f"post {n}", "text", EVENT, DAY)
        for n in numbers
    ]
    PublishLog(store).plan(posts, "forum")
    return [post.key for post in posts]


def test_marks_before_a_bad_key_stand_and_nothing_is_retried(store):
    first, second = planned(store)
    log = PublishLog(store)
    log.mark_unconfirmed(first, "read timeout")
    steps = retry(store, config=None, mark_sent=(first, "forum/no-such-post"))
    assert next(steps) == MarkedSent(first)
    with pytest.raises(InputError, match="--mark-sent: no failed or unconfirmed post with key"):
        next(steps)
    assert log.row(first)["state"] == PostState.SENT
    assert log.row(first)["remote_id"] == BY_HAND
    assert log.row(second)["state"] == PostState.PLANNED


def test_marking_only_touches_nothing_else(store):
    first, second = planned(store)
    PublishLog(store).mark_unconfirmed(first, "read timeout")
    PublishLog(store).mark_failed(
        second, "500", None, 1, retry=False
    )  # open: a retry would send it
    steps = list(retry(store, config=None, mark_sent=(first,)))
    assert [step.summary() for step in steps] == [f"marked sent: {first}"]
    assert PublishLog(store).row(second)["state"] == PostState.FAILED


def test_resend_takes_only_an_unconfirmed_post(store):
    (first,) = planned(store, (1,))
    PublishLog(store).mark_failed(first, "500", None, 1, retry=False)
    with pytest.raises(InputError, match=f"--resend: no unconfirmed post with key '{first}'"):
        list(retry(store, config=None, resend=(first,)))


def test_nothing_open_is_one_line(store):
    planned(store)
    assert [s.summary() for s in retry(store, config=None)] == ["Nothing to retry."]


def test_history_lines_name_the_state_and_what_to_do(store):
    first, second = planned(store)
    log = PublishLog(store)
    log.mark_unconfirmed(first, "read timeout")
    log.mark_failed(second, "HTTP 500", None, 1, retry=False)
    found = history(store, "forum", DAY, needs_a_look=True)
    assert [row["key"] for row in found.rows] == [first, second]
    rows = [history_cells(row) for row in found.rows]
    assert rows[0][:5] == (str(DAY), "forum", EVENT, "1", "unconfirmed")
    assert rows[0][5].startswith("attempts=")
    assert rows[1][5].endswith("waits for 'retry'  HTTP 500")
    assert found.held == []


def test_history_json_is_written_row_by_row_as_the_history_reads(store):
    import io
    import json

    from bot.operations.publish_report import history_rows, write_history_json

    first, _ = planned(store)
    PublishLog(store).mark_failed(first, "HTTP 500 é", None, 1, retry=False)
    out = io.StringIO()
    rows = history_rows(store)
    assert not isinstance(rows, list)  # read as written, not gathered first
    assert write_history_json(rows, out) == 2
    assert out.getvalue() == json.dumps(history(store).to_json(), indent=2)
    assert "body" not in json.loads(out.getvalue())[0]
