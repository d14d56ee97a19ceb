"""The package's layers: every module imports only modules of its own layer or below, and no
two modules import each other, counting every `import` (those inside functions too, which keep
start-up fast but are imports all the same). Imports under `if TYPE_CHECKING:` are not run-time
imports and are left out. The graph is built from the source, so a new import that climbs
fails here with the two modules named."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"

# lowest first; a module may import its own layer and the ones above it in this list.
# A package name stands for every module in it that is not listed on its own, except the names
# in PACKAGE_ONLY, which stand for the package's __init__ alone (a docstring, no imports).
LAYERS: list[tuple[str, list[str]]] = [
    ("leaves", [
        "bot", "bot.errors", "bot.secrets_filter", "bot.clock", "bot.paths", "bot.faults",
        "bot.urls", "bot.input_rules", "bot.safe_load", "bot.local_files", "bot.locks",
        "bot.daemon_state", "bot.i18n",
        "bot.http", "bot.neutralise", "bot.model.dates", "bot.content.fetching", "bot.wording",
        "bot.events", "bot.threads", "bot.publishing", "bot.preview", "bot.operations",
    ]),
    ("model", ["bot.model"]),
    ("adapters", ["bot.posters"]),
    ("config", ["bot.config", "bot.config.channel", "bot.config.memo"]),
    ("validation", ["bot.events.schema", "bot.events.list_schema", "bot.content", "bot.content.text",
                    "bot.content.importance", "bot.content.wording"]),
    ("files", ["bot.content.onthisday", "bot.events.loader"]),
    ("members", ["bot.events.mentions", "bot.events.directory"]),
    ("store", ["bot.store_file", "bot.store"]),
    ("threads", ["bot.threads.select", "bot.threads.render", "bot.threads.fitting"]),
    ("pick", ["bot.content.pick"]),
    ("day", ["bot.app", "bot.content.background", "bot.content.calendar",
             "bot.content.promote", "bot.content.coverage"]),
    ("settings", ["bot.config.schema", "bot.config.loading"]),
    ("publish", ["bot.publishing.log_reading", "bot.publishing.log", "bot.threads.day"]),
    ("review", ["bot.drafts"]),
    ("daily", ["bot.publishing.daily", "bot.publishing.scheduler"]),
    ("preview", ["bot.preview.text", "bot.preview.html", "bot.preview.day"]),
    ("operations", ["bot.operations.publish_report", "bot.operations.retry",
                    "bot.operations.draft_review", "bot.operations.listings",
                    "bot.operations.config_check", "bot.operations.alerts",
                    "bot.operations.heartbeat", "bot.operations.watch", "bot.operations.starter",
                    "bot.operations.event_admin", "bot.operations.review"]),
    ("web", ["bot.web"]),  # the web page: beside the CLI, over the same library
    ("cli", ["bot.cli", "bot.__main__"]),
    ("testing", ["bot.testing"]),  # the adapter contract suite: only tests import it
]  # fmt: skip
PACKAGE_ONLY = {
    "bot",
    "bot.events",
    "bot.threads",
    "bot.publishing",
    "bot.preview",
    "bot.operations",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in BOT.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the module's package
                    package = name.split(".")
                    if path.name != "__init__.py":
                        package = package[:-1]
                    package = package[: len(package) - node.level + 1]
                    base = ".".join(package + ([node.module] if node.module else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            if _type_checking_only(node, parents):
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not (target == "bot" and name != "bot"):
                    graph[name].add(target)
    return graph


def layer_of(module: str) -> int:
    best, rank = -1, None
    for index, (_, members) in enumerate(LAYERS):
        for member in members:
            within = module.startswith(member + ".") and member not in PACKAGE_ONLY
            if (module == member or within) and len(member) > best:
                best, rank = len(member), index
    assert rank is not None, f"{module} is in no layer: add it to LAYERS in {__file__}"
    return rank


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_every_import_goes_down_the_layers():
    graph = import_graph()
    climbing = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if layer_of(target) > layer_of(module)
    ]
    assert climbing == []


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    # bot.publishing.daily imports bot.app inside publish_day (start-up speed): still an edge
    assert (
        "bot.publishing.log" in graph["bot.publishing.daily"]
        and "bot.app" in graph["bot.publishing.daily"]
    )


def test_the_stage_folders_import_nothing_themselves():
    graph = import_graph()
    assert {name: graph[name] for name in PACKAGE_ONLY - {"bot"} if graph[name]} == {}
