"""The console command: `tfcs231n parity` prints the table and its exit status tells."""

import subprocess
import sys

import pytest

from tfcs231n import cli
from tfcs231n.parity import cases as parity_cases
from tfcs231n.cli.args import at_least_one, at_least_zero, random_seed


def test_parity_command_prints_table_and_passes(capsys, tmp_path):
    out_json = tmp_path / "parity.json"
    status = cli.main(["parity", "--module", "rnn", "--dtype", "float64", "--json", str(out_json)])
    out = capsys.readouterr().out
    assert status == 0
    assert "lstm_forward" in out and "dWh" in out and "FAIL" not in out
    assert "8 passed, 0 failed" in out
    assert out_json.read_text().startswith("[")


def test_parity_command_exits_nonzero_when_a_row_fails(monkeypatch, capsys):
    def broken(dims):
        case = parity_cases.cases("rnn")[0]
        # A reference that is off by 1e-6: the float64 row must fail.
        bad_ref = lambda inputs, douts: (  # noqa: E731
            [o * (1 + 1e-6) for o in case.ref_fn(inputs, douts)[0]], case.ref_fn(inputs, douts)[1])
        return [parity_cases.Case("broken", "broken", case.tf_fn, bad_ref, case.specs, case.wrt)]

    monkeypatch.setitem(parity_cases._BUILDERS, "broken", broken)
    monkeypatch.setitem(parity_cases.SHAPES, "broken", [{}])
    assert cli.main(["parity", "--module", "broken", "--dtype", "float64"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_unknown_module_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TFCS231N_TRACEBACK", raising=False)
    with pytest.raises(SystemExit, match=r"^tfcs231n parity: .*\bmodule\b.*'nope'"):
        cli.main(["parity", "--module", "nope"])
    monkeypatch.setenv("TFCS231N_TRACEBACK", "1")  # for a bug report: the real exception
    with pytest.raises(ValueError, match=r"\bmodule\b.*'nope'"):
        cli.main(["parity", "--module", "nope"])


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "tfcs231n", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and "parity" in result.stdout


# One bad invocation per command (cheap: each fails before any model is built or trained);
# {tmp} is a fresh directory. The message must start with the command's name, so a person
# running several commands in a script knows which one complained.
BAD_INVOCATIONS = {
    "caption sample, no model": ("caption", ["caption", "sample", "--model", "{tmp}/no.keras"],
                                 "no model at {tmp}/no.keras"),
    "augment, missing image": ("augment", ["augment", "{tmp}/none.png", "--flip"],
                               "cannot read image {tmp}/none.png"),
    "augment, nothing to do": ("augment", ["augment", "{tmp}/pic.png"], "choose at least one"),
    "resnet18 convert, missing": ("resnet18", ["resnet18", "convert", "{tmp}/no.pth",
                                               "{tmp}/x.weights.h5"], "no weights file"),
    "demo, unknown section": ("demo", ["demo", "--sections", "nosuch", "--out", "{tmp}/d"],
                              "unknown sections"),
    "gan sample, not a run": ("gan", ["gan", "sample", "--checkpoint", "{tmp}", "--out",
                                      "{tmp}/x.png"], "{tmp} has no run.json"),
    "gan train --resume, another model": ("gan", ["gan", "train", "--resume", "--out", "{tmp}/run",
                                           "--model", "vanilla"], "{tmp}/run holds a dcgan run"),
    "style, preset for another backbone": (
        "style", ["style", "{tmp}/pic.png", "{tmp}/pic.png", "-o", "{tmp}/x.png", "--preset",
                  "course", "--backbone", "vgg16-hed"], "preset course-composition-vii is tuned"),
}


@pytest.mark.parametrize("case", BAD_INVOCATIONS)
def test_bad_input_names_the_command_and_offers_the_traceback(case, tmp_path, monkeypatch):
    import json

    import numpy as np
    from PIL import Image

    monkeypatch.delenv("TFCS231N_TRACEBACK", raising=False)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "pic.png")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_text(json.dumps({"model": "dcgan", "noise_dim": 96}))
    command, argv, start = BAD_INVOCATIONS[case]
    with pytest.raises(SystemExit) as info:
        cli.main([a.format(tmp=tmp_path) for a in argv])
    message, hint = str(info.value.code).splitlines()
    assert message.startswith(f"tfcs231n {command}: {start.format(tmp=tmp_path)}"), message
    assert hint == "(TFCS231N_TRACEBACK=1 shows where it was raised)"


def _options(parser, prefix="tfcs231n"):
    """(command path, argparse action) for every argument of every subcommand."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, f"{prefix} {name}")
        else:
            yield prefix, action


def test_no_option_takes_an_unchecked_integer():
    # A bare type=int let `--rows 0` end in "max() arg is an empty sequence" and
    # `--size 0` in a Keras traceback; counts and seeds are checked where they enter.
    unchecked = [f"{where} {'/'.join(a.option_strings) or a.dest}"
                 for where, a in _options(cli.build_parser()) if a.type is int]
    assert not unchecked


@pytest.mark.parametrize("kind, good, bad", [
    (at_least_one, ["1", "25"], ["0", "-1", "1.5", "x", ""]),
    (at_least_zero, ["0", "7"], ["-1", "0.5", "x"]),
    (random_seed, ["0", str(2**32 - 1)], ["-1", str(2**32), "1e3"])])
def test_argument_types(kind, good, bad):
    import argparse

    assert [kind(text) for text in good] == [int(text) for text in good]
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError, match=repr(text)):
            kind(text)
