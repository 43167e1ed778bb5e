"""`tfcs231n demo`: every course section on the built-in offline data, as one report.

Each section module offers ``demo_section(out_dir, quick=True, seed=0)`` returning a
:class:`tfcs231n.demo.report.Section`; the parity and speed tables are built here. A section that
raises is shown in the page with its traceback and the run goes on; the exit status says
whether every section passed. Output: ``report.html`` (self-contained, images embedded),
``summary.json`` (every section's numbers, for scripts) and the PNGs, under one directory.
"""

import json
import os
import platform
import time
import traceback
from pathlib import Path

from tfcs231n.demo import report

# name -> module holding its demo_section, in the order of the course and of the page.
SECTIONS = {
    "captioning": "tfcs231n.demo.captioning",
    "visualization": "tfcs231n.demo.visualization",
    "style": "tfcs231n.demo.style",
    "gan": "tfcs231n.demo.gan",
    "finetune": "tfcs231n.demo.vision",
    "parity": "tfcs231n.demo.run",
    "bench": "tfcs231n.demo.run",
}


def parse_sections(text):
    """'a,b' -> ['a', 'b'] in the page's order; None or 'all' -> every section."""
    if text in (None, "", "all"):
        return list(SECTIONS)
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}")
    return [n for n in SECTIONS if n in names]


def run(out_dir, quick=True, sections=None, seed=0, log=print):
    """Runs the sections, writes report.html and summary.json; returns the summary dict."""
    import importlib

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = parse_sections(sections) if isinstance(sections, (str, type(None))) else sections
    results, start = [], time.time()
    for i, name in enumerate(names, 1):
        log(f"[{i}/{len(names)}] {name} ...")
        t0 = time.time()
        try:
            module = importlib.import_module(SECTIONS[name])
            section = _builder(module, name)(out_dir / name, quick=quick, seed=seed)
            section.name = name  # the demo's name for it, as in --sections and the JSON
            error = ""
        except Exception:  # a broken section must not hide the others
            section = report.Section(name, name.capitalize())
            error = traceback.format_exc()
        seconds = time.time() - t0
        results.append((section, error, seconds))
        status = "FAILED" if error else "ok"
        log(f"[{i}/{len(names)}] {name}: {status} in {seconds:.1f} s "
            f"(total {time.time() - start:.0f} s)")
        if error:
            log("    " + error.strip().splitlines()[-1])
    summary = {
        "ok": all(not e for _, e, _ in results),
        "quick": quick, "seed": seed, "seconds": round(time.time() - start, 1),
        "environment": environment(),
        "sections": {s.name: {"title": s.title, "ok": not e, "seconds": round(t, 1),
                              "metrics": s.metrics, "error": e,
                              "figures": [os.path.relpath(f.path, out_dir) for f in s.figures]}
                     for s, e, t in results},
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1, default=float))
    from tfcs231n.demo import html as report_html

    report_html.write(out_dir / "report.html", results, summary)
    return summary


def _builder(module, name):
    """Section modules offer `demo_section`; this module's built-ins are `<name>_section`."""
    return getattr(module, f"{name}_section" if module.__name__ == __name__ else "demo_section")


def environment():
    """Versions and hardware, as shown at the top of the report."""
    import numpy as np
    import tensorflow as tf

    versions = {"python": platform.python_version(), "tensorflow": tf.__version__,
                "numpy": np.__version__}
    try:
        import keras
        versions["keras"] = keras.__version__
    except ImportError:
        pass
    try:
        import torch
        versions["torch"] = torch.__version__
    except ImportError:
        versions["torch"] = "not installed"
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {**versions, "cpu": _cpu_name(), "cores": os.cpu_count(),
            "gpu": ", ".join(gpus) or "none", "platform": platform.platform()}


def _cpu_name():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ----------------------------------------------------------------------------- built-ins


def _require_torch():
    try:
        import torch  # noqa: F401
    except ImportError as e:
        raise RuntimeError("this section compares with the PyTorch reference, which is not "
                           "installed: pip install 'tfcs231n[reference]'") from e


def parity_section(out_dir, quick=True, seed=0):
    """`tfcs231n parity` for every registered module, float64 and float32."""
    _require_torch()
    from tfcs231n.parity import cases as parity_cases

    section = report.Section(
        "parity", "Parity with the NumPy/PyTorch reference",
        "Every registered op run in TensorFlow and in the reference on the same seeded "
        "inputs; outputs and gradients compared element by element. max rel is the "
        "course's relative error for float64 and |a-d|/|d| for float32.")
    rows, failed, reports = [], 0, []
    for case in parity_cases.cases():
        for dtype in ("float64", "float32"):
            r = case.run(dtype, seed=seed)
            reports.append((case.module, r))
            failed += not r.ok
            for row in r.rows:
                rows.append([r.name, dtype, row.tensor, f"{row.max_abs:.2e}",
                             f"{row.max_rel:.2e}", row.tolerance,
                             "pass" if row.ok else f"FAIL {row.problem}".strip()])
    summary = parity_summary(reports)
    section.table(f"summary: {len(rows)} rows, "
                  + ("all passed" if not failed else f"{failed} cases FAILED"),
                  ["module", "rows", "worst float64 max rel", "worst float32 max rel",
                   "result"], summary)
    section.table("every row", ["case", "dtype", "tensor", "max abs", "max rel", "tolerance",
                                "result"], rows, folded=True)
    section.metrics = {"rows": len(rows), "failed_cases": failed}
    if failed:
        raise AssertionError(f"{failed} parity cases failed; see the table")  # shown in page
    return section


def parity_summary(reports):
    """One row per module: [module, rows, worst float64 max rel, worst float32 max rel,
    "pass" or "FAIL n rows"], from (module, ParityReport) pairs in order."""
    modules = {}
    for module, report_ in reports:
        m = modules.setdefault(module, {"rows": 0, "failed": 0, "float64": [], "float32": []})
        m["rows"] += len(report_.rows)
        m["failed"] += sum(not row.ok for row in report_.rows)
        m.setdefault(report_.dtype, []).extend(
            row.max_rel for row in report_.rows if row.max_rel == row.max_rel)  # not NaN

    def worst(values):
        return f"{max(values):.2e}" if values else "-"

    return [[name, m["rows"], worst(m["float64"]), worst(m["float32"]),
             "pass" if not m["failed"] else f"FAIL {m['failed']} rows"]
            for name, m in modules.items()]


def speed_heading(title, busy):
    """A speed table's heading; on a busy machine it says so, in words."""
    if not busy:
        return title
    return (f"{title}: the bench found this machine busy (other programs were using the "
            "CPU), so these times are slower than a quiet machine's and the ratios less "
            "reliable")


def bench_section(out_dir, quick=True, seed=0):
    """`tfcs231n bench all` with few repeats, and without torch.compile, in quick mode."""
    _require_torch()
    from tfcs231n.bench import runner as bench

    # Compiling four workloads would take minutes of the quick demo.
    variants = [v for v in bench.VARIANTS if not (quick and v == "pytorch-compiled")]
    result = bench.run(list(bench.WORKLOADS), repeats=3 if quick else 20,
                       eager_repeats=1 if quick else 5, quick=quick, variants=variants)
    timings, peak = result.timings, result.matmul_gflops
    section = report.Section(
        "bench", "Speed: TensorFlow against PyTorch",
        f"Median milliseconds per step after warm-up ({'3' if quick else '20'} timed runs; "
        + ("quick mode: rough numbers, no torch.compile" if quick
           else "a TF and a PyTorch process per workload")
        + "; the two frameworks take turns). Ratio = best "
        "TF / best PyTorch, below 1 means TF is faster; % floor = the workload's matmuls and "
        "convolutions alone over the variant's time. Machine float32 matmul: "
        f"{peak:.0f} GFLOP/s.")
    busy = result.machine_busy
    section.table(speed_heading("timings", busy), ["workload", "variant", "median ms",
                                                   "IQR ms", "GFLOP/s", "% floor", "note"],
                  [[t.workload, t.variant, f"{t.median_ms:.2f}", f"{t.iqr_ms:.2f}",
                    f"{t.gflops:.1f}", f"{t.pct_floor:.0f}", t.error] for t in timings])
    r = bench.ratios(timings)
    section.table(speed_heading("ratios", busy), ["workload", "best TF", "TF ms",
                                                  "best PyTorch", "PyTorch ms", "ratio",
                                                  "vs torchref", "turn by turn"],
                  [[k, v["tf_best"], f"{v['tf_best_ms']:.2f}", v["pytorch_best"],
                    f"{v['pytorch_best_ms']:.2f}", f"{v['ratio']:.2f}x",
                    "" if v["ratio_torchref"] is None else f"{v['ratio_torchref']:.2f}x",
                    ", ".join(f"{x:.2f}" for x in v["turn_ratios"])]
                   for k, v in r.items()])
    # Timings are not reproducible numbers; only the ratios go to the summary.
    section.metrics = {"matmul_gflops": round(peak), "machine_busy": busy,
                       **{f"{k}_ratio": round(v["ratio"], 2) for k, v in r.items()}}
    if result.failed:
        raise RuntimeError(f"benchmarks failed: {result.failed}")
    return section


