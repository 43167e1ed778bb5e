"""Helpers shared by the course-notebook ports."""

import numpy as np


def rel_error(x, y):
    """The course notebooks' relative error: max |x - y| / max(1e-8, |x| + |y|)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))


def assert_course_gradient(name, grad, ref_grad, num, bound):
    """A gradient from tfcs231n.course equals the course's hand-written formula (torchref,
    same inputs) to float64 parity, and passes the notebook's finite-difference check: within
    `bound` (the notebook's), or, where the course's own formula misses it by finite-
    difference rounding, no worse than that formula does."""
    from tfcs231n.parity.engine import TOLERANCES

    assert rel_error(ref_grad, grad) <= TOLERANCES["float64"].course_rel, name
    error, course_error = rel_error(num, grad), rel_error(num, ref_grad)
    assert error <= max(bound, course_error * (1 + 1e-3)), (name, error, course_error)
