"""`tfcs231n bench`: the report and JSON arithmetic, and one real run read back as JSON.

Nothing here asserts a speed: timings live in `tfcs231n bench`, never in tests.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tfcs231n.bench import machine
from tfcs231n.bench import runner as bench
from tfcs231n.parity import engine as parity

ROOT = Path(__file__).resolve().parents[1]


def _timing(workload, variant, ms, error="", turns_ms=()):
    return bench.Timing(workload, variant, ms, 0.1, 5, gflops=1.0, error=error,
                        turns_ms=list(turns_ms))


def _result(timings, peak=100.0, busy=False):
    return bench.Result(timings, peak, machine.verdict(0.5 if busy else 0.0, peak, peak))


def test_ratio_is_best_tf_over_best_pytorch_with_the_reference_beside_it():
    timings = [_timing("w", "tf-eager", 30.0), _timing("w", "tf-function", 12.0),
               _timing("w", "tf-xla", 15.0), _timing("w", "pytorch", 20.0),
               _timing("w", "pytorch-compiled", 18.0), _timing("w", "pytorch-nn", 10.0)]
    r = bench.ratios(timings)["w"]
    assert (r["tf_best"], r["pytorch_best"]) == ("tf-function", "pytorch-nn")
    assert r["ratio"] == pytest.approx(12.0 / 10.0)
    assert r["ratio_torchref"] == pytest.approx(12.0 / 20.0)
    assert r["floor_ms"] is None and r["tf_best_pct_floor"] is None  # no floor timed
    text = bench.format_report(_result(timings))
    assert ("w: best TF (tf-function) / best PyTorch (pytorch-nn) = 12.00 / 10.00 ms = 1.20x"
            in text)
    assert "against the reference (pytorch) 0.60x" in text


def test_turn_by_turn_ratios_pair_best_tf_with_best_pytorch():
    timings = [_timing("w", "tf-function", 12.0, turns_ms=[10.0, 12.0, 14.0]),
               _timing("w", "tf-xla", 15.0, turns_ms=[15.0, 15.0, 15.0]),
               _timing("w", "pytorch", 20.0, turns_ms=[25.0, 20.0, 14.0]),
               _timing("w", "pytorch-compiled", 30.0, turns_ms=[30.0, 30.0, 30.0])]
    r = bench.ratios(timings)["w"]
    assert r["turn_ratios"] == pytest.approx([0.4, 0.6, 1.0])
    assert "= 0.60x (turn by turn 0.40-1.00x)" in bench.format_report(_result(timings))
    timings[0].turns_ms = [12.0]  # not timed in as many turns: nothing to pair
    assert bench.ratios(timings)["w"]["turn_ratios"] == []
    assert "turn by turn" not in bench.format_report(_result(timings))


def test_failed_variants_are_reported_and_left_out_of_the_ratio():
    compile_error = "BackendCompilerFailed: backend='inductor' raised:\nCppCompileError: no g++"
    timings = [_timing("w", "tf-function", float("nan"), error="boom"),
               _timing("w", "tf-xla", 15.0), _timing("w", "pytorch", 20.0),
               bench._failed("w", "pytorch-compiled", compile_error)]
    r = bench.ratios(timings)["w"]
    assert (r["tf_best"], r["pytorch_best"]) == ("tf-xla", "pytorch")
    text = bench.format_report(_result(timings))
    assert "failed: boom" in text
    assert "failed: BackendCompilerFailed: backend='inductor' raised: CppCompileError" in text
    # torch.compile needs a C++ compiler: its failure is shown, but fails nothing else.
    assert _result(timings).failed == ["w/tf-function"]
    data = json.loads(json.dumps(bench.to_json(_result(timings))))  # NaN became null
    assert data["timings"][0]["median_ms"] is None


def test_unknown_workload_variant_and_bad_repeats_are_rejected():
    with pytest.raises(ValueError, match="unknown workload 'nope'"):
        bench.run(["nope"])
    with pytest.raises(ValueError, match=r"\bnames\b.*\[\]"):
        bench.run([])
    with pytest.raises(ValueError, match="repeats must be an integer >= 1, got 0"):
        bench.run(["squeezenet"], repeats=0)
    with pytest.raises(ValueError, match=r"unknown variant 'floor-tf' in variants"):
        bench.run(["squeezenet"], variants=["tf-xla", "floor-tf"])


MS = {"tf-eager": 3, "tf-function": 1, "tf-xla": 1.25, "pytorch": 2, "pytorch-compiled": 1.5,
      "pytorch-nn": 0.8, "floor-tf": 0.5, "floor-pytorch": 0.4}


class FakeWorker:
    """Stands in for a worker process: answers as `_serve` would, and logs what it is asked.
    Workload "a" has every variant; the others lack pytorch-nn."""

    log = []  # (names, variants, request) in the order asked, all workers together
    dies_on = None  # a variant whose timing request kills the worker
    fails_to_start = None  # a variant whose worker dies before it is ready
    fails_to_build = None  # a variant whose warm-up fails (as torch.compile without g++)
    matmul_rates = ()  # successive matmul answers (100 when none are left)

    def __init__(self, names, variants):
        self.names, self.variants = names, variants
        FakeWorker.log.append((names, variants, "spawn"))

    def receive(self):
        if self.fails_to_start in self.variants:
            raise RuntimeError("worker exited with status 1: ImportError: no torch")
        ready = {}
        for n in self.names:
            have = [v for v in self.variants if n == "a" or v != "pytorch-nn"]
            errors = {v: "BackendCompilerFailed: no g++" for v in have
                      if v == self.fails_to_build}
            ready[n] = {"flops": 2e9, "variants": have, "errors": errors,
                        "first_call_s": {v: 5.0 for v in have if v not in errors}}
        return ready

    def ask(self, request):
        FakeWorker.log.append((self.names, self.variants, request))
        if request["op"] == "matmul":
            rates = FakeWorker.matmul_rates
            FakeWorker.matmul_rates = rates[1:]
            return {"matmul": rates[0] if rates else 100.0}
        if request["variant"] == self.dies_on:
            raise RuntimeError("worker exited with status -9: killed")
        return {"times": [MS[request["variant"]] / 1e3] * request["calls"]}

    def close(self):
        FakeWorker.log.append((self.names, self.variants, "close"))


@pytest.fixture
def fake_workers(monkeypatch):
    for name in "ab":
        monkeypatch.setitem(bench.WORKLOADS, name, None)
    monkeypatch.setattr(FakeWorker, "log", [])
    monkeypatch.setattr(bench, "PAUSE_S", 0.0)
    monkeypatch.setattr(bench, "_Worker", FakeWorker)
    quiet = iter([(100.0 * i, 100.0 * i, 10.0 * i) for i in range(100)])  # all CPU is ours
    monkeypatch.setattr(machine, "cpu_counters", lambda: next(quiet))
    return FakeWorker


def _requests(log, name):
    return [r for *_, r in log if isinstance(r, dict) and r.get("name") == name]


@pytest.mark.parametrize("quick, groups", [(False, [["a"], ["b"]]), (True, [["a", "b"]])])
def test_tf_and_pytorch_workers_take_turns(fake_workers, quick, groups):
    result = bench.run(["a", "b"], repeats=12, eager_repeats=2, quick=quick)
    log = fake_workers.log
    spawned = [(names, variants) for names, variants, what in log if what == "spawn"]
    assert spawned == [(g, side) for g in groups for side in bench.SIDES.values()]
    # The matmul rate: from the first TF worker before its first turn, and from the last
    # after its last.
    asked = [(names, r) for names, _, r in log if isinstance(r, dict)]
    matmuls = [i for i, (_, r) in enumerate(asked) if r["op"] == "matmul"]
    assert matmuls == [0, len(asked) - 1]
    assert (asked[0][0], asked[-1][0]) == (groups[0], groups[-1])
    assert result.matmul_gflops == 100.0
    for name in "ab":
        turns = [r["variant"] for r in _requests(log, name)]
        have = [v for v in (*bench.VARIANTS, *bench.FLOORS) if name == "a" or v != "pytorch-nn"]
        # PyTorch's turns are spread among TF's, so a slow patch of the machine hits both.
        pytorch_at = [i for i, v in enumerate(turns) if v == "pytorch"]
        assert len(pytorch_at) == bench.ROUNDS
        assert all(b - a > 1 for a, b in zip(pytorch_at, pytorch_at[1:]))
        assert turns[0] != turns[len(have)]  # the order rotates between rounds
        calls = {v: sum(r["calls"] for r in _requests(log, name) if r["variant"] == v)
                 for v in have}
        assert calls == {v: 2 if v == "tf-eager" else 12 for v in have}
    assert [(t.workload, t.variant) for t in result.timings] == [
        (n, v) for n in "ab" for v in (*bench.VARIANTS, *bench.FLOORS)
        if n == "a" or v != "pytorch-nn"]
    by_variant = {(t.workload, t.variant): t for t in result.timings}
    assert by_variant["a", "pytorch"].median_ms == pytest.approx(2.0)
    assert by_variant["a", "tf-xla"].runs == 12
    assert by_variant["a", "tf-xla"].gflops == pytest.approx(2e9 / 0.00125 / 1e9)
    assert by_variant["a", "tf-xla"].turns_ms == pytest.approx([1.25] * bench.ROUNDS)
    assert by_variant["a", "pytorch-compiled"].first_call_ms == pytest.approx(5000.0)
    r = bench.ratios(result.timings)
    assert r["a"]["turn_ratios"] == pytest.approx([1.0 / 0.8] * bench.ROUNDS)
    assert (r["a"]["pytorch_best"], r["b"]["pytorch_best"]) == ("pytorch-nn",
                                                                "pytorch-compiled")
    assert sum(what == "close" for *_, what in log) == 2 * len(groups)


def test_every_variant_and_floor_reaches_the_json(fake_workers):
    data = json.loads(json.dumps(bench.to_json(bench.run(["a", "b"], repeats=2,
                                                         eager_repeats=1))))
    variants = {n: {t["variant"] for t in data["timings"] if t["workload"] == n} for n in "ab"}
    assert variants["a"] == {*bench.VARIANTS, *bench.FLOORS}
    assert variants["b"] == variants["a"] - {"pytorch-nn"}
    assert all(t["first_call_ms"] == pytest.approx(5000.0) for t in data["timings"])
    w = data["workloads"]["a"]
    assert (w["pytorch_best"], w["ratio"]) == ("pytorch-nn", pytest.approx(1.0 / 0.8))
    assert w["ratio_torchref"] == pytest.approx(1.0 / 2.0)
    assert data["machine_busy"] is False


def test_floor_is_the_faster_floor_and_each_variant_a_share_of_it(fake_workers):
    result = bench.run(["a"], repeats=3, eager_repeats=1)
    shares = {t.variant: t.pct_floor for t in result.timings}
    assert shares == pytest.approx({v: 100 * MS["floor-pytorch"] / ms for v, ms in MS.items()})
    r = bench.ratios(result.timings)["a"]
    assert (r["floor_from"], r["floor_ms"]) == ("floor-pytorch", pytest.approx(0.4))
    assert r["tf_best_pct_floor"] == pytest.approx(40.0)
    assert "best TF at 40 % of the floor (floor-pytorch, 0.40 ms)" in bench.format_report(
        result)


def test_a_variant_that_cannot_compile_is_a_row_not_a_crash(fake_workers, monkeypatch):
    monkeypatch.setattr(FakeWorker, "fails_to_build", "pytorch-compiled")
    result = bench.run(["a"], repeats=2, eager_repeats=1)
    errors = {t.variant: t.error for t in result.timings}
    assert errors.pop("pytorch-compiled") == "BackendCompilerFailed: no g++"
    assert set(errors.values()) == {""}
    assert result.failed == []
    assert not any(r["variant"] == "pytorch-compiled" for r in _requests(FakeWorker.log, "a"))


@pytest.mark.parametrize("others_s, rates, busy", [
    (0.5, (100.0, 95.0), False),  # 0.05 cores of others, rates within 5 %
    (1.5, (100.0, 100.0), True),  # 0.15 cores of others
    (0.0, (100.0, 80.0), True),  # the matmul rate fell 20 %
    (0.0, (80.0, 100.0), True),  # or rose 20 %
])
def test_busy_flag_from_the_cpu_counters_and_the_matmul_rates(fake_workers, monkeypatch,
                                                              others_s, rates, busy):
    # Counters: (all CPUs' busy seconds, our tree's seconds, wall seconds); 10 s of wall
    # time in which our processes used 12 s of CPU and the machine 12 s + others_s.
    readings = iter([(50.0, 20.0, 100.0), (62.0 + others_s, 32.0, 110.0)])
    monkeypatch.setattr(machine, "cpu_counters", lambda: next(readings))
    monkeypatch.setattr(FakeWorker, "matmul_rates", rates)
    result = bench.run(["a"], repeats=2, eager_repeats=1)
    assert result.machine_busy is busy
    assert result.load["others_cores"] == pytest.approx(others_s / 10)
    assert (result.load["matmul_before"], result.load["matmul_after"]) == rates
    assert result.matmul_gflops == max(rates)
    data = json.loads(json.dumps(bench.to_json(result)))
    assert data["machine_busy"] is busy
    assert data["load"]["matmul_change"] == pytest.approx(abs(rates[0] - rates[1]) / max(rates))
    assert ("ratios below are unreliable" in bench.format_report(result)) is busy


def test_busy_flag_adds_up_the_windows_of_every_worker_pair(fake_workers, monkeypatch):
    # Two workloads, two pairs: 0.5 s of others in each 10 s window is 0.05 cores, not 0.1.
    readings = iter([(0.0, 0.0, 0.0), (10.5, 10.0, 10.0), (20.0, 20.0, 20.0),
                     (30.5, 30.0, 30.0)])
    monkeypatch.setattr(machine, "cpu_counters", lambda: next(readings))
    result = bench.run(["a", "b"], repeats=2, eager_repeats=1)
    assert result.load["others_cores"] == pytest.approx(0.05)
    assert result.machine_busy is False


def test_busy_verdict_without_measurements_decides_nothing():
    nan = float("nan")
    assert machine.verdict(nan, nan, nan) == {
        "machine_busy": False, "others_cores": None, "matmul_before": None,
        "matmul_after": None, "matmul_change": None}
    assert machine.verdict(nan, 100.0, 50.0)["machine_busy"] is True
    assert machine.others_cores([(None, (1.0, 1.0, 1.0))]) != machine.others_cores([])


def test_proc_counters_are_read_as_the_kernel_writes_them():
    tick = machine._TICK
    stat = f"cpu  {tick} 0 {tick} {50 * tick} 7 {tick} 0 {tick} 0 0\ncpu0 1 2 3 4\n"
    assert machine._busy_seconds(stat) == pytest.approx(4.0)  # user system irq steal
    fields = ["S", "1"] + ["0"] * 9 + [str(tick), str(2 * tick), str(3 * tick), str(tick), "0"]
    line = "4242 (tf worker (2)) " + " ".join(fields)
    assert machine._parse_stat(line) == (4242, 1, pytest.approx(7.0))
    busy, own, _ = machine.cpu_counters()
    assert busy >= 0 and own > 0  # this test's process has used some CPU


def test_a_worker_that_dies_takes_only_its_own_variants_down(fake_workers, monkeypatch):
    monkeypatch.setattr(FakeWorker, "dies_on", "tf-xla")
    result = bench.run(["a"], repeats=4, eager_repeats=1,
                       variants=["tf-eager", "tf-function", "tf-xla", "pytorch"])
    errors = {t.variant: t.error for t in result.timings}
    # tf-eager's one call came before the death; tf-function and floor-tf still lacked
    # turns, and are reported failed, not timed on part of their calls.
    killed = "worker exited with status -9: killed"
    assert errors == {"tf-eager": "", "tf-function": killed, "tf-xla": killed, "pytorch": "",
                      "floor-tf": killed, "floor-pytorch": ""}
    assert next(t for t in result.timings if t.variant == "pytorch").runs == 4
    assert result.matmul_gflops == 100.0  # measured before the death
    assert result.load["matmul_after"] is None  # nobody left to measure it after
    assert json.loads(json.dumps(bench.to_json(result)))["load"]["matmul_after"] is None


def test_a_worker_that_cannot_start_is_reported(fake_workers, monkeypatch):
    monkeypatch.setattr(FakeWorker, "fails_to_start", "pytorch")
    result = bench.run(["a"], repeats=3, eager_repeats=1)
    errors = {t.variant: t.error for t in result.timings}
    # pytorch-nn is left out: only the worker that died could have said whether "a" has it.
    assert [v for v, e in errors.items() if e] == ["pytorch", "pytorch-compiled",
                                                   "floor-pytorch"]
    assert errors["pytorch"].endswith("ImportError: no torch")
    assert [t.runs for t in result.timings if not t.error] == [1, 3, 3, 3]
    assert result.matmul_gflops == 100.0
    assert "a" not in bench.ratios(result.timings)
    assert not any(r["variant"] in bench.SIDES["pytorch"] for r in _requests(FakeWorker.log, "a"))


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
    bench._serve({"names": ["w", "unbuildable"], "variants": ["ok", "broken", "pytorch-nn"]},
                 requests, replies.append)
    first_call = replies[0]["w"].pop("first_call_s")
    assert replies[0] == {"w": {"flops": 1e6, "variants": ["ok", "broken"],  # not pytorch-nn
                                "errors": {"broken": "RuntimeError: no such step"}},
                          "unbuildable": {"error": "ZeroDivisionError: division by zero"}}
    assert list(first_call) == ["ok"] and first_call["ok"] >= 0
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
    # Without torch.compile, which takes minutes on a small machine.
    result = subprocess.run(
        [sys.executable, "-m", "tfcs231n", "bench", "squeezenet", "--repeats", "2", "--quick",
         "--variants", "tf-function,pytorch", "--json", str(out)],
        capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    data = json.loads(out.read_text())
    w = data["workloads"]["squeezenet"]
    assert (w["tf_best"], w["pytorch_best"]) == ("tf-function", "pytorch")
    assert w["tf_best_ms"] > 0 and w["pytorch_best_ms"] == w["torchref_ms"] > 0
    assert w["ratio"] == pytest.approx(w["tf_best_ms"] / w["pytorch_best_ms"])
    rows = {t["variant"]: t for t in data["timings"]}
    assert set(rows) == {"tf-function", "pytorch", *bench.FLOORS}
    assert w["floor_ms"] == min(rows[v]["median_ms"] for v in bench.FLOORS)
    assert rows["pytorch"]["pct_floor"] == pytest.approx(
        100 * w["floor_ms"] / rows["pytorch"]["median_ms"])
    assert data["matmul_gflops"] > 0
    assert isinstance(data["machine_busy"], bool)
    assert data["load"]["matmul_before"] > 0 and data["load"]["others_cores"] >= 0
    assert "squeezenet: best TF" in result.stdout


def test_cli_rejects_an_unknown_variant():
    from tfcs231n.cli import main

    with pytest.raises(SystemExit, match=r"tfcs231n bench: unknown variant 'pytorch-jit'"):
        main(["bench", "squeezenet", "--variants", "tf-xla,pytorch-jit"])


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


# ----------------------------------------------------------------------------- peers, floor


@pytest.mark.parametrize("cell_type", ["lstm", "rnn"])
def test_nn_captioner_has_the_reference_loss_and_gradients(cell_type):
    # torch.nn.LSTM orders gates i, f, g, o (the course: i, f, o, g) and adds two biases;
    # float64, so a swapped gate or a doubled bias cannot hide in rounding.
    import torch

    from torchref import captioning as ref
    from tfcs231n.bench import caption

    vocab = {"<NULL>": 0, "<START>": 1, "<END>": 2, **{f"w{i}": i for i in range(3, 11)}}
    reference = ref.TorchCaptioningRNN(vocab, 6, 5, 4, cell_type=cell_type, seed=3)
    params = {k: v.detach().numpy() for k, v in reference.named_parameters()}
    params["b"] = np.random.default_rng(4).standard_normal(params["b"].shape)  # not zeros
    reference.load_params(params)
    model = caption.nn_captioner(params, cell_type, vocab["<NULL>"], dtype=torch.float64)
    rng = np.random.default_rng(0)
    features = torch.from_numpy(rng.standard_normal((3, 6)))
    captions = torch.from_numpy(rng.integers(0, 11, (3, 5)))
    captions[:, 0] = 1
    losses = [m.loss(features, captions) for m in (model, reference)]
    for loss in losses:
        loss.backward()
    tol = parity.TOLERANCES["float64"]
    rows = [parity.compare_arrays("loss", *(float(v.detach()) for v in losses), tol)]
    desired = {k: v.grad.numpy() for k, v in reference.named_parameters()}
    actual = {"W_proj": model.proj.weight.grad.numpy().T, "b_proj": model.proj.bias.grad,
              "W_embed": model.embed.weight.grad, "W_vocab": model.vocab.weight.grad.numpy().T,
              "b_vocab": model.vocab.bias.grad,
              **caption.course_rnn_grads(model.rnn, cell_type)}
    rows += [parity.compare_arrays(f"d{k}", np.asarray(actual[k]), desired[k], tol)
             for k in desired]
    assert all(row.ok for row in rows), parity.format_table(
        [parity.ParityReport("nn_captioner", "float64", rows)])


def test_caption_workload_checks_pytorch_nn_against_the_reference(monkeypatch):
    from tfcs231n.bench import caption

    _, fns = caption.workload(N=3, T=4, D=6, W=5, H=4, V=9)
    assert set(fns) == {*bench.VARIANTS, *bench.FLOORS}
    # Same weights before any update: the first steps' losses agree.
    row = parity.compare_arrays("first loss", fns["pytorch-nn"](), fns["pytorch"](),
                                parity.TOLERANCES["float32"])
    assert row.ok, row
    monkeypatch.setitem(caption._GATE_BLOCKS, "lstm", [0, 1, 2, 3])  # gates left unmapped
    _, fns = caption.workload(N=3, T=4, D=6, W=5, H=4, V=9)
    with pytest.raises(RuntimeError, match="pytorch-nn's loss differs from the reference's"):
        fns["pytorch-nn"]()
    fns["pytorch"]()  # the others still run


def test_caption_pytorch_compiled_runs_the_reference_modules():
    from tfcs231n.bench import caption

    _, fns = caption.workload(N=2, T=1, D=3, W=3, H=2, V=5)
    row = parity.compare_arrays("first loss", fns["pytorch-compiled"](), fns["pytorch"](),
                                parity.TOLERANCES["float32"])
    assert row.ok, row


def test_tf_and_torch_floors_run_the_same_ops():
    from tfcs231n.bench import floor

    specs = [floor.MatMul(5, 7, 3, forward=2, weight_grad=0),
             floor.Conv(2, (9, 8), (5, 4), 3, 4, (3, 3), (2, 2), (1, 1), weight_grad=1),
             floor.Conv(2, (7, 7), (14, 14), 4, 2, (4, 4), (2, 2), (1, 1), transposed=True,
                        input_grad=0, weight_grad=1)]
    actual, desired = floor.tf_floor(specs)(), floor.torch_floor(specs)()
    shapes = [[None if a is None else a.shape for a in ops] for ops in actual]
    # A transposed convolution runs as the direct one from its output to its input: its
    # forward is that one's input gradient.
    assert shapes == [[(5, 3), (5, 7), None], [(2, 5, 4, 4), (2, 9, 8, 3), (3, 3, 3, 4)],
                      [None, (2, 14, 14, 2), (4, 4, 2, 4)]]
    for i, (a_ops, d_ops) in enumerate(zip(actual, desired)):
        for j, (a, d) in enumerate(zip(a_ops, d_ops)):
            assert (a is None) == (d is None)
            if a is not None:
                row = parity.compare_arrays(f"op {i}.{j}", a, d, parity.TOLERANCES["float32"])
                assert row.ok, row


def test_layer_specs_reads_the_shapes_and_counts_from_a_model():
    import torch

    from tfcs231n.bench import floor

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=2, padding=1), torch.nn.ReLU(),
                                torch.nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1),
                                torch.nn.Flatten(), torch.nn.Linear(2 * 6 * 8, 5))
    specs = floor.layer_specs(model, torch.zeros(2, 3, 6, 8), forward=3, input_grad=2,
                              weight_grad=1, first_input_grad=0)
    counts = dict(forward=3, input_grad=2, weight_grad=1)
    assert specs == [
        floor.Conv(2, (6, 8), (3, 4), 3, 4, (3, 3), (2, 2), (1, 1), **{**counts,
                                                                      "input_grad": 0}),
        floor.Conv(2, (3, 4), (6, 8), 4, 2, (4, 4), (2, 2), (1, 1), transposed=True, **counts),
        floor.MatMul(2, 96, 5, **counts)]
    # The caption step: per step (N, H) @ (H, 4H) forward and back, the rest batched.
    from tfcs231n.bench.caption import floor_specs

    assert floor_specs(N=2, T=3, D=4, W=5, H=6, V=7)[2] == floor.MatMul(
        2, 6, 24, forward=3, input_grad=3, weight_grad=0)
