"""The student edition's build: solution regions -> stubs, the handout's layout, the CLI."""

import ast
import json

import pytest

from tfcs231n.assignment import build, notebooks, sections
from tfcs231n.cli import main

SOURCE = '''import numpy as np
from tfcs231n.course._tape import forward


class Model:
    def loss(self, x):
        """Doc."""
        y = 2 * x
        ### BEGIN SOLUTION
        return y + 1
        ### END SOLUTION


def rnn_step_forward(x):
    ### BEGIN SOLUTION
    return forward(x)
    ### END SOLUTION
'''


def test_regions_name_their_functions_and_methods():
    regions = build.solution_regions(SOURCE.replace("Model", "CaptioningRNN"))
    assert [r[2] for r in regions] == ["CaptioningRNN.loss", "rnn_step_forward"]


def test_handout_stubs_each_region_and_keeps_the_rest():
    text = build.handout_source(SOURCE.replace("Model", "CaptioningRNN"))
    assert "return y + 1" not in text and "return forward(x)" not in text
    assert 'raise NotImplementedError("CaptioningRNN.loss: not implemented")' in text
    assert '# TODO: write rnn_step_forward' in text and 'section "Vanilla RNN"' in text
    assert "y = 2 * x" in text and '"""Doc."""' in text
    assert "from cs231n._tape import forward" in text  # imports follow the package
    ast.parse(text)


def test_solution_copy_keeps_the_code_and_drops_the_markers():
    text = build.handout_source(SOURCE.replace("Model", "CaptioningRNN"), solution=True)
    assert "return y + 1" in text and "return forward(x)" in text and "SOLUTION" not in text


@pytest.mark.parametrize("source,match", [
    ("def f():\n    ### BEGIN SOLUTION\n    pass\n", r"never closed"),
    ("def f():\n    pass\n    ### END SOLUTION\n", r"without"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", r"outside any function"),
])
def test_malformed_markers_are_errors(source, match):
    with pytest.raises(ValueError, match=match):
        build.solution_regions(source)


def test_every_marked_function_is_a_students_function_and_every_one_is_marked():
    marked = set()
    for rel in build._course_modules():
        text = (build.COURSE_ROOT / rel).read_text(encoding="utf-8")
        marked |= {(rel, name) for _, _, name in build.solution_regions(text)}
    assert marked == {(f.module, f.name) for f in sections.functions()}


def test_build_writes_the_handout(tmp_path):
    out = tmp_path / "handout"
    written = build.build(out, ["captioning", "gan"])
    assert {"Captioning.ipynb", "GANs.ipynb", "README.md"} <= set(written)
    assert not (out / "cs231n/style_transfer_tensorflow.py").exists()  # section left out
    assert not (out / "NetworkVisualization.ipynb").exists()
    for rel in ("rnn_layers.py", "classifiers/rnn.py", "gan_tf.py"):
        text = (out / "cs231n" / rel).read_text()
        assert "SOLUTION" not in text and "NotImplementedError" in text and "tfcs231n.course" \
            not in "".join(l for l in text.splitlines() if l.startswith(("from", "import")))
    readme = (out / "README.md").read_text()
    assert "tfcs231n assignment check" in readme and "`lstm_step_forward`" in readme
    assert "`tv_loss`" not in readme
    with pytest.raises(ValueError, match=r"\bout\b.*handout"):
        build.build(out)


def test_notebook_cells_carry_nbgrader_metadata(tmp_path):
    path = tmp_path / "GANs.ipynb"
    notebooks.write(path, "gan")
    nb = json.loads(path.read_text())
    meta = [c["metadata"]["nbgrader"] for c in nb["cells"]]
    ids = [m["grade_id"] for m in meta]
    assert len(ids) == len(set(ids))
    graded = [m for m in meta if m["grade"]]
    assert graded and all(m["points"] == 1 and m["locked"] for m in graded)
    answers = [c for c in nb["cells"] if c["metadata"]["nbgrader"]["solution"]]
    assert len(answers) == 1 and "### BEGIN SOLUTION" in answers[0]["source"]


def test_parse_sections_rejects_unknown_names():
    assert sections.parse_sections("gan, captioning") == ["captioning", "gan"]
    with pytest.raises(ValueError, match=r"sections.*'gan,foo'"):
        sections.parse_sections("gan,foo")
    with pytest.raises(ValueError, match=r"function.*'nope'"):
        sections.find("nope")


def test_cli_build_and_its_errors(tmp_path, capsys):
    assert main(["assignment", "build", str(tmp_path / "h"), "--sections", "style"]) == 0
    assert "StyleTransfer.ipynb" in capsys.readouterr().out
    with pytest.raises(SystemExit, match=r"tfcs231n assignment: sections.*'nope'"):
        main(["assignment", "build", str(tmp_path / "x"), "--sections", "nope"])
    with pytest.raises(SystemExit, match=r"tfcs231n assignment: .*holds no cs231n"):
        main(["assignment", "check", str(tmp_path)])
    with pytest.raises(SystemExit, match=r"tfcs231n assignment: no directory"):
        main(["assignment", "check", str(tmp_path / "missing")])
