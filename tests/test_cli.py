"""The console command: `tfcs231n parity` prints the table and its exit status tells."""

import subprocess
import sys

import pytest

from tfcs231n import cli, parity_cases


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
    with pytest.raises(SystemExit, match="^tfcs231n parity: unknown parity module 'nope'"):
        cli.main(["parity", "--module", "nope"])
    monkeypatch.setenv("TFCS231N_TRACEBACK", "1")  # for a bug report: the real exception
    with pytest.raises(ValueError, match="unknown parity module 'nope'"):
        cli.main(["parity", "--module", "nope"])


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "tfcs231n", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and "parity" in result.stdout
