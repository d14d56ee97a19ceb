"""Write the gallery of docs/event-format.md: each example of docs/event-format-gallery.yaml
rendered with the bundled templates, beside its source, so that the doc cannot drift.

    python docs/make_event_format.py           # rewrite the doc's gallery
    python docs/make_event_format.py --check   # exit 1 when the doc is not current

tests/test_event_format_doc.py runs the check.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import yaml

from bot.events.mentions import MentionDirectory
from bot.events.schema import EventIn
from bot.model import Event
from bot.threads.render import render_thread

DOCS = Path(__file__).resolve().parent
DOC = DOCS / "event-format.md"
EXAMPLES = DOCS / "event-format-gallery.yaml"
MARKER = "<!-- The gallery below is written by docs/make_event_format.py: do not edit it. -->"
DAY = dt.date(2026, 7, 20)
BASE = {"date": "1969-07-20", "title": "Apollo 11 lands on the Moon",
        "lead": "Neil Armstrong and Buzz Aldrin became the first people to walk on the Moon."}  # fmt: skip
FENCES = {"text": "text", "markdown": "markdown", "html": "html"}


def _event(fields: dict[str, Any], blocks: list[dict[str, Any]] | None) -> Event:
    parts = [{"blocks": [{"type": "text", "text": "The lead post."}]}]
    if blocks is not None:
        parts.append({"blocks": blocks})
    data = EventIn.model_validate({**BASE, **fields, "parts": parts}).model_dump()
    data["id"] = "example"
    return Event.from_dict(data)


def _fence(kind: str, text: str) -> str:
    return f"```{kind}\n{text}\n```\n"


class _Dumper(yaml.SafeDumper):
    """YAML as a curator writes it: a text of several lines as a ``|`` block."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def _source(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100).rstrip()


def gallery() -> str:
    examples = yaml.safe_load(EXAMPLES.read_text(encoding="utf-8"))
    directory = MentionDirectory(examples["members"])
    out = ["## Gallery\n",
           "Each block and option, and what the bundled templates make of it on July 20, 2026: "
           "plain text, Markdown and HTML.\n"]  # fmt: skip
    for example in examples["examples"]:
        event = _event({}, example["blocks"])
        out.append(f"### {example['name']}\n\n{example['about']}\n")
        out.append(_fence("yaml", _source(example["blocks"])))
        for fmt, fence in FENCES.items():
            body = render_thread(event, DAY, fmt, directory).posts[1].body
            out.append(f"{fmt}:\n\n" + _fence(fence, body))
    for option in examples["event_options"]:
        event = _event(option["event"], None)
        out.append(f"### {option['name']}\n\n{option['about']}\n")
        out.append(_fence("yaml", _source(option["event"])))
        for platform in (None, option["platform"]):
            for fmt in ("text", "markdown") if platform is None else ("markdown",):
                post = render_thread(event, DAY, fmt, directory, platform).posts[0]
                where = f"{fmt}, {platform}" if platform else fmt
                body = f"Title: {post.title}\n\n{post.body}"
                out.append(f"{where}:\n\n" + _fence(FENCES[fmt], body))
    return "\n".join(out)


def current_doc() -> str:
    """The doc as the script writes it: the hand-written part, the marker, the gallery."""
    written = DOC.read_text(encoding="utf-8").split(MARKER)[0].rstrip("\n")
    return f"{written}\n\n{MARKER}\n\n{gallery()}"


def main(argv: list[str]) -> int:
    doc = current_doc()
    if "--check" in argv:
        if DOC.read_text(encoding="utf-8") != doc:
            print(f"{DOC.name} is not current: run python docs/make_event_format.py")
            return 1
        return 0
    DOC.write_text(doc, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
