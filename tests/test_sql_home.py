"""Every SQL statement lives in the store (``bot/store/`` and ``bot/store_file.py``): the rest of
the package asks the store's methods, so a query, its indexes and its transactions are read and
changed in one place. The scan is of the source, so a new query written elsewhere fails here with
its file and line named."""

from __future__ import annotations

import ast
import re
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"

# the modules allowed to hold SQL, relative to bot/
STORE_MODULES = ("store", "store_file.py")

SQL_START = re.compile(
    r"^\s*(select|insert|update|delete|replace|create|drop|alter|pragma|begin|commit|rollback"
    r"|savepoint|release|with|vacuum)\b",
    re.IGNORECASE,
)
# calls that run SQL (sqlite3 and sqlite-utils) or reach the database behind the store
SQL_CALLS = {"execute", "executemany", "executescript", "query", "table", "atomic"}
DATABASE_ATTRIBUTES = {"db", "conn"}


def _in_store(path: Path) -> bool:
    relative = path.relative_to(BOT)
    return relative.parts[0] in STORE_MODULES


def _text(node: ast.AST) -> str:
    """The literal text of a string argument (an f-string's constant pieces joined)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value
            for part in node.values
            if isinstance(part, ast.Constant) and isinstance(part.value, str)
        )
    return ""


def sql_outside_store(source: str, name: str) -> list[str]:
    """Where ``source`` runs SQL or reaches the database: "name:line: what"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            first = _text(node.args[0]) if node.args else ""
            if method in SQL_CALLS and (
                SQL_START.match(first)
                or (
                    isinstance(node.func.value, ast.Attribute)
                    and node.func.value.attr in DATABASE_ATTRIBUTES
                )
            ):
                found.append(f"{name}:{node.lineno}: .{method}({first[:40]!r})")
        elif isinstance(node, ast.Subscript) and (
            (isinstance(node.value, ast.Name) and node.value.id == "db")
            or (isinstance(node.value, ast.Attribute) and node.value.attr == "db")
        ):
            found.append(f"{name}:{node.lineno}: db[...]")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in DATABASE_ATTRIBUTES
            and isinstance(node.value, ast.Name | ast.Attribute)
            and (node.value.id if isinstance(node.value, ast.Name) else node.value.attr) == "store"
        ):
            found.append(f"{name}:{node.lineno}: store.{node.attr}")
    return found


def test_no_sql_outside_the_store() -> None:
    found = [
        hit
        for path in sorted(BOT.rglob("*.py"))
        if not _in_store(path)
        for hit in sql_outside_store(
            path.read_text(encoding="utf-8"), str(path.relative_to(BOT.parent))
        )
    ]
    assert not found, "SQL outside bot/store: move it into a Store method:\n" + "\n".join(found)


def test_the_scan_finds_each_way_of_running_sql() -> None:
    source = """
def f(store, db, conn):
    store.conn.execute("select 1 from events")
    conn.execute(f"update drafts set {x} = ? where id = ?", [1])
    store.db.query("select * from publish_log")
    db["events"].insert({})
    store.db.table("events")
    with store.db.atomic():
        pass
    cursor.executemany("insert into members values (?)", rows)
    self.store.conn
"""
    lines = [hit.split(":")[1] for hit in sql_outside_store(source, "m.py")]
    for line in (3, 4, 5, 6, 7, 8, 10, 11):
        assert str(line) in lines, (line, lines)


def test_the_scan_leaves_other_calls_alone() -> None:
    source = """
def f(store, parser, cursor):
    store.events_on(1, 10)
    parser.execute(args)
    store.query_events("select a day")
    text = "select the events of a day"
    with store.atomic():
        pass
"""
    assert sql_outside_store(source, "m.py") == []
