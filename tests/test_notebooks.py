"""The notebooks in notebooks/: each executes top to bottom offline, and is committed clean.

Every `notebooks/*.ipynb` is picked up automatically. Execution uses quick mode
(TFCS231N_QUICK=1: same cells, smaller training) on the synthetic world, written once into a
temporary data directory shared by all notebooks; the kernel inherits the environment set
here. A failing cell fails the test with nbclient's CellExecutionError, which shows the
cell's source and traceback.
"""

import os
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IDS = [path.stem for path in NOTEBOOKS]
CELL_TIMEOUT_S = 300

# The captioning notebooks print the course's loss check as "difference: <float>".
LOSS_DIFFERENCE = re.compile(r"^difference:\s*(\S+)\s*$", re.MULTILINE)


@pytest.fixture
def notebook_env(monkeypatch):
    """The kernel is a subprocess started by nbclient; it inherits os.environ, including
    the session's TFCS231N_DATA (tests/conftest.py), so trained models are shared."""
    monkeypatch.setenv("TFCS231N_QUICK", "1")
    monkeypatch.delenv("TFCS231N_COCO_DIR", raising=False)  # always the synthetic world
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    # The repository need not be installed: make `tfcs231n` and `torchref` importable.
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT)] + ([path] if path else [])))


def _outputs(nb):
    return [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]


def _stream_text(nb):
    return "".join(o.get("text", "") for o in _outputs(nb) if o.output_type == "stream")


def test_notebooks_are_found():
    assert NOTEBOOKS, f"no notebooks under {ROOT / 'notebooks'}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    dirty = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} hold outputs or execution counts; clear them"


@pytest.mark.e2e  # the checks above are instant and stay in the fast loop
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_executes(path, notebook_env):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), \
        f"{path.name} displayed no image"

    if "Captioning" in path.stem:
        text = _stream_text(nb)
        assert "expected loss:" in text, f"{path.name} printed no loss check"
        differences = [float(d) for d in LOSS_DIFFERENCE.findall(text)]
        assert differences, f"{path.name} printed no 'difference:' line"
        assert max(differences) < 1e-9, f"{path.name}: loss check differences {differences}"
