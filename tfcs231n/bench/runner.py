"""`tfcs231n bench`: TF and PyTorch timed side by side, in one run.

Each workload builds the same computation with the same weights in both frameworks and
times it in TF eagerly, in `tf.function`, in `tf.function(jit_compile=True)` (XLA), and in
PyTorch: the reference (`pytorch`, torchref, written to be read), the same modules under
`torch.compile` (`pytorch-compiled`) and, where a workload has one, the model as a PyTorch
user writes it with torch.nn's fused layers (`pytorch-nn`). Warm-up runs come first; the
first call's time (tracing and compiling included) is kept apart. TF and PyTorch run in
separate worker processes that take turns, so both sides see the same state of the machine.

Reported: median and interquartile range per variant; the ratio best TF / best PyTorch
(below 1 means TF is faster) and the old one against the reference; achieved GFLOP/s next
to the machine's measured float32 matmul rate; each variant's time against the workload's
floor (its matmuls and convolutions alone, `tfcs231n.bench.floor`); and whether other
processes took the CPU meanwhile (`tfcs231n.bench.machine`), which makes the ratios
unreliable.
"""

import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from tfcs231n.bench import machine
from tfcs231n.bench.results import (  # noqa: F401  (callers use them through the runner)
    FLOORS, OPTIONAL, PYTORCH_VARIANTS, SOME_WORKLOADS, TF_VARIANTS, VARIANTS, Result,
    Timing, format_report, ratios, to_json)


def time_fn(fn, repeats, warmup=3):
    """Seconds per call of `fn` (which must block until its result is ready)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _summarise(workload, variant, turns, flops, first_call_s=float("nan")):
    """turns: seconds per call, one list per turn."""
    times = [t for turn in turns for t in turn]
    q = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    median = statistics.median(times)
    return Timing(workload, variant, 1e3 * median, 1e3 * (q[2] - q[0]), len(times),
                  flops / median / 1e9, turns_ms=[1e3 * statistics.median(t) for t in turns],
                  first_call_ms=1e3 * first_call_s)


def matmul_gflops(n=2048, repeats=10):
    """The machine's float32 matmul rate through TF, a practical ceiling for the workloads."""
    import tensorflow as tf

    a = tf.random.stateless_normal((n, n), seed=(1, 2))
    b = tf.random.stateless_normal((n, n), seed=(3, 4))
    times = time_fn(lambda: tf.matmul(a, b).numpy(), repeats, warmup=2)
    return 2 * n**3 / statistics.median(times) / 1e9


# ----------------------------------------------------------------------------- workloads


def _lazy(module, function="workload"):
    """A workload that lives in its section's module, imported only when it runs."""
    def workload():
        import importlib
        return getattr(importlib.import_module(module), function)()
    return workload


# name -> () -> (flops per call, {variant: blocking callable}); sections plug theirs in here.
# A workload returns the variants it has, from VARIANTS and FLOORS.
WORKLOADS = {name: _lazy(f"tfcs231n.bench.{name}")
             for name in ("caption", "squeezenet", "style", "gan")}
WORKLOADS["wgan-gp"] = _lazy("tfcs231n.bench.gan", "wgan_gp_workload")


def _failed(workload, variant, error):
    # One line: compiler errors come with pages of context.
    return Timing(workload, variant, float("nan"), float("nan"), 0,
                  error=" ".join(error.split())[:300])


# ----------------------------------------------------------------------------- workers
#
# TF and PyTorch each run in a worker process of their own (`python -m tfcs231n.bench.runner JOB`):
# both frameworks' thread pools keep spinning after work, and on 2 cores a framework timed
# right after the other one in the same process ran up to 10x slower here. The two workers
# take turns, a few calls at a time, with a pause between turns for the other side's threads
# to go idle. Timing one framework after the other instead let a slow spell of a shared
# machine land on whichever side ran then: four caption runs here read 0.74x to 0.93x that
# way, and 0.81x to 0.85x taking turns.

_REPLY = "tfcs231n-bench "  # marks the worker's answers among whatever else reaches stdout
ROUNDS = 5  # turns per variant (fewer when a variant has fewer timed calls)
PAUSE_S = 0.1  # before each turn
WARMUP = 3  # untimed calls per variant after it is built, plus one before each turn


def _serve(job, requests, reply):
    """The worker: builds `job`'s workloads, warms its variants up, then answers requests.

    job: {"names": [...], "variants": [...]}; a workload's variants outside its own are
    skipped. First reply: {name: {"flops": f, "variants": [those it has], "errors":
    {variant: message}, "first_call_s": {variant: seconds}}} or {name: {"error": message}}.
    Then one reply per request line: {"op": "time", "name", "variant", "calls"} ->
    {"times": [seconds, ...]}; {"op": "matmul"} -> {"matmul": GFLOP/s}; a failure ->
    {"error": message}.
    """
    fns, ready = {}, {}
    for name in job["names"]:
        try:
            flops, variants = WORKLOADS[name]()
        except Exception as e:  # a workload that cannot be built must not hide the others
            ready[name] = {"error": f"{type(e).__name__}: {e}"}
            continue
        have = [v for v in job["variants"] if v in variants]
        ready[name] = {"flops": flops, "variants": have, "errors": {}, "first_call_s": {}}
        for variant in have:
            try:
                ready[name]["first_call_s"][variant] = time_fn(variants[variant], 1, 0)[0]
                time_fn(variants[variant], 0, warmup=WARMUP - 1)
                fns[name, variant] = variants[variant]
            except Exception as e:  # one failing variant must not hide the others
                ready[name]["errors"][variant] = f"{type(e).__name__}: {e}"
    reply(ready)
    for line in requests:
        request = json.loads(line)
        try:
            if request["op"] == "matmul":
                answer = {"matmul": matmul_gflops()}
            else:
                fn = fns[request["name"], request["variant"]]
                answer = {"times": time_fn(fn, request["calls"], warmup=1)}
        except Exception as e:
            answer = {"error": f"{type(e).__name__}: {e}"}
        reply(answer)


class _Worker:
    """The parent's handle on one `_serve` process."""

    def __init__(self, names, variants):
        job = {"names": names, "variants": variants}
        self._stderr = tempfile.TemporaryFile("w+")  # a pipe nobody reads could fill and block
        self._proc = subprocess.Popen(
            self._command(job), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})

    def _command(self, job):
        return [sys.executable, "-m", "tfcs231n.bench.runner", json.dumps(job)]

    def receive(self):
        """The worker's next answer; RuntimeError with its last stderr line if it died."""
        for line in self._proc.stdout:
            if line.startswith(_REPLY):
                return json.loads(line[len(_REPLY):])
        code = self._proc.wait()
        self._stderr.seek(0)
        tail = (self._stderr.read().strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"worker exited with status {code}: {tail}"[:300])

    def ask(self, request):
        try:
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            pass  # it died; receive() says how
        return self.receive()

    def close(self):
        try:
            self._proc.stdin.close()
            self._proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self._proc.kill()
            self._proc.wait()
        self._proc.stdout.close()
        self._stderr.close()


SIDES = {"tf": [*TF_VARIANTS, "floor-tf"], "pytorch": [*PYTORCH_VARIANTS, "floor-pytorch"]}


def _turns(counts):
    """[(variant, calls)] in turns: each variant's calls split over up to ROUNDS turns, and
    the order rotated every round so that no variant always follows the same one."""
    if not counts:
        return []
    splits = {v: [len(a) for a in np.array_split(np.arange(n), min(ROUNDS, n))]
              for v, n in counts.items()}
    order = list(counts)
    turns = []
    for r in range(ROUNDS):
        for v in order[r % len(order):] + order[:r % len(order)]:
            if r < len(splits[v]):
                turns.append((v, splits[v][r]))
    return turns


@dataclasses.dataclass
class _Group:
    """What one pair of workers measured."""

    timings: list
    matmul_before: float = float("nan")
    matmul_after: float = float("nan")
    counters: tuple = (None, None)  # machine.cpu_counters() at the start and the end


def _time_together(names, repeats, eager_repeats, variants, matmul_before, matmul_after):
    """Times `variants` (and the floors) of `names`: a TF and a PyTorch worker taking turns.

    matmul_before / matmul_after: whether the TF worker measures the matmul rate before the
    first turn / after the last. A worker that fails takes only its own variants down.
    """
    group = _Group([])
    start = machine.cpu_counters()
    workers, ready, dead = {}, {}, {}
    try:
        for side, side_variants in SIDES.items():  # both start (import, build, warm up) at once
            workers[side] = _Worker(names, [v for v in side_variants
                                            if v in variants or v in FLOORS])
        for side, worker in workers.items():
            try:
                ready[side] = worker.receive()
            except RuntimeError as e:
                dead[side] = str(e)

        def ask(side, request):
            if side in dead:
                return {"error": dead[side]}
            try:
                return workers[side].ask(request)
            except RuntimeError as e:
                dead[side] = str(e)
                return {"error": dead[side]}

        def matmul():
            return ask("tf", {"op": "matmul"}).get("matmul", float("nan"))

        if matmul_before:
            group.matmul_before = matmul()
        for name in names:
            group.timings.extend(_time_workload(name, ready, dead, ask, repeats, eager_repeats,
                                                variants))
        if matmul_after:
            group.matmul_after = matmul()
        group.counters = (start, machine.cpu_counters())  # before the workers exit
        return group
    finally:
        for worker in workers.values():
            worker.close()


def _time_workload(name, ready, dead, ask, repeats, eager_repeats, variants):
    """The timings of one workload's variants, in VARIANTS order, then its floors."""
    side_of = {v: side for side, side_variants in SIDES.items() for v in side_variants}
    errors, flops, first_call = {}, float("nan"), {}
    wanted = [v for v in (*VARIANTS, *FLOORS) if v in variants or v in FLOORS]
    present = []
    for v in wanted:
        side = side_of[v]
        info = ready.get(side, {}).get(name, {"error": dead.get(side)})
        if "error" in info:
            if v not in SOME_WORKLOADS:  # whether it has those, only the worker could say
                present.append(v)
                errors[v] = info["error"]
        elif v in info["variants"]:
            present.append(v)
            flops = info["flops"]
            if v in info["errors"]:
                errors[v] = info["errors"][v]
            first_call[v] = info["first_call_s"].get(v, float("nan"))
    counts = {v: eager_repeats if v == "tf-eager" else repeats
              for v in present if v not in errors}
    times = {v: [] for v in counts}
    for v, calls in _turns(counts):
        if v in errors:
            continue
        time.sleep(PAUSE_S)
        answer = ask(side_of[v], {"op": "time", "name": name, "variant": v, "calls": calls})
        if "error" in answer:
            errors[v] = answer["error"]
        else:
            times[v].append(answer["times"])
    return [_failed(name, v, errors[v]) if v in errors
            else _summarise(name, v, times[v], flops, first_call[v]) for v in present]


def _add_floor_shares(timings):
    """Sets every timing's pct_floor from its workload's faster floor."""
    floors = {}
    for t in timings:
        if t.variant in FLOORS and not t.error:
            floors[t.workload] = min(floors.get(t.workload, t.median_ms), t.median_ms)
    for t in timings:
        if t.workload in floors and not t.error:
            t.pct_floor = 100 * floors[t.workload] / t.median_ms


def run(names, repeats=20, eager_repeats=5, quick=False, variants=VARIANTS):
    """Times the chosen `variants` (and the floors) of the named workloads; a `Result`.

    By default each workload gets a TF worker and a PyTorch worker of its own; quick: one
    pair serves every workload, which saves the process start-ups (about 8 s each here,
    TF and PyTorch imported) between workloads; for rough numbers, as in the demo.
    """
    if not names:
        raise ValueError(f"names must name at least one workload, got {names!r}")
    for name in names:
        if name not in WORKLOADS:
            raise ValueError(f"unknown workload {name!r}; choose from {sorted(WORKLOADS)} or all")
    for label, value in (("repeats", repeats), ("eager_repeats", eager_repeats)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{label} must be an integer >= 1, got {value!r}")
    for v in variants:
        if v not in VARIANTS:
            raise ValueError(f"unknown variant {v!r} in variants; choose from {list(VARIANTS)}")
    groups = [list(names)] if quick else [[name] for name in names]
    done = [_time_together(g, repeats, eager_repeats, variants, matmul_before=i == 0,
                           matmul_after=i == len(groups) - 1) for i, g in enumerate(groups)]
    timings = [t for g in done for t in g.timings]
    _add_floor_shares(timings)
    before, after = done[0].matmul_before, done[-1].matmul_after
    rates = [r for r in (before, after) if r == r]
    load = machine.verdict(machine.others_cores([g.counters for g in done]), before, after)
    return Result(timings, max(rates) if rates else float("nan"), load)


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]), sys.stdin,
           lambda answer: print(_REPLY + json.dumps(answer), flush=True))
