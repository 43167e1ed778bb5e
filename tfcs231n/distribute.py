"""Training past one machine: `MultiWorkerMirroredStrategy` from a `TF_CONFIG`.

Every worker runs the same program. `TF_CONFIG` (JSON in the environment) names the
cluster and this process's place in it, e.g. on two hosts:

    TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
                "task": {"type": "worker", "index": 0}}'     # index 1 on host2

Worker 0 is the chief: only it writes checkpoints, models, plots and exports, and the
others write theirs to a temporary directory that is removed at once (every worker must
take part in a save, as TensorFlow's multi-worker guide asks). Checkpoints must therefore
be on a file system that every worker reads, for `--resume` to find them.

`run_local_workers` starts N such workers on this machine for a trial (`--workers N` in
the CLI). If one of them dies, the others are stopped too: a synchronous all-reduce cannot
go on without every worker, and the whole run resumes from the last checkpoint.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time


def cluster_spec(environ=os.environ):
    """(worker addresses, this task's index) from TF_CONFIG; None when it names no cluster
    of two or more workers."""
    text = environ.get("TF_CONFIG", "").strip()
    if not text:
        return None
    try:
        config = json.loads(text)
        workers = list(config["cluster"].get("worker", []))
        task = config["task"]
        index = int(task["index"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"TF_CONFIG is not a cluster description ({e}): {text[:200]}") from e
    if set(config["cluster"]) - {"worker", "chief"}:
        raise ValueError(f"TF_CONFIG may name 'worker' (and 'chief') jobs only, got "
                         f"{sorted(config['cluster'])}")
    if "chief" in config["cluster"]:
        workers = list(config["cluster"]["chief"]) + workers
        index = index if task.get("type") == "chief" else index + 1
    if len(workers) < 2:
        return None
    if not 0 <= index < len(workers):
        raise ValueError(f"TF_CONFIG task index {index} is outside the {len(workers)} workers")
    return workers, index


def strategy_from_env(environ=os.environ):
    """A `MultiWorkerMirroredStrategy` when TF_CONFIG names two or more workers, else None.

    Call it before any other TensorFlow work in the process: the strategy sets up the
    collective runtime, which TensorFlow allows only while nothing else has run.
    """
    if cluster_spec(environ) is None:
        return None
    import tensorflow as tf

    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief(strategy=None):
    """True unless `strategy` is multi-worker and this process is not worker 0."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or resolver.task_type is None:
        return True
    if resolver.task_type == "chief":
        return True
    return "chief" not in resolver.cluster_spec().jobs and resolver.task_id == 0


def num_workers(strategy=None):
    """Worker processes that `strategy` spans: 1 unless it is multi-worker."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or resolver.task_type is None:
        return 1
    jobs = resolver.cluster_spec().as_dict()
    return sum(len(jobs.get(job, [])) for job in ("chief", "worker"))


def free_ports(n):
    """n TCP ports free on localhost right now."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def local_tf_configs(n):
    """TF_CONFIG strings for n workers on localhost, worker 0 first."""
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"workers must be an integer >= 2, got {n!r}")
    cluster = {"worker": [f"localhost:{p}" for p in free_ports(n)]}
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
            for i in range(n)]


def start_local_workers(argv, n, env=None):
    """Starts `python -m tfcs231n ARGV` n times with a localhost TF_CONFIG each.

    Non-chief workers' standard output is discarded (the chief reports); every worker's
    standard error is kept. Returns the `subprocess.Popen` objects, worker 0 first.
    """
    procs = []
    for i, config in enumerate(local_tf_configs(n)):
        worker_env = {**(os.environ if env is None else env), "TF_CONFIG": config}
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "tfcs231n", *argv], env=worker_env,
            stdout=None if i == 0 else subprocess.DEVNULL))
    return procs


def wait_for_workers(procs, poll_s=0.2):
    """Waits for every worker; once one fails, stops the rest. Returns their exit codes."""
    try:
        while any(p.poll() is None for p in procs):
            if any(p.poll() not in (None, 0) for p in procs):
                for p in procs:
                    if p.poll() is None:
                        p.send_signal(signal.SIGTERM)
                deadline = time.monotonic() + 10
                for p in procs:
                    try:
                        p.wait(max(0.0, deadline - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
                break
            time.sleep(poll_s)
    except KeyboardInterrupt:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            p.wait()
        raise
    return [p.returncode for p in procs]


def run_local_workers(argv, n, env=None):
    """`start_local_workers` then `wait_for_workers`; returns the exit codes."""
    return wait_for_workers(start_local_workers(argv, n, env))
