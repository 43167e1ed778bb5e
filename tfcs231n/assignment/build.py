"""`tfcs231n assignment build`: the student handout, made from `tfcs231n.course` itself.

The course modules carry their solutions between nbgrader's markers
(``### BEGIN SOLUTION`` / ``### END SOLUTION``). The build copies the course package under
the course's own name (`cs231n`, so course notebooks import it unchanged), replaces every
marked region by a ``# TODO`` and a ``raise NotImplementedError`` naming the function, and
writes the notebooks that check those functions and a README. With ``solution=True`` the
regions stay (markers removed): the reference copy a TA grades against or hands out later.
"""

import ast
import re
import shutil
from pathlib import Path

from tfcs231n.assignment import notebooks
from tfcs231n.assignment.sections import PACKAGE, SECTIONS, find, parse_sections

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
COURSE_ROOT = Path(__file__).resolve().parent.parent / "course"
_IMPORT = re.compile(r"^\s*(from|import)\s")


def _qualnames(tree):
    """[(first line, last line, qualified name)] of every function, methods as Class.name."""
    out = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((child.lineno, child.end_lineno, prefix + child.name))
                visit(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")

    visit(tree, "")
    return out


def _enclosing(functions, line):
    inside = [f for f in functions if f[0] <= line <= f[1]]
    if not inside:
        raise ValueError(f"solution marker on line {line} is outside any function")
    return max(inside, key=lambda f: f[0])[2]  # the innermost


def solution_regions(source):
    """[(begin line, end line, function name)] of the marked regions (1-based lines)."""
    lines = source.splitlines()
    functions = _qualnames(ast.parse(source))
    regions, begin = [], None
    for i, line in enumerate(lines, 1):
        marker = line.strip()
        if marker == BEGIN:
            if begin is not None:
                raise ValueError(f"line {i}: {BEGIN} inside another solution region")
            begin = i
        elif marker == END:
            if begin is None:
                raise ValueError(f"line {i}: {END} without {BEGIN}")
            regions.append((begin, i, _enclosing(functions, begin)))
            begin = None
    if begin is not None:
        raise ValueError(f"line {begin}: {BEGIN} is never closed")
    return regions


def handout_source(source, solution=False):
    """A course module's text as the handout holds it.

    Imports of `tfcs231n.course` become imports of the handout's own package. Each marked
    region becomes, at the marker's indentation, a TODO naming the notebook section and
    ``raise NotImplementedError("NAME: not implemented")``; with `solution`, the region's
    code stays and only the markers go.
    """
    lines = source.splitlines()
    out = list(lines)
    for begin, end, name in reversed(solution_regions(source)):
        indent = lines[begin - 1][: len(lines[begin - 1]) - len(lines[begin - 1].lstrip())]
        if solution:
            out[begin - 1:end] = lines[begin:end - 1]
            continue
        function = find(name)
        section = next(s for s in SECTIONS.values() if function in s.functions)
        out[begin - 1:end] = [
            f'{indent}# TODO: write {name}. {section.notebook}, section "{function.heading}",',
            f"{indent}# checks it; `tfcs231n assignment check` grades it.",
            f'{indent}raise NotImplementedError("{name}: not implemented")',
        ]
    out = [re.sub(r"\btfcs231n\.course\b", PACKAGE, line) if _IMPORT.match(line) else line
           for line in out]
    return "\n".join(out) + "\n"


def _course_modules():
    return sorted(p.relative_to(COURSE_ROOT).as_posix() for p in COURSE_ROOT.rglob("*.py"))


def build(out, sections=None, solution=False):
    """Writes the handout to directory `out` (created; must be empty if it exists).

    Args:
        out: the directory.
        sections: names from `SECTIONS` (default all); modules that teach only the other
            sections are left out.
        solution: keep the solutions (the TA's reference copy).

    Returns:
        The paths written, relative to `out`.
    """
    out = Path(out)
    sections = parse_sections(",".join(sections)) if sections else list(SECTIONS)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"out must be a new or empty directory, got {str(out)!r}")
    taught = {f.module: s.name for s in SECTIONS.values() for f in s.functions}
    written = []
    for rel in _course_modules():
        if rel in taught and taught[rel] not in sections:
            continue
        text = (COURSE_ROOT / rel).read_text(encoding="utf-8")
        if rel not in taught and solution_regions(text):
            raise ValueError(f"{rel} has solution regions but no section lists it")
        target = out / PACKAGE / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(handout_source(text, solution), encoding="utf-8")
        written.append(target.relative_to(out).as_posix())
    for name in sections:
        path = out / SECTIONS[name].notebook
        notebooks.write(path, name)
        written.append(path.name)
    (out / "README.md").write_text(notebooks.readme(sections), encoding="utf-8")
    written.append("README.md")
    return written


def student_modules(sections=None):
    """The handout's files students edit (``cs231n/rnn_layers.py``, ...): what nbgrader's
    autograde must take from the submission, not the source
    (``c.Autograde.exclude_overwriting = {"ps1": student_modules()}``)."""
    sections = sections or list(SECTIONS)
    return sorted({f"{PACKAGE}/{f.module}" for s in sections for f in SECTIONS[s].functions})


def copy_tree(src, dst):
    """Copies a handout directory (tests and the nbgrader layout use it)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
