"""Training under MultiWorkerMirroredStrategy: TF_CONFIG, the chief's writes, kill and resume.

The end-to-end tests start real worker processes on localhost (`--workers 2`), as a user
trying multi-host training on one machine would.
"""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import types

import numpy as np
import pytest

from tfcs231n import distribute
from tfcs231n._io import AtomicCheckpointer
from tfcs231n.parity.engine import TOLERANCES, compare_arrays


@dataclasses.dataclass(frozen=True)
class Run:
    """A small training command ("{out}": its run directory), what that directory holds
    afterwards, its epochs and iterations, and how to read the per-iteration losses from a
    checkpoint's state.json."""

    argv: list
    outputs: list
    epochs: int
    steps: int
    losses: object


RUNS = {
    # A small captioner, 3 epochs of 20 iterations over 1,000 synthetic captions.
    "caption": Run(["caption", "train", "--max-train", "1000", "--batch-size", "50",
                    "--hidden", "32", "--wordvec", "16", "--seed", "3", "--epochs", "3",
                    "--out", "{out}"],
                   ["checkpoints", "loss.png", "metrics.json", "model.keras"], 3, 60,
                   lambda state: state["loss_history"]),
    # The course's vanilla GAN, 4 epochs of 6 iterations on 512 synthetic digits, with the
    # generator exported into the run directory. Its losses: (d_loss, g_loss) per step. Not
    # the DCGAN: under Adam its batch norm's round-off grows apart between a split and a
    # whole batch (see test_gan_training's MirroredStrategy test).
    "gan": Run(["gan", "train", "--model", "vanilla", "--n-train", "512", "--batch-size", "32",
                "--steps-per-epoch", "6", "--epochs", "4", "--seed", "3", "--no-metrics",
                "--quiet", "--out", "{out}", "--export", "{out}/generator"],
               ["checkpoints", "generator", "history.json", "run.json",
                *[f"samples-epoch-{e:03d}.png" for e in range(1, 5)]], 4, 24,
               lambda state: [state["history"]["d_loss"], state["history"]["g_loss"]]),
}


def _argv(name, out):
    return [a.format(out=out) for a in RUNS[name].argv]


def _config(workers, index, chief=None):
    cluster = {"worker": workers} if chief is None else {"chief": chief, "worker": workers}
    task_type = "worker" if chief is None or index >= 0 else "chief"
    return {"TF_CONFIG": json.dumps({"cluster": cluster,
                                     "task": {"type": task_type, "index": max(index, 0)}})}


def test_cluster_spec_reads_tf_config():
    assert distribute.cluster_spec({}) is None
    assert distribute.cluster_spec(_config(["a:1"], 0)) is None  # one worker: no cluster
    assert distribute.cluster_spec(_config(["a:1", "b:2"], 1)) == (["a:1", "b:2"], 1)
    # A chief job counts as worker 0; the workers follow it.
    assert distribute.cluster_spec(_config(["b:2"], 0, chief=["a:1"])) == (["a:1", "b:2"], 1)
    assert distribute.cluster_spec(_config(["b:2"], -1, chief=["a:1"])) == (["a:1", "b:2"], 0)


@pytest.mark.parametrize("text,words", [
    ("{not json", ["TF_CONFIG"]),
    (json.dumps({"cluster": {"worker": ["a:1", "b:2"]}}), ["TF_CONFIG", "task"]),
    (json.dumps({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker",
                                                                   "index": 2}}), ["index", "2"]),
    (json.dumps({"cluster": {"worker": ["a:1"], "ps": ["b:2"]}, "task": {"type": "worker",
                                                                          "index": 0}}), ["ps"]),
])
def test_cluster_spec_refuses_bad_tf_config(text, words):
    with pytest.raises(ValueError) as e:
        distribute.cluster_spec({"TF_CONFIG": text})
    assert all(w in str(e.value) for w in words), str(e.value)


def test_local_tf_configs_name_distinct_ports_and_every_index():
    configs = [json.loads(c) for c in distribute.local_tf_configs(3)]
    workers = configs[0]["cluster"]["worker"]
    assert len(set(workers)) == 3 and all(c["cluster"]["worker"] == workers for c in configs)
    assert [c["task"]["index"] for c in configs] == [0, 1, 2]
    with pytest.raises(ValueError, match=r"workers.*\b1\b"):
        distribute.local_tf_configs(1)


def test_is_chief():
    def strategy(task_type, task_id, jobs=("worker",)):
        spec = types.SimpleNamespace(jobs=list(jobs))
        resolver = types.SimpleNamespace(task_type=task_type, task_id=task_id,
                                         cluster_spec=lambda: spec)
        return types.SimpleNamespace(cluster_resolver=resolver)

    assert distribute.is_chief(None)
    assert distribute.is_chief(strategy(None, None))  # a one-machine strategy
    assert distribute.is_chief(strategy("worker", 0))
    assert not distribute.is_chief(strategy("worker", 1))
    assert not distribute.is_chief(strategy("worker", 0, ("chief", "worker")))
    assert distribute.is_chief(strategy("chief", 0, ("chief", "worker")))


def test_non_chief_checkpointer_leaves_nothing(tmp_path, monkeypatch):
    import tensorflow as tf

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr("tempfile.tempdir", None)
    variable = tf.Variable([1.0, 2.0])
    assert AtomicCheckpointer(tmp_path / "run", chief=False, v=variable).save(1, {}) is None
    assert not (tmp_path / "run").exists() and not list(scratch.iterdir())
    chief = AtomicCheckpointer(tmp_path / "run", v=variable)
    assert chief.save(1, {}) is not None and [e for e, _ in chief.checkpoints()] == [1]


def test_gan_train_on_a_non_chief_writes_and_prints_nothing(tmp_path, monkeypatch, capsys):
    from tfcs231n import cli

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.setattr(distribute, "is_chief", lambda strategy=None: False)
    out = tmp_path / "run"
    assert cli.main(["gan", "train", "--model", "vanilla", "--n-train", "64", "--batch-size",
                     "16", "--steps-per-epoch", "2", "--epochs", "2", "--out", str(out),
                     "--export", str(tmp_path / "generator"), "--log-dir",
                     str(tmp_path / "logs"), "--metric-samples", "16"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]
    # Its checkpoints went to scratch directories, removed at once (autograph keeps its
    # generated files there until this process ends).
    assert not list(scratch.glob("tfcs231n-worker-*"))
    assert capsys.readouterr().out == ""


def test_gan_workers_refuse_a_time_budget():
    from tfcs231n import cli

    with pytest.raises(SystemExit, match=r"^tfcs231n gan: --time-budget 5\b"):
        cli.main(["gan", "train", "--workers", "2", "--time-budget", "5"])


# ----------------------------------------------------------------------------- end to end


def _env(tmp_path):
    scratch = tmp_path / "worker-tmp"
    scratch.mkdir(exist_ok=True)
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TMPDIR": str(scratch)}


def _history(name, run_dir):
    """The newest checkpoint's per-step losses, as an array (..., steps)."""
    (_, last), *_ = reversed(sorted(
        (int(p.name.split("-")[1]), p) for p in (run_dir / "checkpoints").iterdir()))
    return np.array(RUNS[name].losses(json.loads((last / "state.json").read_text())))


def _cli(argv, env):
    return subprocess.run([sys.executable, "-m", "tfcs231n", *argv], env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module", params=sorted(RUNS))
def two_worker_run(request, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp(f"two-workers-{request.param}")
    out = tmp_path / "run"
    done = _cli([*_argv(request.param, out), "--workers", "2"], _env(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    return request.param, tmp_path, out


@pytest.mark.e2e
def test_two_workers_match_one_process_and_only_the_chief_writes(two_worker_run):
    name, tmp_path, out = two_worker_run
    run = RUNS[name]
    done = _cli(_argv(name, tmp_path / "single"), _env(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    history = _history(name, out)
    row = compare_arrays("loss history", history, _history(name, tmp_path / "single"),
                         TOLERANCES["float32"])
    assert row.ok and history.shape[-1] == run.steps, row
    # The chief wrote one set of outputs; the other worker's scratch saves are gone.
    assert sorted(p.name for p in out.iterdir()) == run.outputs
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        f"epoch-{e:04d}" for e in (run.epochs - 1, run.epochs)]
    assert not list((tmp_path / "worker-tmp").iterdir())


@pytest.mark.e2e
def test_worker_killed_with_sigkill_resumes_with_nothing_lost(two_worker_run, tmp_path):
    name, _, reference = two_worker_run
    out = tmp_path / "run"
    argv = _argv(name, out)
    procs = distribute.start_local_workers(argv, 2, env=_env(tmp_path))
    deadline = time.monotonic() + 300
    while not (out / "checkpoints" / "epoch-0001").is_dir():  # the first epoch is saved
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
            "the workers ended before the first checkpoint"
        time.sleep(0.02)
    os.kill(procs[1].pid, signal.SIGKILL)
    codes = distribute.wait_for_workers(procs)
    assert codes[1] == -signal.SIGKILL and codes[0] != 0  # the survivor was stopped
    saved = [int(p.name.split("-")[1]) for p in (out / "checkpoints").iterdir()
             if p.name.startswith("epoch-")]
    assert saved and max(saved) < RUNS[name].epochs, "killed too late to test a resume"

    done = _cli([*argv, "--workers", "2", "--resume"], _env(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    resumed, uninterrupted = _history(name, out), _history(name, reference)
    row = compare_arrays("resumed loss history", resumed, uninterrupted, TOLERANCES["float32"])
    assert row.ok and resumed.shape == uninterrupted.shape, row
