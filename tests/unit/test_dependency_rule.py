"""The package's dependency rule and shape, read from the source with ``ast`` (no import runs).

The rule (docs/architecture.md, conventions "Library first, commands thin"):
- cli -> api -> the rest: only ``migrator/cli/*`` and ``migrator/__main__`` import
  ``migrator.cli`` or ``migrator.api``; the cli reaches the rest through the api, and besides it
  only the vocabulary every layer shares (errors, settings, verdicts);
- ``migrator.snapshot`` and ``migrator.verify`` never import each other, in either direction, from
  any submodule (what both read, the snapshot file format, is ``migrator.archive``, below both);
- no import cycle among modules;
- only an engine's adapter imports its driver (``migrator/mysql/`` PyMySQL, ``migrator/postgres/``
  psycopg);
- at most 6 modules directly in ``migrator/``; no module over 450 lines;
- ``migrator/common/`` imports nothing from the project but ``migrator.errors``;
- the revision chain is declared once, in ``migrator.chain.revisions``: the alembic scripts,
  the step definitions and the schema models spell exactly its ids, in its order.

Imports are counted wherever they are written (module level, inside functions, under
``if TYPE_CHECKING``), relative ones resolved. ``from P import x`` counts as importing the module
``P.x`` when there is one, else ``P``. That importing ``P.x`` also runs ``P/__init__.py`` is not a
design dependency and is not counted: a submodule depends on its package's ``__init__`` only when
it imports a name defined there. (structure.py reads every ``from P`` as importing ``P`` and drops
the edges between a package and its own submodules instead.)

Where the code breaks the rule today, the violation is listed in ``KNOWN_VIOLATIONS`` and each
test asserts its violations are *exactly* the known ones: a new one fails, and so does fixing
one without removing it from the list (the list only shrinks).
"""
from __future__ import annotations

import ast
import pathlib
from collections import deque

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "migrator"
MAX_LINES = 450
MAX_TOP_MODULES = 6

SNAPSHOT_PACKAGE = "migrator.snapshot"
VERIFY_PACKAGE = "migrator.verify"
# What the cli may import besides the api and itself: the vocabulary every layer shares.
CLI_MAY_IMPORT = ("migrator.api", "migrator.errors", "migrator.settings", "migrator.verdicts")
# A driver -> the only package that may import it.
DRIVERS = {"pymysql": "migrator.mysql", "psycopg": "migrator.postgres", "psycopg2": "migrator.postgres"}

# (rule, violation) as the tests below spell them. Remove an entry in the commit that fixes it;
# never add one to make a test pass (fix the import instead).
KNOWN_VIOLATIONS: frozenset[tuple[str, str]] = frozenset()


# -- reading the package ------------------------------------------------------------------------
def _modules() -> dict[str, pathlib.Path]:
    """Dotted module name -> file, for every .py under migrator/ (packages by their __init__)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(module: str, source: str, is_package: bool, modules) -> tuple[set[str], set[str]]:
    """(project modules ``module`` imports, top-level names of the outside packages it imports)."""
    package = module if is_package else module.rpartition(".")[0]
    inside: set[str] = set()
    outside: set[str] = set()

    def add(target: str) -> None:
        if target.split(".")[0] != "migrator":
            outside.add(target.split(".")[0])
            return
        while target and target not in modules:  # migrator.a.b.func -> migrator.a.b
            target = target.rpartition(".")[0]
        if target and target != module:
            inside.add(target)

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                source_module = ".".join(base + ([node.module] if node.module else []))
            else:
                source_module = node.module or ""
            for alias in node.names:
                child = f"{source_module}.{alias.name}"
                add(child if child in modules else source_module)
    return inside, outside


GRAPH: dict[str, set[str]] = {}
EXTERNAL: dict[str, set[str]] = {}
for _m, _p in MODULES.items():
    GRAPH[_m], EXTERNAL[_m] = _imports(_m, _p.read_text(encoding="utf-8"), _p.name == "__init__.py", MODULES)


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _edges():
    for src in sorted(GRAPH):
        for dst in sorted(GRAPH[src]):
            yield src, dst


def _check(rule: str, found: set[str], how_to_fix: str) -> None:
    known = {v for r, v in KNOWN_VIOLATIONS if r == rule}
    new, fixed = sorted(found - known), sorted(known - found)
    assert not new, f"{rule}: new violation(s) ({how_to_fix}):\n  " + "\n  ".join(new)
    assert not fixed, (f"{rule}: no longer violated (or renamed by a move): remove from KNOWN_VIOLATIONS "
                       "in tests/unit/test_dependency_rule.py:\n  " + "\n  ".join(fixed))


# -- the reader itself --------------------------------------------------------------------------
def test_the_reader_sees_module_function_level_and_relative_imports():
    modules = {"migrator", "migrator.api", "migrator.errors", "migrator.cli", "migrator.cli.render",
               "migrator.cli.plan_cmd", "migrator.safety", "migrator.safety.preflight", "migrator.mysql",
               "migrator.mysql.connection"}
    source = (
        "import json\n"
        "import pymysql.err\n"
        "from .. import api\n"                               # a module, through its package
        "from ..errors import UsageError\n"                  # a name in a module
        "from .render import emit_json\n"
        "from . import render\n"                             # a sibling module
        "import migrator.mysql.connection as dbmod\n"
        "def plan():\n"
        "    from ..safety.preflight import raise_on_failures\n"  # inside a function
        "if TYPE_CHECKING:\n"
        "    from migrator import cli\n"                     # guarded: still a dependency
    )
    inside, outside = _imports("migrator.cli.plan_cmd", source, False, modules)
    assert inside == {"migrator.api", "migrator.errors", "migrator.cli.render", "migrator.mysql.connection",
                      "migrator.safety.preflight", "migrator.cli"}
    assert outside == {"json", "pymysql"}
    # In a package's __init__, "." is the package itself.
    inside, _ = _imports("migrator.cli", "from . import render\nfrom .. import errors\n", True, modules)
    assert inside == {"migrator.cli.render", "migrator.errors"}
    assert "migrator.__main__" in MODULES and "migrator" in MODULES


# -- cli -> api -> the rest ---------------------------------------------------------------------
def _is_cli(module: str) -> bool:
    return _under(module, "migrator.cli") or module == "migrator.__main__"


def test_only_the_cli_imports_the_cli():
    found = {f"{s} -> {d}" for s, d in _edges() if _under(d, "migrator.cli") and not _is_cli(s)}
    _check("cli from nowhere else", found, "the cli is the top layer: move what is shared below it")


def test_only_the_cli_imports_the_api():
    found = {f"{s} -> {d}" for s, d in _edges() if d == "migrator.api" and not _is_cli(s)}
    _check("api only from cli", found, "the api is called by the cli only: call the module the api calls")


def test_the_cli_reaches_the_rest_through_the_api():
    found = {f"{s} -> {d}" for s, d in _edges()
             if _is_cli(s) and not _is_cli(d) and d != "migrator" and d not in CLI_MAY_IMPORT}
    _check("cli only through api", found, "give the api the verb or re-export the type, and import it from there")


# -- snapshot and verify ------------------------------------------------------------------------
def test_snapshot_and_verify_never_import_each_other():
    found = {f"{s} -> {d}" for s, d in _edges()
             if (_under(s, SNAPSHOT_PACKAGE) and _under(d, VERIFY_PACKAGE))
             or (_under(s, VERIFY_PACKAGE) and _under(d, SNAPSHOT_PACKAGE))}
    _check("snapshot and verify apart", found, "move what both need below both (migrator/archive, mysql, schema)")


# -- cycles -------------------------------------------------------------------------------------
def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's groups of more than one module (iterative: no recursion limit to worry about)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    group = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        group.append(w)
                        if w == v:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
    return groups


def _cycle_path(graph: dict[str, set[str]], group: list[str]) -> str:
    """The shortest cycle through the group's first module, e.g. a -> b -> c -> a."""
    members, start = set(group), group[0]
    came: dict[str, str] = {}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for w in sorted(graph[v] & members):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(came[path[-1]])
                return " -> ".join([*reversed(path), start])
            if w not in came:
                came[w] = v
                queue.append(w)
    raise AssertionError(f"no cycle through {start}")  # a strongly connected group always has one


def test_strongly_connected_finds_a_cycle_and_its_path():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert _strongly_connected(graph) == [["a", "b", "c"]]
    assert _cycle_path(graph, ["a", "b", "c"]) == "a -> b -> c -> a"


def test_no_import_cycle():
    groups = _strongly_connected(GRAPH)
    found = {" <-> ".join(g) for g in groups}
    paths = "; ".join(_cycle_path(GRAPH, g) for g in groups if " <-> ".join(g) not in
                      {v for r, v in KNOWN_VIOLATIONS if r == "no cycle"})
    _check("no cycle", found, f"break the cycle: {paths}")


# -- drivers ------------------------------------------------------------------------------------
def test_only_the_adapter_imports_its_driver():
    found = {f"{m} -> {driver}" for m in sorted(EXTERNAL) for driver, home in DRIVERS.items()
             if driver in EXTERNAL[m] and not _under(m, home)}
    _check("driver only in its adapter", found, "go through the adapter's Database instead")


# -- shape --------------------------------------------------------------------------------------
def test_few_modules_directly_in_the_package():
    top = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert len(top) <= MAX_TOP_MODULES, f"{len(top)} modules directly in migrator/ (at most {MAX_TOP_MODULES}): {top}"


def test_no_module_over_the_line_limit():
    sizes = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in MODULES.items()}
    found = {m for m, n in sizes.items() if n > MAX_LINES}
    _check("module size", found, f"over {MAX_LINES} lines, split by job: " +
           ", ".join(f"{m} {sizes[m]}" for m in sorted(found)))


def test_common_imports_only_errors():
    bad = {f"{s} -> {d}" for s, d in _edges() if _under(s, "migrator.common")
           and not _under(d, "migrator.common") and d != "migrator.errors"}
    assert not bad, "migrator/common/ is below every package; it may import migrator.errors only:\n  " + \
        "\n  ".join(sorted(bad))


# -- the revision chain, declared once ------------------------------------------------------------
def test_alembic_scripts_spell_the_declared_chain():
    from migrator.chain import revisions
    from migrator.chain.scripts import check_chain, script_directory

    pairs = check_chain()  # read by alembic's ScriptDirectory, root first
    ids = list(revisions.ORDER[1:])
    assert [r for r, _ in pairs] == ids
    assert [d for _, d in pairs] == [None, *ids[:-1]]
    assert list(script_directory().get_heads()) == [revisions.HEAD]


def test_steps_and_schema_models_spell_the_declared_chain():
    from migrator.chain import revisions
    from migrator.chain.steps import STEPS
    from migrator.schema.revisions import MODELS

    assert list(MODELS) == list(revisions.ORDER)
    assert all(MODELS[r].revision == r for r in MODELS)
    assert list(STEPS) == list(revisions.ORDER[1:])
    assert all(STEPS[r].revision == r for r in STEPS)


def test_every_known_violation_names_a_rule_checked_here():
    # A misspelt rule would leave its entry unchecked forever.
    rules = {"cli from nowhere else", "api only from cli", "cli only through api", "snapshot and verify apart",
             "no cycle", "driver only in its adapter", "module size"}
    assert {r for r, _ in KNOWN_VIOLATIONS} <= rules
