"""pytest.ini with tests/conftest.py: `benchmark` and `network` tests run only when `-m`
names them, whatever else `-m` says; `e2e` tests run by default and `-m "not e2e"` drops
them (the fast loop)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SAMPLE = '''
import pytest

def test_plain(): pass

@pytest.mark.e2e
def test_pipeline(): pass

@pytest.mark.benchmark
def test_timing(): pass

@pytest.mark.network
def test_download(): pass

@pytest.mark.network
@pytest.mark.e2e
def test_download_pipeline(): pass
'''


@pytest.fixture(scope="module")
def sample_project(tmp_path_factory):
    """A directory with the project's pytest.ini and conftest.py and one test per marker."""
    root = tmp_path_factory.mktemp("markers")
    shutil.copy(ROOT / "pytest.ini", root / "pytest.ini")
    (root / "tests").mkdir()
    shutil.copy(ROOT / "tests" / "conftest.py", root / "tests" / "conftest.py")
    (root / "tests" / "test_sample.py").write_text(SAMPLE)
    return root


def _collected(root, *args):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "--strict-markers", *args], cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 5), result.stdout + result.stderr  # 5: none collected
    return sorted(line.split("::")[1] for line in result.stdout.splitlines() if "::" in line)


@pytest.mark.parametrize("args,expected", [
    ((), ["test_pipeline", "test_plain"]),
    (("-m", "not e2e"), ["test_plain"]),
    (("-m", "benchmark"), ["test_timing"]),
    (("-m", "network"), ["test_download", "test_download_pipeline"]),
    (("-m", "network and not e2e"), ["test_download"]),
    (("-m", "not network"), ["test_pipeline", "test_plain"]),
    (("-m", "e2e"), ["test_pipeline"]),
    (("-k", "download"), []),
], ids=["default", "fast-loop", "benchmark", "network", "network-not-e2e", "not-network",
        "e2e", "k-only"])
def test_opt_in_markers_need_naming(sample_project, args, expected):
    assert _collected(sample_project, *args) == expected
