"""What `tfcs231n bench` measured, and its report: the text, the JSON, the ratios.

Variant names: tf-eager, tf-function, tf-xla (TF); pytorch (the reference, torchref),
pytorch-compiled (the same modules under `torch.compile`), pytorch-nn (torch.nn's fused
layers, where a workload has them); floor-tf and floor-pytorch (the workload's matmuls and
convolutions alone, `tfcs231n.bench.floor`).
"""

import dataclasses

from tfcs231n.bench import machine

TF_VARIANTS = ("tf-eager", "tf-function", "tf-xla")
PYTORCH_VARIANTS = ("pytorch", "pytorch-compiled", "pytorch-nn")  # pytorch: torchref
VARIANTS = (*TF_VARIANTS, *PYTORCH_VARIANTS)  # what a run can be asked for
FLOORS = ("floor-tf", "floor-pytorch")  # always timed: a workload's heavy ops alone
# Variants that need more than the frameworks (torch.compile needs a C++ compiler): their
# failure is reported in their row but does not fail the run.
OPTIONAL = ("pytorch-compiled",)
SOME_WORKLOADS = ("pytorch-nn",)  # variants only some workloads have; the others have all


@dataclasses.dataclass
class Timing:
    """One variant of one workload: milliseconds per call (median, interquartile range)
    over `runs` timed calls; `error` instead where it failed (the numbers are then NaN)."""

    workload: str
    variant: str
    median_ms: float
    iqr_ms: float
    runs: int
    gflops: float = float("nan")
    error: str = ""
    turns_ms: list = dataclasses.field(default_factory=list)  # each turn's median, in order
    first_call_ms: float = float("nan")  # the first call: tracing / compiling included
    pct_floor: float = float("nan")  # 100 * floor time / median: 100 = as fast as the floor


@dataclasses.dataclass
class Result:
    """What `run` measured.

    timings: one `Timing` per workload and variant, floors included.
    matmul_gflops: the machine's float32 matmul rate, the better of before and after.
    load: `machine.verdict` of the run: machine_busy, others_cores, matmul_before / _after /
        _change (None where not measured).
    """

    timings: list
    matmul_gflops: float
    load: dict

    @property
    def machine_busy(self):
        """True when other processes or a changing matmul rate make the ratios unreliable."""
        return self.load["machine_busy"]

    @property
    def failed(self):
        """"workload/variant" of every failed variant that is not OPTIONAL."""
        return [f"{t.workload}/{t.variant}" for t in self.timings
                if t.error and t.variant not in OPTIONAL]


def ratios(timings):
    """workload -> {tf_best, tf_best_ms, pytorch_best, pytorch_best_ms, ratio, torchref_ms,
    ratio_torchref, turn_ratios, floor_ms, floor_from, tf_best_pct_floor}.

    ratio: best TF / best PyTorch, the one to quote; ratio_torchref: best TF / the reference
    (None where it failed). turn_ratios: best TF / best PyTorch turn by turn (each turn's
    median), for a feel of the spread within the run; empty when the two were not timed in
    the same number of turns. floor_*: None where no floor was timed.
    """
    out = {}
    for name in dict.fromkeys(t.workload for t in timings):
        rows = {t.variant: t for t in timings if t.workload == name and not t.error}
        tf_rows = [rows[v] for v in TF_VARIANTS if v in rows]
        torch_rows = [rows[v] for v in PYTORCH_VARIANTS if v in rows]
        if not tf_rows or not torch_rows:
            continue
        best = min(tf_rows, key=lambda t: t.median_ms)
        peer = min(torch_rows, key=lambda t: t.median_ms)
        floors = [rows[v] for v in FLOORS if v in rows]
        floor = min(floors, key=lambda t: t.median_ms) if floors else None
        paired = len(best.turns_ms) == len(peer.turns_ms)
        ref = rows.get("pytorch")
        out[name] = {"tf_best": best.variant, "tf_best_ms": best.median_ms,
                     "pytorch_best": peer.variant, "pytorch_best_ms": peer.median_ms,
                     "ratio": best.median_ms / peer.median_ms,
                     "torchref_ms": ref.median_ms if ref else None,
                     "ratio_torchref": best.median_ms / ref.median_ms if ref else None,
                     "turn_ratios": [a / b for a, b in zip(best.turns_ms, peer.turns_ms)]
                     if paired else [],
                     "floor_ms": floor.median_ms if floor else None,
                     "floor_from": floor.variant if floor else None,
                     "tf_best_pct_floor": best.pct_floor if floor else None}
    return out


def _load_lines(load, peak):
    def num(v, fmt):
        return "n/a" if v is None else format(v, fmt)

    lines = [f"machine float32 matmul (TF, 2048x2048): {peak:.0f} GFLOP/s; before the run "
             f"{num(load['matmul_before'], '.0f')}, after {num(load['matmul_after'], '.0f')}; "
             f"other processes used {num(load['others_cores'], '.2f')} cores meanwhile"]
    if load["machine_busy"]:
        lines.append(
            f"WARNING: the machine was busy (other processes above "
            f"{machine.OTHERS_LIMIT:g} cores, or the matmul rate moved more than "
            f"{100 * machine.MATMUL_CHANGE_LIMIT:.0f} %): the ratios below are unreliable; "
            "PyTorch's threads suffer more than TF's from cores they cannot get")
    return lines


def _pct(value):
    """'85%', or '-' where there is nothing to compare with (a workload without a floor)."""
    return "-" if value != value else f"{value:.0f}%"


def format_report(result):
    """The text `tfcs231n bench` prints for a `Result`."""
    peak = result.matmul_gflops
    lines = [*_load_lines(result.load, peak), "",
             f"{'workload':<10} {'variant':<16} {'median ms':>10} {'IQR ms':>8} {'runs':>5} "
             f"{'GFLOP/s':>8} {'% matmul':>8} {'% floor':>8} {'1st call ms':>11}"]
    for t in result.timings:
        if t.error:
            lines.append(f"{t.workload:<10} {t.variant:<16} failed: {t.error}")
            continue
        lines.append(f"{t.workload:<10} {t.variant:<16} {t.median_ms:>10.2f} {t.iqr_ms:>8.2f} "
                     f"{t.runs:>5} {t.gflops:>8.1f} {100 * t.gflops / peak:>7.0f}% "
                     f"{_pct(t.pct_floor):>8} {t.first_call_ms:>11.0f}")
    lines.append("")
    for name, r in ratios(result.timings).items():
        spread = (f" (turn by turn {min(r['turn_ratios']):.2f}-{max(r['turn_ratios']):.2f}x)"
                  if len(r["turn_ratios"]) > 1 else "")
        lines.append(f"{name}: best TF ({r['tf_best']}) / best PyTorch ({r['pytorch_best']}) "
                     f"= {r['tf_best_ms']:.2f} / {r['pytorch_best_ms']:.2f} ms = "
                     f"{r['ratio']:.2f}x{spread}")
        extras = []
        if r["ratio_torchref"] is not None:
            extras.append(f"against the reference (pytorch) {r['ratio_torchref']:.2f}x")
        if r["floor_ms"] is not None:
            extras.append(f"best TF at {r['tf_best_pct_floor']:.0f} % of the floor "
                          f"({r['floor_from']}, {r['floor_ms']:.2f} ms)")
        if extras:
            lines.append("  " + "; ".join(extras))
    return "\n".join(lines)


def to_json(result):
    """A JSON-ready dict of a `Result` (NaN from failed variants becomes null)."""
    def clean(d):
        return {k: None if isinstance(v, float) and v != v else v for k, v in d.items()}
    peak = result.matmul_gflops
    return {"machine_busy": result.machine_busy, "load": result.load,
            "matmul_gflops": None if peak != peak else peak,
            "timings": [clean(dataclasses.asdict(t)) for t in result.timings],
            "workloads": ratios(result.timings)}
