"""`tfcs231n bench`: the report and JSON arithmetic, and one real run read back as JSON.

Nothing here asserts a speed: timings live in `tfcs231n bench`, never in tests.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tfcs231n import bench

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


def test_unknown_workload_is_rejected():
    with pytest.raises(ValueError, match="unknown workload 'nope'"):
        bench.run(["nope"])


def test_bench_json_can_be_read_by_a_script(tmp_path):
    out = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    result = subprocess.run(
        [sys.executable, "-m", "tfcs231n", "bench", "squeezenet", "--repeats", "2",
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
