"""`tfcs231n bench`: the report and JSON arithmetic, and one real run read back as JSON.

Nothing here asserts a speed: timings live in `tfcs231n bench`, never in tests.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tfcs231n import bench, parity

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


def test_failed_variants_are_reported_and_left_out_of_the_ratio():
    timings = [_timing("w", "tf-function", float("nan"), error="boom"),
               _timing("w", "tf-xla", 15.0), _timing("w", "pytorch", 20.0)]
    assert bench.ratios(timings)["w"]["tf_best"] == "tf-xla"
    assert "failed: boom" in bench.format_report(timings, peak=100.0)
    data = json.loads(json.dumps(bench.to_json(timings, 100.0)))  # NaN became null
    assert data["timings"][0]["median_ms"] is None


def test_unknown_workload_and_bad_repeats_are_rejected():
    with pytest.raises(ValueError, match="unknown workload 'nope'"):
        bench.run(["nope"])
    with pytest.raises(ValueError, match="repeats must be an integer >= 1, got 0"):
        bench.run(["squeezenet"], repeats=0)


@pytest.mark.parametrize("quick, jobs", [
    (False, [(["a"], [v], False) for v in bench.VARIANTS]
     + [(["b"], [v], False) for v in bench.VARIANTS] + [([], [], True)]),
    (True, [(["a", "b"], list(bench.TF_VARIANTS), True), (["a", "b"], ["pytorch"], False)]),
])
def test_workers_get_a_process_per_variant_or_per_framework(monkeypatch, quick, jobs):
    monkeypatch.setitem(bench.WORKLOADS, "a", None)
    monkeypatch.setitem(bench.WORKLOADS, "b", None)
    calls = []

    def fake_isolated(job):
        assert (job["repeats"], job["eager_repeats"]) == (2, 1)
        calls.append((job["names"], job["variants"], job["matmul"]))
        if job["variants"] == ["tf-xla"]:
            raise RuntimeError("worker crashed")
        # Reversed, to check that the rows come back grouped by workload, in variant order.
        rows = [vars(_timing(n, v, 1.0)) for v in reversed(job["variants"])
                for n in job["names"]]
        return {"timings": rows, "matmul": 100.0 if job["matmul"] else None}

    monkeypatch.setattr(bench, "_isolated", fake_isolated)
    timings, peak = bench.run(["a", "b"], repeats=2, eager_repeats=1, quick=quick)
    assert calls == jobs and peak == 100.0
    assert [(t.workload, t.variant) for t in timings] == [
        (n, v) for n in "ab" for v in bench.VARIANTS]
    crashed = [(t.workload, t.variant) for t in timings if t.error == "worker crashed"]
    assert crashed == ([] if quick else [("a", "tf-xla"), ("b", "tf-xla")])


def test_a_crashed_matmul_worker_leaves_the_timings(monkeypatch):
    def fake_isolated(job):
        if job["matmul"]:
            raise RuntimeError("no matmul")
        return {"timings": [vars(_timing("squeezenet", v, 1.0)) for v in job["variants"]],
                "matmul": None}

    monkeypatch.setattr(bench, "_isolated", fake_isolated)
    timings, peak = bench.run(["squeezenet"], repeats=1)
    assert peak != peak and len(timings) == len(bench.VARIANTS)
    assert json.loads(json.dumps(bench.to_json(timings, peak)))["matmul_gflops"] is None


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
