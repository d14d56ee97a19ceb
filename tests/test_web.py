"""The curators' web page (``anniversary-bot serve``) through Flask's test client: every route and
action, the security rules (no session -> the login page, a lower role -> 403, a form without
its CSRF token -> 403, a login brute force slowed), and each change checked through the CLI.

Time is a parameter: the app's ``now`` is the morning before the reference day (January 10,
the bundled Trotsky thread, with two FYI lists), and the login throttle's clock is moved by
hand.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.config.loading import load_config
from bot.errors import ConfigError
from bot.store import Store
from bot.web.app import create_app
from bot.web.auth import hash_password
from tests.conftest import write

DAY = "2026-01-10"
EVENT = "1928-01-10-the-soviet-union-orders-the-exile-of-leon-trotsky"
NOW = dt.datetime(2026, 1, 9, 12, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery staple"
TOKEN = "operator-token-4f9a1c7e2b"
ADA_HASH = hash_password(PASSWORD)


@dataclass
class Clocks:
    now: dt.datetime = NOW
    seconds: float = 1000.0


@dataclass
class Site:
    """A config with users, a copy of the sample store, the app over them."""

    tmp: Path
    config_path: Path
    store_path: Path
    clocks: Clocks = field(default_factory=Clocks)
    prefix: str = ""

    def app(self):
        config = load_config(str(self.config_path))
        return create_app(
            config,
            lambda: Store(self.store_path),
            now=lambda: self.clocks.now,
            monotonic=lambda: self.clocks.seconds,
        )


def site_config(tmp: Path, users: str, extra_web: str = "") -> Path:
    return write(
        tmp / "bot.yaml",
        "timezone: UTC\n"
        f"web:\n{extra_web}  users:\n{users}"
        "destinations:\n"
        "  out:\n    type: outbox\n    path: outbox\n",
    )


USERS = (
    f'    ada: {{role: curator, password_hash: "{ADA_HASH}"}}\n'
    "    ops: {role: operator, token: {$env: TEST_WEB_OPS_TOKEN}}\n"
)


@pytest.fixture
def site(tmp_path, sample_store, monkeypatch) -> Site:
    monkeypatch.setenv("TEST_WEB_OPS_TOKEN", TOKEN)
    sample_store.close()
    return Site(tmp_path, site_config(tmp_path, USERS), sample_store.path)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def logged_in(site: Site, name: str = "ada", password: str = PASSWORD):
    client = site.app().test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return client


def form_token(client, path: str = f"/day/{DAY}") -> str:
    return csrf_of(client.get(path).get_data(as_text=True))


def page_text(client, path: str) -> str:
    answer = client.get(path)
    assert answer.status_code == 200, path
    return answer.get_data(as_text=True)


def list_member_ids(cli_run, site: Site, name: str) -> list[str]:
    """The members a mention list expands to, as ``mentions lists show`` says."""
    return [m["id"] for m in cli_json(cli_run, site, "mentions", "lists", "show", name)["members"]]


def cli_json(cli_run, site: Site, *args: str):
    code, out, err = cli_run(
        "--config", str(site.config_path), "--db", str(site.store_path), *args, "--json"
    )
    assert code == 0, err
    return json.loads(out)


THREAD = f"/day/{DAY}/out/{EVENT}"
GET_ROUTES = [
    "/", f"/day/{DAY}", f"{THREAD}/edit?post=1", "/mentions", "/changes", "/events",
    "/events/1922-01-11-insulin-is-first-given-to-a-diabetic-patient",
    "/mentions/members/sgt-john-h",
]  # fmt: skip
POST_ROUTES = [
    f"{THREAD}/approve",
    f"{THREAD}/skip",
    f"{THREAD}/regenerate",
    f"{THREAD}/edit",
    f"/day/{DAY}/mark-sent",
    f"/day/{DAY}/out/retry",
    "/mentions/members/sgt-john-h/optout",
    "/mentions/members/sgt-john-h/remove",
    "/mentions/lists/reference-fyi-2/remove",
    "/mentions/lists/reference-fyi-2/add",
    "/mentions/members",
    "/mentions/members/sgt-john-h",
    "/events/1922-01-11-insulin-is-first-given-to-a-diabetic-patient",
    "/events/1922-01-11-insulin-is-first-given-to-a-diabetic-patient/promote",
    "/logout",
]
OPERATOR_ROUTES = [f"/day/{DAY}/mark-sent", f"/day/{DAY}/out/retry"]


# --- security -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", GET_ROUTES)
def test_a_page_without_a_session_sends_to_the_login_page(site, path):
    answer = site.app().test_client().get(path)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path", [p for p in POST_ROUTES if p != "/logout"])
def test_an_action_without_a_session_changes_nothing(site, path):
    client = site.app().test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    answer = client.post(path, data={"csrf_token": token, "reason": "x", "member": "sgt-john-h"})
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert Store(site.store_path).audit_rows() == []


@pytest.mark.parametrize("path", POST_ROUTES)
def test_a_form_without_its_csrf_token_is_refused(site, path):
    client = logged_in(site, "ops", TOKEN)
    assert client.post(path, data={"reason": "x", "member": "sgt-john-h"}).status_code == 403
    wrong = {"csrf_token": "not-the-sessions", "reason": "x", "member": "sgt-john-h"}
    assert client.post(path, data=wrong).status_code == 403
    assert Store(site.store_path).audit_rows() == []


def test_the_login_form_needs_its_csrf_token_too(site):
    client = site.app().test_client()
    answer = client.post("/login", data={"name": "ada", "password": PASSWORD})
    assert answer.status_code == 403


@pytest.mark.parametrize("path", OPERATOR_ROUTES)
def test_a_curator_may_not_do_an_operators_action(site, path):
    client = logged_in(site, "ada")
    answer = client.post(path, data={"csrf_token": form_token(client), "key": "k"})
    assert answer.status_code == 403
    assert Store(site.store_path).audit_rows() == []


def test_a_curator_sees_no_operator_buttons(site):
    html = page_text(logged_in(site, "ada"), f"/day/{DAY}")
    assert "/retry" not in html
    assert "ada (curator)" in html


@pytest.mark.parametrize(
    ("name", "password"), [("ada", "wrong"), ("ops", "wrong"), ("nobody", PASSWORD)]
)
def test_a_wrong_login_is_refused(site, name, password):
    client = site.app().test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    assert answer.status_code == 401
    assert "wrong name or password" in answer.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_a_login_brute_force_is_slowed_and_waits_double(site):
    client = site.app().test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))

    def attempt(password: str):
        return client.post(
            "/login", data={"name": "ada", "password": password, "csrf_token": token}
        )

    assert [attempt("guess").status_code for _ in range(2)] == [401, 401]
    third = attempt("guess")  # the third failure starts the wait
    assert third.status_code == 429 and third.headers["Retry-After"] == "1"
    # during the wait even the right password is not read
    refused = attempt(PASSWORD)
    assert refused.status_code == 429
    assert "too many failed logins" in refused.get_data(as_text=True)
    site.clocks.seconds += 1
    assert attempt("guess").headers["Retry-After"] == "2"  # each failure doubles the wait
    site.clocks.seconds += 1.5
    assert attempt(PASSWORD).status_code == 429
    site.clocks.seconds += 0.5
    assert attempt(PASSWORD).status_code == 303
    assert client.get("/").status_code == 200


def test_the_throttle_is_per_address_as_well_as_per_name(site):
    client = site.app().test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    for name in ("a", "b", "c"):  # three names from one address
        client.post("/login", data={"name": name, "password": "x", "csrf_token": token})
    answer = client.post("/login", data={"name": "ada", "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 429


def test_a_session_ends_after_session_hours(site):
    client = logged_in(site)
    assert client.get("/").status_code == 200
    site.clocks.now = NOW + dt.timedelta(hours=12, seconds=1)
    assert client.get("/").status_code == 302


def test_a_session_ends_when_the_user_leaves_the_config(site):
    client = logged_in(site)
    site_config(site.tmp, USERS.replace("ada:", "bea:"))
    other = site.app().test_client()
    other.set_cookie("anniversary_bot_session", client.get_cookie("anniversary_bot_session").value)
    assert other.get("/").status_code == 302


def test_after_login_it_goes_to_the_page_asked_for_never_elsewhere(site):
    client = site.app().test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    data = {"name": "ada", "password": PASSWORD, "csrf_token": token, "next": f"/day/{DAY}"}
    assert client.post("/login", data=data).headers["Location"] == f"/day/{DAY}"
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "/x\\y"):
        client = site.app().test_client()
        token = csrf_of(client.get("/login").get_data(as_text=True))
        data = {"name": "ada", "password": PASSWORD, "csrf_token": token, "next": target}
        assert client.post("/login", data=data).headers["Location"] == "/"


def test_logging_out_ends_the_session(site):
    client = logged_in(site)
    client.post("/logout", data={"csrf_token": form_token(client, "/")})
    assert client.get("/").status_code == 302


def test_the_session_cookie_is_signed_httponly_and_samesite(site):
    client = site.app().test_client()
    answer = client.get("/login")
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    forged = site.app().test_client()
    forged.set_cookie("anniversary_bot_session", '{"user":"ops","role":"operator","since":1}')
    assert forged.get("/").status_code == 302


def test_the_pages_run_no_script_and_cannot_be_framed(site):
    answer = logged_in(site).get(f"/day/{DAY}")
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "<script" not in answer.get_data(as_text=True)


def test_no_page_shows_a_secret(site):
    client = logged_in(site, "ops", TOKEN)
    for path in GET_ROUTES:
        assert TOKEN not in page_text(client, path)


def test_without_users_it_serves_this_machine_only(tmp_path, sample_store):
    path = write(tmp_path / "bot.yaml", "web:\n  host: 0.0.0.0\n"
                 "destinations:\n  out:\n    type: outbox\n    path: outbox\n")  # fmt: skip
    with pytest.raises(ConfigError, match="needs a login: add web.users"):
        create_app(load_config(str(path)), lambda: sample_store)


def test_without_users_on_127_0_0_1_everyone_is_an_operator_but_csrf_holds(tmp_path, sample_store):
    sample_store.close()
    path = write(tmp_path / "bot.yaml", "destinations:\n  out:\n    type: outbox\n    path: o\n")
    app = create_app(load_config(str(path)), lambda: Store(sample_store.path), now=lambda: NOW)
    client = app.test_client()
    html = page_text(client, f"/day/{DAY}")
    assert "local (operator)" in html and "/retry" in html
    assert client.post(f"{THREAD}/approve").status_code == 403
    # a page asked for under another name (DNS rebinding) is refused
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400


def test_behind_a_proxy_with_a_path_prefix(site):
    site_config(site.tmp, USERS, '  path_prefix: "/bot"\n')
    client = site.app().test_client()
    answer = client.get("/bot/day/2026-01-10")
    assert answer.headers["Location"].startswith("/bot/login?next=")
    login_page = page_text(client, "/bot/login")
    assert 'action="/bot/login"' in login_page
    data = {"name": "ada", "password": PASSWORD, "csrf_token": csrf_of(login_page),
            "next": f"/day/{DAY}"}  # fmt: skip
    assert client.post("/bot/login", data=data).headers["Location"] == f"/bot/day/{DAY}"
    html = page_text(client, f"/bot/day/{DAY}")
    assert f'action="/bot/day/{DAY}/out/{EVENT}/approve"' in html
    assert 'href="/bot/mentions"' in html


# --- the calendar and a day ---------------------------------------------------------------------


def test_the_calendar_shows_the_coming_30_days_each_linking_to_its_page(site):
    html = page_text(logged_in(site), "/")
    days = re.findall(r'data-day="([\d-]+)" data-state="(\w+)"', html)
    assert len(days) == 30
    assert days[0][0] == "2026-01-09" and days[-1][0] == "2026-02-07"
    assert dict(days)[DAY] == "ready"
    assert f'href="/day/{DAY}"' in html


def test_the_calendar_colours_a_skipped_and_a_sent_day(site, cli_run):
    client = logged_in(site)
    client.post(f"{THREAD}/skip", data={"csrf_token": form_token(client), "reason": "memorial"})
    code, _out, err = cli_run("--config", str(site.config_path), "--db", str(site.store_path),
                              "post", "--date", "2026-01-11")  # fmt: skip
    assert code == 0, err
    states = dict(re.findall(r'data-day="([\d-]+)" data-state="(\w+)"', page_text(client, "/")))
    assert states[DAY] == "skipped"
    assert states["2026-01-11"] == "sent"


def test_the_day_page_draws_the_thread_like_the_preview(site):
    html = page_text(logged_in(site), f"/day/{DAY}")
    assert f'data-event="{EVENT}"' in html
    assert 'class="post lead-post"' in html and "characters" in html
    assert 'class="mention"' in html  # the FYI list as chips
    for action in ("approve", "skip", "regenerate"):
        assert f'action="{THREAD}/{action}"' in html
    assert f'href="{THREAD}/edit?post=1"' in html


def test_approve_on_the_page_is_drafts_approve(site, cli_run):
    client = logged_in(site)
    answer = client.post(f"{THREAD}/approve", data={"csrf_token": form_token(client)})
    assert answer.status_code == 303 and answer.headers["Location"] == f"/day/{DAY}"
    [draft] = cli_json(cli_run, site, "drafts", "list", "--all")
    assert (draft["day"], draft["event_id"], draft["state"]) == (DAY, EVENT, "approved")
    html = page_text(client, f"/day/{DAY}")
    assert f"approved: {EVENT}" in html  # the message
    changes = re.search(r'<table class="rows" id="changes">.*?</table>', html, re.S)
    assert (
        changes
        and "ada (curator)" in changes.group(0)
        and "2026-01-09T12:00:00" in changes.group(0)
    )


def test_skip_needs_a_reason_and_keeps_it(site, cli_run):
    client = logged_in(site)
    token = form_token(client)
    client.post(f"{THREAD}/skip", data={"csrf_token": token, "reason": "  "})
    assert "say why the thread is held back" in page_text(client, f"/day/{DAY}")
    assert Store(site.store_path).audit_rows() == []
    client.post(f"{THREAD}/skip", data={"csrf_token": token, "reason": "the memorial post"})
    [draft] = cli_json(cli_run, site, "drafts", "list", "--all")
    assert (draft["state"], draft["reason"]) == ("skipped", "the memorial post")
    [row] = Store(site.store_path).audit_rows(dt.date(2026, 1, 10))
    assert (row["user"], row["action"], row["detail"]) == ("ada", "skipped", "the memorial post")


def test_edit_a_post_is_kept_as_an_edit_of_that_post_with_a_diff(site, cli_run):
    client = logged_in(site)
    form = page_text(client, f"{THREAD}/edit?post=1")
    original = re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>', form, re.S)
    assert original and "Trotsky" in original.group(1)
    token = csrf_of(form)
    client.post(f"{THREAD}/approve", data={"csrf_token": token})
    text = "A corrected lead.\r\nSecond line."
    answer = client.post(f"{THREAD}/edit", data={"csrf_token": token, "post": "1", "text": text})
    assert answer.headers["Location"] == f"{THREAD}/edit?post=1"
    [draft] = cli_json(cli_run, site, "drafts", "list", "--all")
    assert draft["edited"] == [1] and draft["state"] == "draft"  # approval withdrawn
    code, out, _ = cli_run("--db", str(site.store_path), "--config", str(site.config_path),
                           "drafts", "show", str(draft["id"]))  # fmt: skip
    assert "A corrected lead.\nSecond line." in out and "post 1 (edited)" in out
    page = page_text(client, f"{THREAD}/edit?post=1")
    assert "approval withdrawn" in page
    assert '<span class="del">-A corrected lead.</span>' in page  # the diff against the event


def test_edit_of_a_post_that_is_not_there_says_so(site):
    client = logged_in(site)
    answer = client.get(f"{THREAD}/edit?post=99")
    assert answer.status_code == 303
    assert "has posts 1 to" in page_text(client, f"/day/{DAY}")


def test_regenerate_drops_the_edits(site, cli_run):
    client = logged_in(site)
    token = form_token(client)
    client.post(f"{THREAD}/edit", data={"csrf_token": token, "post": "2", "text": "changed"})
    client.post(f"{THREAD}/regenerate", data={"csrf_token": token})
    [draft] = cli_json(cli_run, site, "drafts", "list", "--all")
    assert draft["edited"] == [] and draft["state"] == "draft"
    actions = [r["action"] for r in Store(site.store_path).audit_rows()]
    assert actions == ["regenerated", "edited"]


def test_an_action_on_an_event_not_of_that_day_changes_nothing(site):
    client = logged_in(site)
    other = f"/day/{DAY}/out/no-such-event/approve"
    client.post(other, data={"csrf_token": form_token(client)})
    assert "no-such-event: no draft" in page_text(client, f"/day/{DAY}")
    assert Store(site.store_path).audit_rows() == []


def test_a_bad_day_is_404(site):
    assert logged_in(site).get("/day/2026-13-40").status_code == 404


def test_a_sent_day_links_to_the_remote_posts(site, cli_run):
    code, _out, err = cli_run("--config", str(site.config_path), "--db", str(site.store_path),
                              "post", "--date", DAY)  # fmt: skip
    assert code == 0, err
    html = page_text(logged_in(site), f"/day/{DAY}")
    log = re.search(r'<table class="rows" id="publish-log">.*?</table>', html, re.S)
    assert log is not None
    rows = re.findall(r'data-state="(\w+)"', log.group(0))
    assert rows and set(rows) == {"sent"}
    assert 'id="day-state" data-state="sent"' in html


def _failed_post(site: Site) -> str:
    from bot.posters.base import OutgoingPost
    from bot.publishing.log import PublishLog

    store = Store(site.store_path)
    post = OutgoingPost(key=f"out/{EVENT}/{DAY}/1", thread_key=f"out/{EVENT}/{DAY}",
                        number=1, body="x", format="text", event_id=EVENT,
                        day=dt.date(2026, 1, 10))  # fmt: skip
    log = PublishLog(store)
    log.plan([post], "out")
    assert log.claim(post.key)
    log.mark_failed(post.key, "HTTP 403: refused", None, 1, retry=False)
    store.close()
    return post.key


def test_an_operator_marks_a_failed_post_sent(site, cli_run):
    key = _failed_post(site)
    client = logged_in(site, "ops", TOKEN)
    html = page_text(client, f"/day/{DAY}")
    assert 'id="day-state" data-state="failed"' in html and "Mark sent" in html
    client.post(f"/day/{DAY}/mark-sent", data={"csrf_token": csrf_of(html), "key": key})
    [row] = cli_json(cli_run, site, "history", "--date", DAY)
    assert row["state"] == "sent"
    [change] = Store(site.store_path).audit_rows()
    assert (change["user"], change["role"], change["action"]) == ("ops", "operator", "marked sent")


def test_an_operator_retries_a_destination(site):
    client = logged_in(site, "ops", TOKEN)
    client.post(f"/day/{DAY}/out/retry", data={"csrf_token": form_token(client)})
    assert "nothing to retry" in page_text(client, f"/day/{DAY}").lower()


# --- mentions -----------------------------------------------------------------------------------


def test_the_mentions_page_lists_members_and_lists(site):
    html = page_text(logged_in(site), "/mentions")
    assert 'data-list="reference-fyi-2"' in html and 'data-member="sgt-john-h"' in html


def test_take_a_member_off_a_list(site, cli_run):
    client = logged_in(site)
    token = form_token(client, "/mentions")
    client.post("/mentions/lists/reference-fyi-2/remove",
                data={"csrf_token": token, "member": "sgt-john-h"})  # fmt: skip
    ids = list_member_ids(cli_run, site, "reference-fyi-2")
    assert "sgt-john-h" not in ids and "sgm-bill-frazer" in ids
    client.post("/mentions/lists/reference-fyi-2/add",
                data={"csrf_token": token, "member": "sgt-john-h"})  # fmt: skip
    assert list_member_ids(cli_run, site, "reference-fyi-2")[-1] == "sgt-john-h"


def test_a_member_an_event_or_list_uses_is_not_removed_silently(site, cli_run):
    client = logged_in(site)
    token = form_token(client, "/mentions")
    client.post("/mentions/members/sgt-john-h/remove", data={"csrf_token": token})
    html = page_text(client, "/mentions")
    assert 'class="message-error"' in html and 'data-member="sgt-john-h"' in html
    assert Store(site.store_path).audit_rows() == []
    client.post("/mentions/members/sgt-john-h/remove", data={"csrf_token": token, "force": "yes"})
    code, out, _ = cli_run("--db", str(site.store_path), "mentions", "members", "list")
    assert code == 0 and "sgt-john-h" not in [line.split("\t")[0] for line in out.splitlines()]


def test_opt_a_member_out(site, cli_run):
    client = logged_in(site)
    client.post("/mentions/members/sgt-john-h/optout",
                data={"csrf_token": form_token(client, "/mentions")})  # fmt: skip
    members = {m["id"]: m for m in cli_json(cli_run, site, "mentions", "members", "list")}
    assert members["sgt-john-h"]["opted_out"] == "2026-01-09"


def test_the_changes_page_lists_every_change(site):
    client = logged_in(site)
    client.post("/mentions/members/sgt-john-h/optout",
                data={"csrf_token": form_token(client, "/mentions")})  # fmt: skip
    html = page_text(client, "/changes")
    assert "opted out sgt-john-h" in html and "ada (curator)" in html


# --- the command and the config -----------------------------------------------------------------


def test_hash_password_prints_a_hash_the_login_accepts(cli_run):
    from werkzeug.security import check_password_hash

    code, out, _ = cli_run("serve", "--hash-password", input="s3cret-pass\ns3cret-pass\n")
    assert code == 0
    hashed = out.strip().splitlines()[-1]
    assert hashed.startswith("scrypt:") and check_password_hash(hashed, "s3cret-pass")
    assert "s3cret-pass" not in out


def test_serve_refuses_another_address_without_users(tmp_path, cli_run):
    path = write(tmp_path / "bot.yaml", "destinations:\n  out:\n    type: outbox\n    path: o\n")
    code, _out, err = cli_run("--config", str(path), "serve", "--host", "0.0.0.0", "--port", "0")
    assert code == 2
    assert "needs a login" in err


@pytest.mark.parametrize(
    ("users", "message"),
    [
        ("    x: {role: curator}\n", "give either password_hash"),
        (
            f'    x: {{role: curator, password_hash: "{ADA_HASH}", token: {{$env: T}}}}\n',
            "give either password_hash",
        ),  # fmt: skip
        ("    x: {role: curator, token: plain-text}\n", "web.users.x.token"),
        ('    x: {role: admin, password_hash: "pbkdf2:a$b$c"}\n', "web.users.x.role"),
    ],
)
def test_a_bad_web_user_is_one_line_naming_the_key(tmp_path, cli_run, users, message):
    path = site_config(tmp_path, users)
    code, _out, err = cli_run("--config", str(path), "serve", "--port", "0")
    assert code == 2
    assert message in err and f"{path}:" in err and len(err.strip().splitlines()) == 1


# --- events -------------------------------------------------------------------------------------

INSULIN = "1922-01-11-insulin-is-first-given-to-a-diabetic-patient"
CANDIDATE_RECORD = {
    "month": 1, "day": 12, "year": 1904, "kind": "event",
    "text": "A made-up candidate event for the web page's tests.",
    "links": [{"title": "Example", "url": "https://en.wikipedia.org/wiki/Example"}],
    "source": "https://en.wikipedia.org/wiki/January_12",
}  # fmt: skip


def _candidate(site: Site, cli_run) -> str:
    path = write(site.tmp / "candidates.jsonl", json.dumps(CANDIDATE_RECORD) + "\n")
    code, _out, err = cli_run("--db", str(site.store_path), "import", str(path))
    assert code == 0, err
    [candidate] = cli_json(cli_run, site, "events", "candidates")
    return str(candidate["id"])


def test_events_search_and_browse(site, cli_run):
    candidate = _candidate(site, cli_run)
    client = logged_in(site)
    found = page_text(client, "/events?q=insulin")
    assert f'data-event="{INSULIN}"' in found and f'href="/events/{INSULIN}"' in found
    by_day = page_text(client, "/events?date=01-11")
    assert f'data-event="{INSULIN}"' in by_day and f'data-event="{EVENT}"' not in by_day
    curated = page_text(client, "/events")
    assert f'data-event="{candidate}"' not in curated
    candidates = page_text(client, "/events?show=candidates")
    assert f'data-event="{candidate}"' in candidates and "Promote" in candidates
    assert "date: " in page_text(client, "/events?date=13-45")  # a bad day, said


def test_promote_a_candidate_is_events_promote(site, cli_run):
    candidate = _candidate(site, cli_run)
    client = logged_in(site)
    token = form_token(client, "/events?show=candidates")
    client.post(f"/events/{candidate}/promote", data={"csrf_token": token})
    assert cli_json(cli_run, site, "events", "candidates") == []
    assert f'data-event="{candidate}"' in page_text(client, "/events?date=01-12")
    client.post(f"/events/{candidate}/promote", data={"csrf_token": token})
    assert "already curated" in page_text(client, "/events")
    assert [r["action"] for r in Store(site.store_path).audit_rows()] == ["promoted"]


def test_edit_an_event_as_yaml(site, cli_run):
    client = logged_in(site)
    form = page_text(client, f"/events/{INSULIN}")
    text = re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>', form, re.S)
    assert text and "title: Insulin is first given" in text.group(1)
    import html

    yaml_text = html.unescape(text.group(1)).replace(
        "title: Insulin is first given to a diabetic patient", "title: Insulin is first given"
    )
    answer = client.post(
        f"/events/{INSULIN}", data={"csrf_token": csrf_of(form), "text": yaml_text}
    )
    assert answer.status_code == 200 and f"edited event: {INSULIN}" in answer.get_data(as_text=True)
    code, out, _ = cli_run("--db", str(site.store_path), "events", "show", INSULIN)
    assert code == 0 and "title: Insulin is first given\n" in out
    [row] = Store(site.store_path).audit_rows()
    assert (row["user"], row["action"], row["target"]) == ("ada", "edited event", INSULIN)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("title: Insulin", "titel: Insulin"),
            f"event {INSULIN}:1: title: required field is missing",
        ),
        (("date: '1922-01-11'", "date: '1922-13-11'"), f"event {INSULIN}:2: date:"),
        ((f"id: {INSULIN}", "id: another-id"), f"an edit keeps the id '{INSULIN}'"),
        (("tags:", "tags: [unclosed\nx:"), f"event {INSULIN}:"),
    ],
)
def test_an_invalid_event_is_shown_inline_and_nothing_is_stored(site, cli_run, change, message):
    import html

    client = logged_in(site)
    form = page_text(client, f"/events/{INSULIN}")
    before = cli_run("--db", str(site.store_path), "events", "show", INSULIN)[1]
    yaml_text = html.unescape(
        re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>', form, re.S).group(1)
    )
    bad = yaml_text.replace(*change)
    assert bad != yaml_text
    answer = client.post(f"/events/{INSULIN}", data={"csrf_token": csrf_of(form), "text": bad})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    error = re.search(r'<p class="error-inline" id="error" role="alert">(.*?)</p>', page, re.S)
    assert error and message in html.unescape(error.group(1)), error and error.group(1)
    assert "/tmp" not in error.group(1) and "anniversary-bot-edit" not in error.group(1)
    assert html.escape(bad.splitlines()[2], quote=False) in page  # the text as typed, kept
    assert cli_run("--db", str(site.store_path), "events", "show", INSULIN)[1] == before
    assert Store(site.store_path).audit_rows() == []


def test_an_unknown_event_is_404(site):
    assert logged_in(site).get("/events/no-such-event").status_code == 404


def test_the_calendar_of_a_year(site):
    client = logged_in(site)
    days = re.findall(r'data-day="([\d-]+)" data-state="(\w+)"', page_text(client, "/?year=2026"))
    assert len(days) == 365 and days[0][0] == "2026-01-01" and days[-1][0] == "2026-12-31"
    assert dict(days)["2026-01-08"] == "missed"  # before today (January 9): nothing went out
    html = page_text(client, "/?year=99999")
    assert "year: 99999 is not a year the calendar holds" in html
    assert len(re.findall(r'data-day="[\d-]+"', html)) == 30


def test_day_states_from_the_publish_log():
    from bot.operations.review import DayState, day_state
    from bot.preview.html import DayView, DestinationDay, ThreadView

    def view(*statuses: str) -> DayView:
        threads = [ThreadView(f"e{n}", "t", s, "", [], []) for n, s in enumerate(statuses)]
        return DayView(dt.date(2026, 1, 10), [DestinationDay("out", "outbox", "text", "a", None,
                                                             threads, False)])  # fmt: skip

    today = dt.date(2026, 1, 9)
    rows = [{"state": "sent"}, {"state": "failed"}]
    assert day_state(view("ready"), rows, today) == DayState.FAILED
    assert day_state(view("ready"), [{"state": "unconfirmed"}], today) == DayState.FAILED
    assert day_state(view("ready"), [{"state": "missed"}], today) == DayState.MISSED
    assert day_state(view("ready"), [{"state": "sent"}], today) == DayState.SENT
    assert day_state(view("ready"), [], dt.date(2026, 1, 11)) == DayState.MISSED
    assert day_state(view("ready", "skipped"), [], today) == DayState.HELD
    assert day_state(view("skipped", "skipped"), [], today) == DayState.SKIPPED
    assert day_state(view("stale", "skipped"), [], today) == DayState.APPROVAL
    assert day_state(view(), [], today) == DayState.NOTHING
    assert day_state(view("ready"), [], today) == DayState.READY


def test_a_secret_typed_into_a_form_is_masked_on_every_page(site):
    client = logged_in(site, "ops", TOKEN)  # reading the token registers it for masking
    reason = f"the token is {TOKEN}"
    client.post(f"{THREAD}/skip", data={"csrf_token": form_token(client), "reason": reason})
    for path in (f"/day/{DAY}", "/changes"):
        html = page_text(client, path)
        assert TOKEN not in html and "the token is" in html
    [change] = Store(site.store_path).audit_rows()
    assert TOKEN not in change["detail"]


def test_add_a_member_and_edit_its_handles_and_tags(site, cli_run):
    client = logged_in(site)
    token = form_token(client, "/mentions")
    client.post("/mentions/members", data={"csrf_token": token, "id": "jane-doe",
                "name": "SGT Jane Doe", "handle_discourse": "janedoe", "tags": "space, ships"})  # fmt: skip
    members = {m["id"]: m for m in cli_json(cli_run, site, "mentions", "members", "list")}
    assert members["jane-doe"]["handles"] == {"discourse": "janedoe"}
    assert members["jane-doe"]["tags"] == ["space", "ships"]
    form = page_text(client, "/mentions/members/jane-doe")
    assert 'value="janedoe"' in form
    client.post("/mentions/members/jane-doe", data={"csrf_token": token, "name": "SGT Jane Doe",
                "handle_discourse": "", "handle_mastodon": "@jane@example.social", "tags": "space"})  # fmt: skip
    members = {m["id"]: m for m in cli_json(cli_run, site, "mentions", "members", "list")}
    assert members["jane-doe"]["handles"] == {"mastodon": "@jane@example.social"}
    assert members["jane-doe"]["tags"] == ["space"]
    actions = [r["action"] for r in Store(site.store_path).audit_rows()]
    assert actions == ["edited member", "added member"]


def test_a_member_keeps_the_clis_rules(site, cli_run):
    client = logged_in(site)
    token = form_token(client, "/mentions")
    client.post("/mentions/members", data={"csrf_token": token, "id": "jane-doe",
                "name": "SGT Jane Doe", "handle_discourse": "janedoe"})  # fmt: skip
    # the same handle twice: refused, one line naming the member that has it
    client.post("/mentions/members", data={"csrf_token": token, "id": "john-roe",
                "name": "John Roe", "handle_discourse": "janedoe"})  # fmt: skip
    assert "is already the handle of jane-doe" in page_text(client, "/mentions")
    # an existing id
    client.post("/mentions/members", data={"csrf_token": token, "id": "jane-doe", "name": "X"})
    assert "exists" in page_text(client, "/mentions")
    ids = [m["id"] for m in cli_json(cli_run, site, "mentions", "members", "list")]
    assert "john-roe" not in ids and ids.count("jane-doe") == 1
    assert logged_in(site).get("/mentions/members/nobody-at-all").status_code == 404


def test_behind_a_proxy_the_throttle_counts_each_clients_address(site):
    site_config(site.tmp, USERS, "  behind_proxy: true\n")
    client = site.app().test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))

    def attempt(name: str, address: str, password: str = "x") -> int:
        data = {"name": name, "password": password, "csrf_token": token}
        return client.post("/login", data=data, headers={"X-Forwarded-For": address}).status_code

    assert [attempt(n, "203.0.113.7") for n in ("a", "b", "c")] == [401, 401, 429]
    assert attempt("ada", "203.0.113.7", PASSWORD) == 429  # that client waits
    assert attempt("ada", "198.51.100.2", PASSWORD) == 303  # another one does not
    # without behind_proxy the header is not believed: every login is the proxy's address
    site_config(site.tmp, USERS)
    client = site.app().test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    assert [attempt(n, f"203.0.113.{n}") for n in ("1", "2", "3")] == [401, 401, 429]
