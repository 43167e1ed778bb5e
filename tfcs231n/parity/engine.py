"""Cross-framework parity: run a TF function and a reference on the same inputs, compare
outputs and gradients, and report the worst element of every tensor.

One call does what people otherwise stitch together from `torch.testing.assert_close`,
nobuco's per-layer diff and onnx2tf's per-op check:

* every input, weight and upstream gradient comes from ONE seeded NumPy generator in
  float64 and is then cast per framework, so both sides see bit-identical values and a
  failure reproduces from the seed alone;
* shapes are compared first, then the positions of NaN/inf, then values;
* each row reports max abs error, max rel error (the course's definition), the index of the
  worst element with both values there, the whole-array relative error and the tolerance;
* tolerances are defined once, by dtype, in `TOLERANCES`; tests import them from here;
* a float32 row that fails is arbitrated by the reference run in float64 on the same
  (float32-rounded) values: at a ReLU or max-pool kink within float32 rounding of an input,
  one framework's float32 gradient can take the other branch. If the reference's own
  float32 result is off its float64 result while TF's is within tolerance of it, the row
  passes against the float64 reference, and says so ("ok vs float64 ref"); the tolerance
  is the same.

Example:
    >>> report = compare("rnn_step", tf_fn, ref_fn, {"x": normal((3, 4))}, wrt=["x"])
    >>> print(report)          # a table
    >>> report.assert_ok()     # AssertionError whose message is that table
"""

import contextlib
import dataclasses
import json
import math

import numpy as np
import tensorflow as tf

# ----------------------------------------------------------------------------- tolerances


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """When two tensors count as equal.

    An element passes when |actual - desired| <= rtol * |desired| + scale * max|desired|.
    float64 uses the course's elementwise relative error instead, bounded by `course_rel`:
    |a - d| / max(1e-8, |a| + |d|) <= course_rel.
    """

    rtol: float = 0.0
    scale: float = 0.0
    course_rel: float | None = None

    def allowed(self, actual, desired):
        """Per-element allowed error for `desired` (finite entries only)."""
        if self.course_rel is not None:
            return self.course_rel * np.maximum(1e-8, np.abs(actual) + np.abs(desired))
        magnitude = np.max(np.abs(desired)) if desired.size else 0.0
        return self.rtol * np.abs(desired) + self.scale * magnitude

    def __str__(self):
        if self.course_rel is not None:
            return f"rel<={self.course_rel:g}"
        return f"{self.rtol:g}|d|+{self.scale:g}max|d|"


# float32: per-element relative error is meaningless near zero (an exact 0 in one framework
# is 1e-9 in the other), so the absolute part scales with the tensor's own magnitude.
TOLERANCES = {
    "float64": Tolerance(course_rel=1e-9),
    "float32": Tolerance(rtol=1e-4, scale=1e-5),
}


def published_atol(decimals):
    """Tolerance for a value published rounded to `decimals` places: half a unit in the last."""
    return 0.5 * 10.0 ** -decimals


def rel_error(x, y):
    """The course's relative error: max |x - y| / max(1e-8, |x| + |y|)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


# ----------------------------------------------------------------------------- inputs


@dataclasses.dataclass(frozen=True)
class Spec:
    """How to draw one input from the shared generator.

    kind: "normal" (float, N(0, scale^2)), "uniform" (float in [low, high)), "integers"
    (int64 in [low, high)), or "bool" (True with probability p).
    """

    kind: str
    shape: tuple
    scale: float = 1.0
    low: float = 0.0
    high: float = 1.0
    p: float = 0.5

    def draw(self, rng):
        if self.kind == "normal":
            return self.scale * rng.standard_normal(self.shape)
        if self.kind == "uniform":
            return rng.uniform(self.low, self.high, self.shape)
        if self.kind == "integers":
            return rng.integers(int(self.low), int(self.high), self.shape, dtype=np.int64)
        if self.kind == "bool":
            return rng.random(self.shape) < self.p
        raise ValueError(f"unknown input kind {self.kind!r}")


def normal(shape, scale=1.0):
    return Spec("normal", tuple(shape), scale=scale)


def uniform(shape, low, high):
    return Spec("uniform", tuple(shape), low=low, high=high)


def integers(shape, low, high):
    return Spec("integers", tuple(shape), low=low, high=high)


def boolean(shape, p=0.5):
    return Spec("bool", tuple(shape), p=p)


def draw_inputs(specs, seed):
    """Draws every input in float64/int64/bool from one generator, in the specs' order.

    Returns:
        (inputs dict, the generator) — the generator continues for upstream gradients.
    """
    rng = np.random.default_rng(seed)
    inputs = {}
    for name, spec in specs.items():
        inputs[name] = spec.draw(rng) if isinstance(spec, Spec) else np.asarray(spec)
    return inputs, rng


def cast_floats(arrays, dtype):
    """Casts the floating arrays of a dict to `dtype`; ids and masks stay as they are."""
    return {
        k: v.astype(dtype) if np.issubdtype(np.asarray(v).dtype, np.floating) else v
        for k, v in arrays.items()
    }


# ----------------------------------------------------------------------------- report


@dataclasses.dataclass
class Row:
    """The comparison of one tensor."""

    tensor: str
    shape: tuple
    max_abs: float = math.nan
    max_rel: float = math.nan
    worst_index: tuple = ()
    actual: float = math.nan
    desired: float = math.nan
    array_rel: float = math.nan
    tolerance: str = ""
    ok: bool = False
    problem: str = ""
    note: str = ""  # why a row passed against the float64 reference instead


@dataclasses.dataclass
class ParityReport:
    """Rows for one case at one dtype. Prints as a table; `to_dict` for JSON."""

    name: str
    dtype: str
    rows: list

    @property
    def ok(self):
        return bool(self.rows) and all(r.ok for r in self.rows)

    def to_dict(self):
        return {
            "name": self.name,
            "dtype": self.dtype,
            "ok": self.ok,
            "rows": [_jsonable(dataclasses.asdict(r)) for r in self.rows],
        }

    def to_json(self, **kwargs):
        return json.dumps(self.to_dict(), **kwargs)

    def __str__(self):
        return format_table([self])

    def assert_ok(self):
        if not self.ok:
            raise AssertionError("parity failed:\n" + str(self))


def assert_parity(report):
    """pytest helper: fails with the report's table as the message."""
    report.assert_ok()


def _jsonable(d):
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v)
        for k, v in ((k, list(v) if isinstance(v, tuple) else v) for k, v in d.items())
    }


_HEADER = ("case", "dtype", "tensor", "shape", "max abs", "max rel", "worst at",
           "actual", "desired", "array rel", "tolerance", "")


def format_table(reports):
    """Formats reports as one aligned text table, a row per tensor."""
    lines = [_HEADER]
    for report in reports:
        for r in report.rows:
            lines.append((
                report.name, report.dtype, r.tensor, "x".join(map(str, r.shape)) or "()",
                f"{r.max_abs:.2e}", f"{r.max_rel:.2e}", str(list(r.worst_index)),
                f"{r.actual:.6g}", f"{r.desired:.6g}", f"{r.array_rel:.2e}", r.tolerance,
                (f"ok {r.note}" if r.ok else f"FAIL {r.problem}").strip(),
            ))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(_HEADER))]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines
    )


def compare_arrays(tensor, actual, desired, tolerance):
    """Compares one tensor: shape, then NaN/inf positions, then finite values."""
    actual = np.asarray(actual, np.float64)
    desired = np.asarray(desired, np.float64)
    row = Row(tensor, tuple(desired.shape), tolerance=str(tolerance))
    if actual.shape != desired.shape:
        row.problem = f"shape {actual.shape} != {desired.shape}"
        return row
    for label, test in (("nan", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
        mismatch = test(actual) != test(desired)
        if mismatch.any():
            index = tuple(int(i) for i in np.argwhere(mismatch)[0])
            row.worst_index, row.actual, row.desired = index, actual[index], desired[index]
            row.problem = f"{label} positions differ ({int(mismatch.sum())})"
            return row
    finite = np.isfinite(desired)
    a, d = np.where(finite, actual, 0.0), np.where(finite, desired, 0.0)
    err = np.abs(a - d)
    rel = err / np.maximum(1e-8, np.abs(a) + np.abs(d))
    allowed = tolerance.allowed(a, d)
    row.max_abs = float(err.max()) if err.size else 0.0
    row.max_rel = float(rel.max()) if rel.size else 0.0
    norm = np.linalg.norm(d)
    row.array_rel = float(np.linalg.norm(a - d) / norm) if norm else float(np.linalg.norm(a))
    if err.size:
        # The worst element is the one closest to (or furthest past) its own bound.
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(err == 0, 0.0, err / allowed)  # err > 0 with allowed 0 -> inf
        index = np.unravel_index(int(np.nanargmax(ratio)), err.shape)
        row.worst_index = tuple(int(i) for i in index)
        row.actual, row.desired = float(actual[index]), float(desired[index])
    row.ok = bool(np.all(err <= allowed))
    if not row.ok:
        row.problem = f"{int((err > allowed).sum())} elements over tolerance"
    return row


# ----------------------------------------------------------------------------- compare


def _flatten(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def compare(name, tf_fn, ref_fn, specs, *, wrt=(), dtype="float64", seed=0,
            output_names=None, tolerance=None):
    """Compares `tf_fn` with `ref_fn` on the same seeded inputs.

    Args:
        name: the case's name in the report.
        tf_fn: ``tf_fn(**inputs)`` -> a tensor or a tuple of tensors.
        ref_fn: ``ref_fn(inputs, douts)`` -> ``(outputs, grads)``: NumPy inputs of the same
            dtype, the upstream gradients as a list (one per output), and it returns its
            outputs (array or tuple) and a dict input name -> gradient for every name in
            `wrt`. `torch_reference` turns a PyTorch function into one.
        specs: dict input name -> `Spec` (or a fixed array), drawn in this order.
        wrt: names of the inputs to compare gradients for.
        dtype: "float64" or "float32"; floating inputs are cast to it on both sides.
        seed: the one seed for inputs and upstream gradients.
        output_names: names for the outputs in the report (default out, out1, ...).
        tolerance: a `Tolerance`; defaults to ``TOLERANCES[dtype]``.

    Returns:
        A `ParityReport`.
    """
    tolerance = tolerance or TOLERANCES[dtype]
    inputs64, rng = draw_inputs(specs, seed)
    inputs = cast_floats(inputs64, dtype)
    tensors = {k: tf.constant(v) for k, v in inputs.items()}
    with tf.GradientTape() as tape:
        for k in wrt:
            tape.watch(tensors[k])
        outputs = _flatten(tf_fn(**tensors))
    douts = [np.asarray(rng.standard_normal(o.shape)).astype(dtype) for o in outputs]
    grads = tape.gradient(
        outputs, [tensors[k] for k in wrt], output_gradients=[tf.constant(d) for d in douts]
    ) if wrt else []
    ref_outputs, ref_grads = ref_fn({k: np.copy(v) for k, v in inputs.items()}, douts)
    ref_outputs = _flatten(ref_outputs)

    names = list(output_names or [f"out{i}" if i else "out" for i in range(len(outputs))])
    actuals = [o.numpy() for o in outputs]
    rows = [
        compare_arrays(n, a, r, tolerance) for n, a, r in zip(names, actuals, ref_outputs)
    ]
    if len(ref_outputs) != len(outputs):
        rows.append(Row("outputs", (), problem=f"{len(outputs)} != {len(ref_outputs)}"))
    for k, g in zip(wrt, grads):
        actual = np.zeros(inputs[k].shape) if g is None else tf.convert_to_tensor(g).numpy()
        actuals.append(actual)
        rows.append(compare_arrays(f"d{k}", actual, ref_grads[k], tolerance))
    if dtype != "float64" and not all(r.ok for r in rows) and len(rows) == len(actuals):
        rows = _arbitrate(rows, actuals, ref_outputs + [ref_grads[k] for k in wrt], ref_fn,
                          inputs, douts, wrt, tolerance)
    return ParityReport(name, dtype, rows)


def _arbitrate(rows, actuals, refs, ref_fn, inputs, douts, wrt, tolerance):
    """Re-judges failing low-precision rows against the reference run in float64.

    The float64 run sees exactly the float32 values (widening is exact), so it is the
    float32 problem solved without rounding. A row passes only if TF's result is within
    `tolerance` of it AND the reference's own low-precision result is not: the disagreement
    was the reference's rounding (e.g. a ReLU input rounded across zero), not TF's.
    """
    out64, grads64 = ref_fn(cast_floats(inputs, "float64"),
                            [np.asarray(d, np.float64) for d in douts])
    exact = _flatten(out64) + [grads64[k] for k in wrt]
    judged = []
    for row, actual, ref, truth in zip(rows, actuals, refs, exact):
        if not row.ok:
            against_truth = compare_arrays(row.tensor, actual, truth, tolerance)
            ref_off = compare_arrays(row.tensor, ref, truth, tolerance)
            if against_truth.ok and not ref_off.ok:
                against_truth.note = (f"vs float64 ref (the float32 ref is off it: "
                                      f"{ref_off.problem})")
                row = against_truth
        judged.append(row)
    return judged


def torch_reference(fn):
    """Wraps a PyTorch function ``fn(**tensors)`` as a `compare` reference (autograd VJP)."""
    import torch  # optional: only parity against PyTorch needs it

    def ref(inputs, douts):
        tensors = {k: torch.from_numpy(np.asarray(v)) for k, v in inputs.items()}
        floats = {k: t.requires_grad_() for k, t in tensors.items() if t.is_floating_point()}
        outputs = _flatten(fn(**tensors))
        torch.autograd.backward(outputs, [torch.from_numpy(d) for d in douts])
        grads = {
            k: (t.grad if t.grad is not None else torch.zeros_like(t)).numpy()
            for k, t in floats.items()
        }
        return [o.detach().numpy() for o in outputs], grads

    return ref


# ----------------------------------------------------------------------------- layouts
# Weight and activation layouts differ between frameworks; each adapter is tested in
# tests/test_parity.py on shapes whose every dimension differs, so a wrong axis fails.


@contextlib.contextmanager
def floatx(dtype):
    """Keras layers built inside compute and store in `dtype` ("float64" for tight parity).

    Setting floatx alone is not enough: Keras caches its global dtype policy the first time
    any layer is built, and layers take their dtype from that policy; without resetting it,
    float64 models silently ran in float32 whenever a model had been built before.
    """
    import keras

    old, old_policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(old)
        keras.config.set_dtype_policy(old_policy)
