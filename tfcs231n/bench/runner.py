"""`tfcs231n bench`: TF and the PyTorch reference timed side by side, in one run.

Each workload builds the same computation with the same weights in both frameworks and
times it in TF eagerly, in `tf.function`, in `tf.function(jit_compile=True)` (XLA), and in
PyTorch, with warm-up runs first. TF and PyTorch run in separate worker processes that take
turns, so both sides see the same state of the machine. Reported: median and interquartile
range per variant, the ratio best-TF / PyTorch (below 1 means TF is faster), and achieved
GFLOP/s next to the machine's measured float32 matmul rate, so the distance to the hardware
is visible.
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

TF_VARIANTS = ("tf-eager", "tf-function", "tf-xla")
VARIANTS = (*TF_VARIANTS, "pytorch")


@dataclasses.dataclass
class Timing:
    workload: str
    variant: str
    median_ms: float
    iqr_ms: float
    runs: int
    gflops: float = float("nan")
    error: str = ""
    turns_ms: list = dataclasses.field(default_factory=list)  # each turn's median, in order


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


def _summarise(workload, variant, turns, flops):
    """turns: seconds per call, one list per turn."""
    times = [t for turn in turns for t in turn]
    q = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    median = statistics.median(times)
    return Timing(workload, variant, 1e3 * median, 1e3 * (q[2] - q[0]), len(times),
                  flops / median / 1e9, turns_ms=[1e3 * statistics.median(t) for t in turns])


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
WORKLOADS = {name: _lazy(f"tfcs231n.bench.{name}")
             for name in ("caption", "squeezenet", "style", "gan")}
WORKLOADS["wgan-gp"] = _lazy("tfcs231n.bench.gan", "wgan_gp_workload")


def _failed(workload, variant, error):
    return Timing(workload, variant, float("nan"), float("nan"), 0, error=error[:300])


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

    job: {"names": [...], "variants": [...]}. First reply: {name: {"flops": f, "errors":
    {variant: message}}} or {name: {"error": message}}. Then one reply per request line:
    {"op": "time", "name", "variant", "calls"} -> {"times": [seconds, ...]};
    {"op": "matmul"} -> {"matmul": GFLOP/s}; a failure -> {"error": message}.
    """
    fns, ready = {}, {}
    for name in job["names"]:
        try:
            flops, variants = WORKLOADS[name]()
        except Exception as e:  # a workload that cannot be built must not hide the others
            ready[name] = {"error": f"{type(e).__name__}: {e}"}
            continue
        ready[name] = {"flops": flops, "errors": {}}
        for variant in job["variants"]:
            try:
                time_fn(variants[variant], 0, warmup=WARMUP)
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


SIDES = {"tf": list(TF_VARIANTS), "pytorch": ["pytorch"]}


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


def _time_together(names, repeats, eager_repeats, matmul):
    """Times every variant of `names`: a TF worker and a PyTorch worker taking turns.

    Returns (timings, matmul GFLOP/s or NaN); a worker that fails takes only its own
    variants down.
    """
    workers, ready, dead = {}, {}, {}
    try:
        for side, variants in SIDES.items():  # both start (import, build, warm up) at once
            workers[side] = _Worker(names, variants)
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

        side_of = {v: side for side, variants in SIDES.items() for v in variants}
        timings = []
        for name in names:
            errors, flops = {}, float("nan")
            for v, side in side_of.items():
                info = ready.get(side, {}).get(name, {"error": dead.get(side)})
                if "error" in info:
                    errors[v] = info["error"]
                elif v in info["errors"]:
                    errors[v] = info["errors"][v]
                else:
                    flops = info["flops"]
            counts = {v: eager_repeats if v == "tf-eager" else repeats
                      for v in VARIANTS if v not in errors}
            times = {v: [] for v in counts}
            for v, calls in _turns(counts):
                if v in errors:
                    continue
                time.sleep(PAUSE_S)
                answer = ask(side_of[v], {"op": "time", "name": name, "variant": v,
                                          "calls": calls})
                if "error" in answer:
                    errors[v] = answer["error"]
                else:
                    times[v].append(answer["times"])
            timings.extend(_failed(name, v, errors[v]) if v in errors
                           else _summarise(name, v, times[v], flops) for v in VARIANTS)
        peak = float("nan")
        if matmul:
            peak = ask("tf", {"op": "matmul"}).get("matmul", float("nan"))
        return timings, peak
    finally:
        for worker in workers.values():
            worker.close()


def run(names, repeats=20, eager_repeats=5, quick=False):
    """Times every variant of the named workloads; returns (timings, matmul GFLOP/s).

    By default each workload gets a TF worker and a PyTorch worker of its own; quick: one
    pair serves every workload, which saves the process start-ups (about 8 s each here,
    TF and PyTorch imported) between workloads; for rough numbers, as in the demo.
    """
    for name in names:
        if name not in WORKLOADS:
            raise ValueError(f"unknown workload {name!r}; choose from {sorted(WORKLOADS)} or all")
    for label, value in (("repeats", repeats), ("eager_repeats", eager_repeats)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{label} must be an integer >= 1, got {value!r}")
    timings, peak = [], float("nan")
    for group in [list(names)] if quick else [[name] for name in names]:
        # The matmul rate comes from the first TF worker that can give it.
        group_timings, group_peak = _time_together(group, repeats, eager_repeats,
                                                   matmul=peak != peak)
        timings.extend(group_timings)
        if peak != peak:
            peak = group_peak
    return timings, peak


def ratios(timings):
    """workload -> {tf_best, tf_best_ms, pytorch_ms, ratio, turn_ratios}.

    turn_ratios: best TF / PyTorch turn by turn (each turn's median), for a feel of the
    spread within the run; empty when the two were not timed in the same number of turns.
    """
    out = {}
    for name in dict.fromkeys(t.workload for t in timings):
        rows = {t.variant: t for t in timings if t.workload == name and not t.error}
        tf_rows = [rows[v] for v in TF_VARIANTS if v in rows]
        if not tf_rows or "pytorch" not in rows:
            continue
        best, torch_row = min(tf_rows, key=lambda t: t.median_ms), rows["pytorch"]
        paired = len(best.turns_ms) == len(torch_row.turns_ms)
        out[name] = {"tf_best": best.variant, "tf_best_ms": best.median_ms,
                     "pytorch_ms": torch_row.median_ms,
                     "ratio": best.median_ms / torch_row.median_ms,
                     "turn_ratios": [a / b for a, b in zip(best.turns_ms, torch_row.turns_ms)]
                     if paired else []}
    return out


def format_report(timings, peak):
    lines = [f"machine float32 matmul: {peak:.0f} GFLOP/s (TF, 2048x2048)", "",
             f"{'workload':<10} {'variant':<12} {'median ms':>10} {'IQR ms':>8} {'runs':>5} "
             f"{'GFLOP/s':>8} {'% matmul':>8}"]
    for t in timings:
        if t.error:
            lines.append(f"{t.workload:<10} {t.variant:<12} failed: {t.error}")
            continue
        lines.append(f"{t.workload:<10} {t.variant:<12} {t.median_ms:>10.2f} {t.iqr_ms:>8.2f} "
                     f"{t.runs:>5} {t.gflops:>8.1f} {100 * t.gflops / peak:>7.0f}%")
    lines.append("")
    for name, r in ratios(timings).items():
        spread = (f" (turn by turn {min(r['turn_ratios']):.2f}-{max(r['turn_ratios']):.2f}x)"
                  if len(r["turn_ratios"]) > 1 else "")
        lines.append(f"{name}: best TF ({r['tf_best']}) / PyTorch = {r['tf_best_ms']:.2f} / "
                     f"{r['pytorch_ms']:.2f} ms = {r['ratio']:.2f}x{spread}")
    return "\n".join(lines)


def to_json(timings, peak):
    """A JSON-ready dict (NaN from failed variants becomes null)."""
    def clean(d):
        return {k: None if isinstance(v, float) and v != v else v for k, v in d.items()}
    return {"matmul_gflops": None if peak != peak else peak,
            "timings": [clean(dataclasses.asdict(t)) for t in timings],
            "workloads": ratios(timings)}


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]), sys.stdin,
           lambda answer: print(_REPLY + json.dumps(answer), flush=True))
