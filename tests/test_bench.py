"""`tfcs231n bench`: the report and JSON arithmetic, and one real run read back as JSON.

Nothing here asserts a speed: timings live in `tfcs231n bench`, never in tests.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tfcs231n.bench import runner as bench
from tfcs231n.parity import engine as parity

ROOT = Path(__file__).resolve().parents[1]


def _timing(workload, variant, ms, error=""):
    return bench.Timing(workload, variant, ms, 0.1, 5, gflops=1.0, error=error)


def test_ratio_is_best_tf_variant_over_pytorch():
    timings = [_timing("w", "tf-eager", 30.0), _timing("w", "tf-function", 12.0),
               _timing("w", "tf-xla", 15.0), _timing("w", "pytorch", 20.0)]
    r = bench.ratios(timings)["w"]
    assert r["tf_best"] == "tf-function"
    assert r["ratio"] == pytest.approx(12.0 / 20.0)
    text = bench.format_report(timings, peak=100.0)
    assert "w: best TF (tf-function) / PyTorch = 12.00 / 20.00 ms = 0.60x" in text


def test_turn_by_turn_ratios_pair_each_tf_turn_with_pytorch_s():
    timings = [bench.Timing("w", "tf-function", 12.0, 1.0, 6, turns_ms=[10.0, 12.0, 14.0]),
               bench.Timing("w", "tf-xla", 15.0, 1.0, 6, turns_ms=[15.0, 15.0, 15.0]),
               bench.Timing("w", "pytorch", 20.0, 1.0, 6, turns_ms=[25.0, 20.0, 14.0])]
    r = bench.ratios(timings)["w"]
    assert r["turn_ratios"] == pytest.approx([0.4, 0.6, 1.0])
    assert "= 0.60x (turn by turn 0.40-1.00x)" in bench.format_report(timings, peak=100.0)
    timings[0].turns_ms = [12.0]  # not timed in as many turns: nothing to pair
    assert bench.ratios(timings)["w"]["turn_ratios"] == []
    assert "turn by turn" not in bench.format_report(timings, peak=100.0)


def test_failed_variants_are_reported_and_left_out_of_the_ratio():
    timings = [_timing("w", "tf-function", float("nan"), error="boom"),
               _timing("w", "tf-xla", 15.0), _timing("w", "pytorch", 20.0)]
    assert bench.ratios(timings)["w"]["tf_best"] == "tf-xla"
    assert "failed: boom" in bench.format_report(timings, peak=100.0)
    data = json.loads(json.dumps(bench.to_json(timings, 100.0)))  # NaN became null
    assert data["timings"][0]["median_ms"] is None


def test_unknown_workload_and_bad_repeats_are_rejected():
    with pytest.raises(ValueError, match=r"\bworkload\b.*'nope'"):
        bench.run(["nope"])
    with pytest.raises(ValueError, match=r"\brepeats\b.*\b0\b"):
        bench.run(["squeezenet"], repeats=0)


class FakeWorker:
    """Stands in for a worker process: answers as `_serve` would, and logs what it is asked."""

    log = []  # (names, variants, request) in the order asked, all workers together
    dies_on = None  # a variant whose timing request kills the worker
    fails_to_start = None  # a variant whose worker dies before it is ready

    def __init__(self, names, variants):
        self.names, self.variants = names, variants
        FakeWorker.log.append((names, variants, "spawn"))

    def receive(self):
        if self.fails_to_start in self.variants:
            raise RuntimeError("worker exited with status 1: ImportError: no torch")
        return {n: {"flops": 2e9, "errors": {}} for n in self.names}

    def ask(self, request):
        FakeWorker.log.append((self.names, self.variants, request))
        if request["op"] == "matmul":
            return {"matmul": 100.0}
        if request["variant"] == self.dies_on:
            raise RuntimeError("worker exited with status -9: killed")
        ms = {"tf-eager": 3, "tf-function": 1, "tf-xla": 1, "pytorch": 2}[request["variant"]]
        return {"times": [ms / 1e3] * request["calls"]}

    def close(self):
        FakeWorker.log.append((self.names, self.variants, "close"))


@pytest.fixture
def fake_workers(monkeypatch):
    for name in "ab":
        monkeypatch.setitem(bench.WORKLOADS, name, None)
    monkeypatch.setattr(FakeWorker, "log", [])
    monkeypatch.setattr(bench, "PAUSE_S", 0.0)
    monkeypatch.setattr(bench, "_Worker", FakeWorker)
    return FakeWorker


@pytest.mark.parametrize("quick, groups", [(False, [["a"], ["b"]]), (True, [["a", "b"]])])
def test_tf_and_pytorch_workers_take_turns(fake_workers, quick, groups):
    timings, peak = bench.run(["a", "b"], repeats=12, eager_repeats=2, quick=quick)
    log = fake_workers.log
    spawned = [(names, variants) for names, variants, what in log if what == "spawn"]
    assert spawned == [(g, side) for g in groups for side in bench.SIDES.values()]
    assert [r for *_, r in log if r not in ("spawn", "close") and r["op"] == "matmul"] == [
        {"op": "matmul"}]  # once, of the first TF worker
    assert peak == 100.0
    for name in "ab":
        turns = [r["variant"] for *_, r in log if isinstance(r, dict)
                 and r.get("name") == name]
        # PyTorch's turns are spread among TF's, so a slow patch of the machine hits both.
        pytorch_at = [i for i, v in enumerate(turns) if v == "pytorch"]
        assert len(pytorch_at) == bench.ROUNDS
        assert all(b - a > 1 for a, b in zip(pytorch_at, pytorch_at[1:]))
        assert turns[0] != turns[len(bench.VARIANTS)]  # the order rotates between rounds
        calls = {v: sum(r["calls"] for *_, r in log if isinstance(r, dict)
                        and r.get("name") == name and r.get("variant") == v)
                 for v in bench.VARIANTS}
        assert calls == {"tf-eager": 2, "tf-function": 12, "tf-xla": 12, "pytorch": 12}
    assert [(t.workload, t.variant) for t in timings] == [
        (n, v) for n in "ab" for v in bench.VARIANTS]
    by_variant = {(t.workload, t.variant): t for t in timings}
    assert by_variant["a", "pytorch"].median_ms == pytest.approx(2.0)
    assert by_variant["a", "tf-xla"].runs == 12
    assert by_variant["a", "tf-xla"].gflops == pytest.approx(2e9 / 0.001 / 1e9)
    assert by_variant["a", "tf-xla"].turns_ms == pytest.approx([1.0] * bench.ROUNDS)
    assert bench.ratios(timings)["a"]["turn_ratios"] == pytest.approx([0.5] * bench.ROUNDS)
    assert sum(what == "close" for *_, what in log) == 2 * len(groups)


def test_a_worker_that_dies_takes_only_its_own_variants_down(fake_workers, monkeypatch):
    monkeypatch.setattr(FakeWorker, "dies_on", "tf-xla")
    timings, peak = bench.run(["a"], repeats=4, eager_repeats=1)
    errors = {t.variant: t.error for t in timings}
    # tf-eager's one call came before the death; tf-function still lacked turns, and is
    # reported failed, not timed on part of its calls.
    assert errors == {"tf-eager": "", "tf-function": "worker exited with status -9: killed",
                      "tf-xla": "worker exited with status -9: killed", "pytorch": ""}
    assert next(t for t in timings if t.variant == "pytorch").runs == 4
    assert peak != peak  # nobody left to measure the matmul rate
    assert json.loads(json.dumps(bench.to_json(timings, peak)))["matmul_gflops"] is None


def test_a_worker_that_cannot_start_is_reported(fake_workers, monkeypatch):
    monkeypatch.setattr(FakeWorker, "fails_to_start", "pytorch")
    timings, peak = bench.run(["a"], repeats=3, eager_repeats=1)
    assert {t.variant: t.error for t in timings}["pytorch"].endswith("ImportError: no torch")
    assert [t.runs for t in timings if t.variant != "pytorch"] == [1, 3, 3]
    assert peak == 100.0
    assert "a" not in bench.ratios(timings)
    assert not any(isinstance(r, dict) and r.get("variant") == "pytorch"
                   for *_, r in FakeWorker.log)


def test_worker_protocol(monkeypatch):
    def broken():
        raise RuntimeError("no such step")

    calls = []
    monkeypatch.setitem(bench.WORKLOADS, "w", lambda: (1e6, {"ok": lambda: calls.append(1),
                                                             "broken": broken}))
    monkeypatch.setitem(bench.WORKLOADS, "unbuildable", lambda: 1 / 0)
    replies = []
    requests = [json.dumps({"op": "time", "name": "w", "variant": "ok", "calls": 4}),
                json.dumps({"op": "time", "name": "w", "variant": "broken", "calls": 1})]
    bench._serve({"names": ["w", "unbuildable"], "variants": ["ok", "broken"]}, requests,
                 replies.append)
    assert replies[0] == {"w": {"flops": 1e6, "errors": {"broken": "RuntimeError: no such step"}},
                          "unbuildable": {"error": "ZeroDivisionError: division by zero"}}
    assert len(replies[1]["times"]) == 4 and all(t >= 0 for t in replies[1]["times"])
    assert len(calls) == bench.WARMUP + 1 + 4  # warm-up, one before the turn, the timed calls
    assert replies[2] == {"error": "KeyError: ('w', 'broken')"}


def test_a_worker_process_that_exits_says_why(monkeypatch):
    class Exiting(bench._Worker):
        def _command(self, job):
            return [sys.executable, "-c", "import sys; print('noise'); "
                    "sys.exit('ImportError: no module named tensorflow')"]

    worker = Exiting(["w"], ["tf-function"])
    try:
        with pytest.raises(RuntimeError, match=r"\b1\b.*ImportError: no module named tensorf"):
            worker.receive()
        with pytest.raises(RuntimeError, match="status 1"):
            worker.ask({"op": "matmul"})
    finally:
        worker.close()


def test_bench_json_can_be_read_by_a_script(tmp_path):
    out = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    result = subprocess.run(
        [sys.executable, "-m", "tfcs231n", "bench", "squeezenet", "--repeats", "2", "--quick",
         "--json", str(out)], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    data = json.loads(out.read_text())
    w = data["workloads"]["squeezenet"]
    assert w["tf_best"] in bench.TF_VARIANTS
    assert w["tf_best_ms"] > 0 and w["pytorch_ms"] > 0
    assert w["ratio"] == pytest.approx(w["tf_best_ms"] / w["pytorch_ms"])
    assert {t["variant"] for t in data["timings"]} == set(bench.VARIANTS)
    assert data["matmul_gflops"] > 0
    assert "squeezenet: best TF" in result.stdout


@pytest.mark.parametrize("name", ["squeezenet", "style"])
def test_pytorch_computes_only_the_image_gradient(monkeypatch, name):
    # Both workloads want d(score or loss)/d(image), and the TF function computes only that
    # (its unused filter gradients are pruned); a PyTorch model left trainable also computes
    # every weight gradient, which made PyTorch look ~20 % slower than it is.
    import torch

    trainable_convs = []
    forward = torch.nn.Conv2d.forward

    def recording_forward(self, x):
        if self.weight.requires_grad:
            trainable_convs.append(self)
        return forward(self, x)

    _, fns = bench.WORKLOADS[name]()
    monkeypatch.setattr(torch.nn.Conv2d, "forward", recording_forward)
    fns["pytorch"]()
    assert trainable_convs == []


def test_squeezenet_workload_times_the_same_nonzero_gradient_in_both():
    _, fns = bench.WORKLOADS["squeezenet"]()
    tf_grad = fns["tf-function"]()  # (1, H, W, 3)
    torch_grad = fns["pytorch"]().transpose(0, 2, 3, 1)  # (1, 3, H, W) -> NHWC
    assert abs(tf_grad).max() > 0
    row = parity.compare_arrays("d score / d image", tf_grad, torch_grad,
                                parity.TOLERANCES["float32"])
    assert row.ok, row
