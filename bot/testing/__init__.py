"""Testing an adapter: the harness interface, and the contract suite every adapter passes
(``bot.testing.contract``).

Shipped with the bot so that a third-party adapter's own tests can run the same suite over it
(see docs/writing-an-adapter.md). Nothing in the bot imports this package; the suite needs
pytest, which only the tests install.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HARNESS_ENTRY_POINT_GROUP = "anniversary_bot.harnesses"


class Harness:
    """Stands up an adapter's destination for a test and reads back what it received.

    ``name`` is the adapter's name (its destination ``type``). The suite makes the adapter
    with ``settings()``, publishes through it, and compares ``received()`` with what it sent.
    """

    name: str
    # where a platform has versions that behave differently, a harness per version: the suite
    # names each run "name-variant"
    variant: str = ""

    def __init__(self, tmp_path: Path, capsys: Any) -> None:
        self.tmp_path, self.capsys = tmp_path, capsys

    def settings(self) -> dict[str, Any]:
        """The destination's adapter keys, pointing at this harness's destination."""
        raise NotImplementedError

    def received(self) -> list[str]:
        """The bodies of the posts the destination holds, in the order they were published."""
        raise NotImplementedError

    def close(self) -> None:  # noqa: B027 - optional hook, most harnesses hold nothing
        """Stop whatever ``__init__`` started (a local server)."""


def installed_harnesses() -> list[type[Harness]]:
    """The harnesses installed packages register under the entry-point group
    ``anniversary_bot.harnesses`` (a name pointing at a ``Harness`` subclass)."""
    from importlib.metadata import entry_points

    found = []
    for entry_point in entry_points(group=HARNESS_ENTRY_POINT_GROUP):
        cls = entry_point.load()
        if not (isinstance(cls, type) and issubclass(cls, Harness)):
            raise TypeError(f"{entry_point.value} is not a bot.testing.Harness subclass")
        found.append(cls)
    return found
