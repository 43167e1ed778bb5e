"""`tfcs231n assignment check`: grade a student directory function by function.

One worker subprocess (`worker`) imports the student's `cs231n` package and runs every
function through its checks; the parent gives each function `timeout` seconds from its
start. A function that runs over, or kills the worker (a crash, ``os._exit``), is reported
as such and a fresh worker goes on with the rest, so a student's bug never stops grading.
"""

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tfcs231n.assignment.judge import Result
from tfcs231n.assignment.sections import PACKAGE, find, functions

STARTUP_S = 300  # importing TensorFlow and PyTorch on a busy machine


def _tail(path, lines=5):
    text = Path(path).read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return " | ".join(text[-lines:])


def _run_worker(directory, names, timeout, log):
    """Runs one worker over `names`; returns (results by name, names it did not reach)."""
    read_fd, write_fd = os.pipe()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tfcs231n.assignment.worker", "--fd", str(write_fd),
             str(directory), *names], pass_fds=(write_fd,), stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    os.close(write_fd)
    results, current, buffer = {}, None, b""
    deadline = time.monotonic() + STARTUP_S
    with selectors.DefaultSelector() as selector:
        selector.register(read_fd, selectors.EVENT_READ)
        try:
            while True:
                if not selector.select(max(0.0, deadline - time.monotonic())):
                    proc.kill()
                    if current is None:
                        raise RuntimeError(f"the grader's worker did not start within "
                                           f"{STARTUP_S} s: {_tail(log)}")
                    results[current] = Result(current, error=f"timed out after {timeout:g} s "
                                              "(an infinite loop?)")
                    break
                chunk = os.read(read_fd, 65536)
                if not chunk:  # the worker exited
                    proc.wait()
                    if current is not None:
                        results[current] = Result(current, error=(
                            f"crashed the grader's process (exit status {proc.returncode})"
                            f": {_tail(log)}"))
                    elif len(results) < len(names):
                        raise RuntimeError(f"the grader's worker failed: {_tail(log)}")
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    kind, _, rest = line.decode().partition(" ")
                    if kind == "START":
                        current = rest
                        deadline = time.monotonic() + timeout
                    elif kind == "RESULT":
                        result = Result.from_dict(json.loads(rest))
                        results[result.function], current = result, None
        finally:
            os.close(read_fd)
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return results, [n for n in names if n not in results]


def check(directory, names=None, timeout=60.0):
    """Grades the student functions `names` (default: every function whose module the
    directory holds) -> list of `Result`, in the sections' order.

    Raises:
        FileNotFoundError: `directory` holds no `cs231n` package.
        ValueError: an unknown function name or a non-positive timeout.
    """
    directory = Path(directory)
    if not (directory / PACKAGE / "__init__.py").is_file():
        raise FileNotFoundError(f"{directory} holds no {PACKAGE}/ package; point at the "
                                "directory `tfcs231n assignment build` wrote")
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    if names is None:
        names = [f.name for f in functions() if (directory / PACKAGE / f.module).is_file()]
    else:
        names = [find(n).name for n in names]
    results, remaining = {}, list(names)
    with tempfile.TemporaryDirectory() as tmp:
        while remaining:
            done, remaining = _run_worker(directory, remaining, timeout, Path(tmp) / "log")
            results.update(done)
    return [results[n] for n in names]


def report(results):
    """The console report: a line per function, a summary line last."""
    passed = sum(r.ok for r in results)
    return "\n".join([r.line() for r in results]
                     + [f"\n{passed} of {len(results)} functions pass"])


def to_json(results):
    """A JSON-ready summary for a learning-management system."""
    return {"passed": sum(r.ok for r in results), "total": len(results),
            "functions": [r.to_dict() for r in results]}
