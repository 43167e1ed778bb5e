"""Training under MultiWorkerMirroredStrategy: TF_CONFIG, the chief's writes, kill and resume.

The end-to-end tests start real worker processes on localhost (`--workers 2`), as a user
trying multi-host training on one machine would.
"""

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

# A small captioner, 3 epochs of 20 iterations over 1,000 synthetic captions: the command,
# what its run directory holds afterwards, and the loss history's length.
RUNS = {
    "caption": (["caption", "train", "--max-train", "1000", "--batch-size", "50",
                 "--hidden", "32", "--wordvec", "16", "--seed", "3", "--epochs", "3"],
                ["checkpoints", "loss.png", "metrics.json", "model.keras"], 60),
}


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


# ----------------------------------------------------------------------------- end to end


def _env(tmp_path):
    scratch = tmp_path / "worker-tmp"
    scratch.mkdir(exist_ok=True)
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TMPDIR": str(scratch)}


def _history(run_dir):
    """The newest checkpoint's per-step losses."""
    (_, last), *_ = reversed(sorted(
        (int(p.name.split("-")[1]), p) for p in (run_dir / "checkpoints").iterdir()))
    return json.loads((last / "state.json").read_text())["loss_history"]


def _cli(argv, env):
    return subprocess.run([sys.executable, "-m", "tfcs231n", *argv], env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module", params=sorted(RUNS))
def two_worker_run(request, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp(f"two-workers-{request.param}")
    out = tmp_path / "run"
    done = _cli([*RUNS[request.param][0], "--out", str(out), "--workers", "2"], _env(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    return request.param, tmp_path, out


@pytest.mark.e2e
def test_two_workers_match_one_process_and_only_the_chief_writes(two_worker_run):
    name, tmp_path, out = two_worker_run
    argv, outputs, steps = RUNS[name]
    single = tmp_path / "single"
    done = _cli([*argv, "--out", str(single)], _env(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    history = np.array(_history(out))
    row = compare_arrays("loss history", history, np.array(_history(single)),
                         TOLERANCES["float32"])
    assert row.ok and len(history) == steps, row
    # The chief wrote one set of outputs; the other worker's scratch saves are gone.
    assert sorted(p.name for p in out.iterdir()) == outputs
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["epoch-0002",
                                                                       "epoch-0003"]
    assert not list((tmp_path / "worker-tmp").iterdir())


@pytest.mark.e2e
def test_worker_killed_with_sigkill_resumes_with_nothing_lost(two_worker_run, tmp_path):
    name, _, reference = two_worker_run
    out = tmp_path / "run"
    argv = [*RUNS[name][0], "--out", str(out)]
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
    assert saved and max(saved) < 3, "killed too late to test a resume"

    done = _cli([*argv, "--workers", "2", "--resume"], _env(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    row = compare_arrays("resumed loss history", np.array(_history(out)),
                         np.array(_history(reference)), TOLERANCES["float32"])
    assert row.ok and len(_history(out)) == len(_history(reference)), row
