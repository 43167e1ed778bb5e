"""The handout's notebooks under the real nbgrader: generate_assignment accepts them and
autograde gives the solution copy full marks and the stub copy zero."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tfcs231n.assignment import build

pytest.importorskip("nbgrader")
ROOT = Path(__file__).resolve().parent.parent


def _nbgrader(course, *args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
           # nbgrader runs the venv's `alembic` and kernels by name
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.mark.e2e
def test_generate_and_autograde(tmp_path):
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    build.build(course / "source" / "ps1")  # the handout is nbgrader's source
    build.build(course / "submitted" / "sol" / "ps1", solution=True)
    build.build(course / "submitted" / "stub" / "ps1")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.db_url = 'sqlite:///gradebook.db'\n"
        f"c.Autograde.exclude_overwriting = {{'ps1': {build.student_modules()!r}}}\n"
        "c.ExecutePreprocessor.timeout = 300\n")
    _nbgrader(course, "generate_assignment", "ps1", "--force")
    release = course / "release" / "ps1"
    assert "### BEGIN SOLUTION" not in (release / "GANs.ipynb").read_text()
    _nbgrader(course, "db", "student", "add", "sol")
    _nbgrader(course, "db", "student", "add", "stub")
    _nbgrader(course, "autograde", "ps1")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        solution, stub = gb.find_submission("ps1", "sol"), gb.find_submission("ps1", "stub")
        assert solution.max_score > 0
        assert solution.score == solution.max_score
        assert stub.score == 0
