"""The harness every adapter's test module gives the contract suite (test_poster_contract.py):
it makes the adapter's settings and reads back what its destination received."""

from __future__ import annotations

from pathlib import Path


class Harness:
    """Makes the adapter under test and reads back what its destination received."""

    name: str
    can_read_back = True

    def __init__(self, tmp_path: Path, capsys) -> None:
        self.tmp_path, self.capsys = tmp_path, capsys

    def settings(self) -> dict:
        raise NotImplementedError

    def received(self) -> list[str]:
        raise NotImplementedError

    def close(self) -> None:
        pass
