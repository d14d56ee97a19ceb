"""docs/event-format.md's gallery is written by docs/make_event_format.py from example events:
the doc is what the script writes now, so it shows what the templates make today."""

from __future__ import annotations

import importlib.util

from tests.conftest import ROOT


def test_the_event_format_doc_is_current():
    spec = importlib.util.spec_from_file_location(
        "make_event_format", ROOT / "docs" / "make_event_format.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    doc = (ROOT / "docs" / "event-format.md").read_text(encoding="utf-8")
    assert doc == script.current_doc(), "run: python docs/make_event_format.py"
    for name in ("quote: headline", "attach", "background: a quoted excerpt", "links: numbered",
                 "links: bulleted", "links: bare", "credit: a member", "topic_title"):  # fmt: skip
        assert f"### {name}" in doc
