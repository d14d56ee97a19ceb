"""The web page in a real browser: Debian's headless Chromium (``tests/browser/chromium.py``
finds it), driven by Playwright with that executable, against the app served on 127.0.0.1 (an
ephemeral port) in this process. A curator logs in, approves a day, edits a post, skips a day
and takes a member off a list, all by clicking with no script on the pages; the results are
read back through the CLI. Screenshots at 1280 and 390 px wide go to
``test-artifacts/screenshots/web-*.png``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config.loading import load_config
from bot.store import Store
from bot.web.app import create_app
from tests.browser import chromium
from tests.test_web import DAY, EVENT, NOW, PASSWORD, USERS, site_config

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
WIDTHS = {"wide": 1280, "phone": 390}
NEXT_DAY = "2026-01-11"

pytestmark = pytest.mark.browser


@pytest.fixture
def served(tmp_path, sample_store, monkeypatch) -> Iterator[tuple[str, Path, Path]]:
    """The app on 127.0.0.1 at an ephemeral port: (its address, the config, the store)."""
    from werkzeug.serving import make_server

    monkeypatch.setenv("TEST_WEB_OPS_TOKEN", "unused-operator-token")
    sample_store.close()
    config_path = site_config(tmp_path, USERS)
    app = create_app(load_config(str(config_path)), lambda: Store(sample_store.path),
                     now=lambda: NOW)  # fmt: skip
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", config_path, sample_store.path
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_a_curator_reviews_days_and_mentions_in_chromium(served, cli_run):
    from playwright.sync_api import sync_playwright

    base, config_path, store_path = served
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium.CHROMIUM), args=list(chromium.FLAGS)
        )
        try:
            context = browser.new_context(
                viewport={"width": WIDTHS["wide"], "height": 900}, java_script_enabled=False
            )
            page = context.new_page()
            page.goto(f"{base}/day/{DAY}")
            assert page.url.startswith(f"{base}/login")  # no session: the login page
            page.fill("input[name=name]", "ada")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            assert page.url == f"{base}/day/{DAY}"
            assert page.inner_text("#who") == "ada (curator)"

            actions = f'[data-actions="out/{EVENT}"]'
            page.click(f"{actions} button[name=approve]")
            assert "approved:" in page.inner_text("ul.messages")
            page.screenshot(path=str(SCREENSHOTS / "web-day-1280.png"), full_page=False)

            page.click(f"{actions} a.edit-link >> nth=0")
            page.fill("textarea[name=text]", "A corrected lead, typed in the browser.")
            page.click("button[name=save]")
            assert "edited" in page.inner_text("ul.messages")
            assert "A corrected lead, typed in the browser." in page.inner_text("#diff")
            page.screenshot(path=str(SCREENSHOTS / "web-edit-1280.png"))

            page.goto(f"{base}/day/{NEXT_DAY}")
            page.fill("[data-actions^='out/'] input[name=reason]", "a memorial day")
            page.click("[data-actions^='out/'] button[name=skip]")
            assert "skipped:" in page.inner_text("ul.messages")

            page.goto(f"{base}/mentions")
            member = '[data-list="reference-fyi-2"] li[data-member="sgt-john-h"]'
            page.click(f"{member} button")
            assert page.locator(member).count() == 0

            page.goto(f"{base}/")
            assert page.locator(f'[data-day="{NEXT_DAY}"]').get_attribute("data-state") == "skipped"
            page.screenshot(path=str(SCREENSHOTS / "web-calendar-1280.png"), full_page=True)
            for name in ("calendar", "day"):
                page.set_viewport_size({"width": WIDTHS["phone"], "height": 844})
                page.goto(f"{base}/" if name == "calendar" else f"{base}/day/{DAY}")
                page.screenshot(path=str(SCREENSHOTS / f"web-{name}-390.png"))
                # nothing wider than the phone's screen: no sideways scrolling
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= WIDTHS["phone"], f"{name}: {width} px wide at 390 px"
        finally:
            browser.close()

    def cli(*args: str) -> str:
        code, out, err = cli_run("--config", str(config_path), "--db", str(store_path), *args)
        assert code == 0, err
        return out

    drafts = {
        (d["day"], d["event_id"]): d for d in json.loads(cli("drafts", "list", "--all", "--json"))
    }
    edited = drafts[(DAY, EVENT)]
    assert edited["edited"] == [1] and edited["state"] == "draft"  # the edit withdrew approval
    assert "A corrected lead, typed in the browser." in cli("drafts", "show", str(edited["id"]))
    [skipped] = [d for d in drafts.values() if d["day"] == NEXT_DAY]
    assert (skipped["state"], skipped["reason"]) == ("skipped", "a memorial day")
    listed = json.loads(cli("mentions", "lists", "show", "reference-fyi-2", "--json"))
    ids = [member["id"] for member in listed["members"]]
    assert "sgt-john-h" not in ids and "sgm-bill-frazer" in ids
    for name in ("day-1280", "edit-1280", "calendar-1280", "calendar-390", "day-390"):
        facts = chromium.png_facts(SCREENSHOTS / f"web-{name}.png")
        assert facts["width"] == WIDTHS["phone" if name.endswith("390") else "wide"]
