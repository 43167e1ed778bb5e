"""The package's shape: no import cycles, and only `cli/` imports `cli/`.

Every import counts, also one inside a function: a lazy import still makes two modules
depend on each other.
"""

import ast
from pathlib import Path

import pytest

import tfcs231n

ROOT = Path(tfcs231n.__file__).parent


def _modules():
    """{dotted name: path} for every module of the package."""
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(path, modules):
    """The package's modules that `path` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from a.b import c` imports a.b.c when c is a module, else a.b.
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                     else node.module for a in node.names]
        else:
            continue
        found.update(n for n in names if n in modules)
    return found


def graph():
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def find_cycle(edges):
    """One import cycle as a list of modules [a, b, ..., a], or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_no_import_cycles():
    # cli/__init__ builds the parser from its submodules, which import cli.args: a package
    # and its own children, not two modules that need each other.
    edges = {a: {b for b in bs if not (a == "tfcs231n.cli" and b.startswith("tfcs231n.cli."))}
             for a, bs in graph().items()}
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges))


def test_only_cli_imports_cli():
    offenders = {a: sorted(b for b in bs if b == "tfcs231n.cli" or b.startswith("tfcs231n.cli."))
                 for a, bs in graph().items()
                 if not (a == "tfcs231n.cli" or a.startswith("tfcs231n.cli.")) and a != "tfcs231n.__main__"}
    assert not {a: b for a, b in offenders.items() if b}


def test_cycle_finder_finds_a_planted_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(edges) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("package", ["captioning", "visualization", "style", "gan", "vision",
                                     "parity", "bench", "demo", "cli", "data"])
def test_each_section_is_a_package(package):
    assert (ROOT / package / "__init__.py").is_file()
