"""Judging one student function: compare its outputs case by case, stop at the first
failure, and name a likely cause.

A check yields `Case`s: the student's tensors, the reference's, and the known wrong answers
(`alternatives`: likely cause -> the tensors that mistake produces). A failing case whose
tensors all match one wrong answer gets that cause; otherwise a few generic patterns are
tried (a shape, NaN/inf where the reference is finite, float32 arithmetic).
"""

import dataclasses

import numpy as np

from tfcs231n.parity.engine import TOLERANCES, Row, Tolerance, compare_arrays, published_atol

FLOAT64 = TOLERANCES["float64"]
# A wrong answer is recognised when the student's tensors equal it this closely: loose
# enough for a different but correct order of operations, far tighter than any mistake.
MATCH = Tolerance(course_rel=1e-6)


@dataclasses.dataclass(frozen=True)
class Published(Tolerance):
    """Agreement with a value the course printed rounded to `decimals` places."""

    decimals: int = 8

    def allowed(self, actual, desired):
        return np.full(np.shape(desired), published_atol(self.decimals))

    def __str__(self):
        return f"|a-d|<={published_atol(self.decimals):g} (published to {self.decimals} places)"


@dataclasses.dataclass
class Case:
    """One comparison of a student function.

    label: what was run ("N3T4D5H6", "course values"). actual, desired: dict tensor name ->
    array, in report order (every desired name must be in actual). tolerance: defaults to
    float64's. alternatives: dict likely cause -> a function returning the desired-like dict
    that mistake gives (called only on failure).
    """

    label: str
    actual: dict
    desired: dict
    tolerance: Tolerance = FLOAT64
    alternatives: dict = dataclasses.field(default_factory=dict)
    verdicts: list = None  # ready-made Rows (checks of properties, not tensors)


@dataclasses.dataclass
class Result:
    """The verdict on one function; `to_dict` for JSON."""

    function: str
    ok: bool = False
    cases: int = 0
    case: str = ""  # the failing case
    row: Row = None  # its first failing tensor
    cause: str = ""
    error: str = ""  # an exception, a time-out or a crash instead of an answer

    def to_dict(self):
        d = {"function": self.function, "ok": self.ok, "cases": self.cases}
        if self.error:
            d["error"] = self.error
        if self.row is not None:
            r = self.row
            d["failure"] = {
                "case": self.case, "tensor": r.tensor, "problem": r.problem,
                "index": list(r.worst_index), "actual": _finite(r.actual),
                "desired": _finite(r.desired), "max_rel": _finite(r.max_rel),
                "tolerance": r.tolerance}
        if self.cause:
            d["likely_cause"] = self.cause
        return d

    @classmethod
    def from_dict(cls, d):
        result = cls(d["function"], d["ok"], d.get("cases", 0), error=d.get("error", ""),
                     cause=d.get("likely_cause", ""))
        f = d.get("failure")
        if f:
            result.case = f["case"]
            result.row = Row(f["tensor"], (), worst_index=tuple(f["index"]),
                             actual=_nan(f["actual"]), desired=_nan(f["desired"]),
                             max_rel=_nan(f["max_rel"]), tolerance=f["tolerance"],
                             problem=f["problem"])
        return result

    def line(self):
        """One or more lines for the console."""
        if self.ok:
            return f"PASS  {self.function}  ({self.cases} cases)"
        if self.error:
            head = f"FAIL  {self.function}: {self.error}"
        elif not np.isfinite(self.row.actual) and not np.isfinite(self.row.desired):
            head = f"FAIL  {self.function} [{self.case}]: {self.row.tensor}: {self.row.problem}"
        else:
            r = self.row
            head = (f"FAIL  {self.function} [{self.case}]: {r.tensor} {r.problem}; worst at "
                    f"{list(r.worst_index)}: got {r.actual:.10g}, expected {r.desired:.10g} "
                    f"(rel error {r.max_rel:.2e}, allowed {r.tolerance})")
        return head + (f"\n      likely cause: {self.cause}" if self.cause else "")


def _finite(v):
    return None if v is None or not np.isfinite(v) else float(v)


def _nan(v):
    return float("nan") if v is None else v


def rows(actual, desired, tolerance):
    """compare_arrays over the desired tensors, in order."""
    return [compare_arrays(name, _array(actual.get(name)), want, tolerance)
            for name, want in desired.items()]


def _array(x):
    if x is None:
        return np.array(np.nan)
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def _matches(actual, desired):
    return all(r.ok for r in rows(actual, desired, MATCH))


def _generic_cause(case, row):
    value = case.actual.get(row.tensor)
    if row.problem.startswith("shape"):
        return f"{row.tensor} has the wrong shape ({row.problem})"
    if "positions differ" in row.problem and not np.all(np.isfinite(_array(value))):
        return ("NaN or inf where the reference is finite: an exp or log overflows "
                "(shift scores by their max; use a stable log-sigmoid)")
    if value is None:
        return ""
    dtype = getattr(value, "dtype", None)
    if dtype is not None and np.dtype(getattr(dtype, "as_numpy_dtype", dtype)) == np.float32:
        return "computed in float32: keep the inputs' dtype (float64 here)"
    return ""


def judge(function, cases):
    """Runs the cases (an iterable, consumed lazily) until one fails -> `Result`."""
    result = Result(function)
    for case in cases:
        result.cases += 1
        judged = case.verdicts or rows(case.actual, case.desired, case.tolerance)
        failed = [r for r in judged if not r.ok]
        if failed:
            result.case, result.row = case.label, failed[0]
            for cause, wrong in case.alternatives.items():
                if _matches(case.actual, wrong()):
                    result.cause = cause
                    break
            else:
                result.cause = _generic_cause(case, failed[0])
            return result
    result.ok = result.cases > 0
    return result
