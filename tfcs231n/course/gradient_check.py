"""The course's `cs231n/gradient_check.py`: centred finite differences in NumPy.

The functions call `f` on the very array they perturb (edited in place and restored), as
the course's do, so a model's `params` arrays can be checked through a closure.
"""

from random import randrange

import numpy as np


def _value(fx):
    return np.asarray(fx, dtype=np.float64)  # f may return a tensor or a NumPy scalar


def _evaluate_around(f, x, ix, h):
    """(f at x[ix] + h, f at x[ix] - h) as float64 arrays; x[ix] is restored after."""
    old = x[ix]
    try:
        x[ix] = old + h
        plus = _value(f(x)).copy()  # copied: f may return a view of x
        x[ix] = old - h
        minus = _value(f(x)).copy()
    finally:
        x[ix] = old
    return plus, minus


def eval_numerical_gradient(f, x, verbose=True, h=0.00001):
    """Numeric gradient of a scalar function f at x (any shape, edited in place).

    Prints ``index gradient`` for every entry when `verbose`, as the course does.

    Returns:
        An array of x's shape.
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        fxph, fxmh = _evaluate_around(f, x, ix, h)
        grad[ix] = (float(fxph) - float(fxmh)) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numeric vector-Jacobian product: d(sum(f(x) * df))/dx for an array-valued f."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        pos, neg = _evaluate_around(f, x, it.multi_index, h)
        grad[it.multi_index] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5):
    """Compares `analytic_grad` with the numeric gradient at `num_checks` random entries,
    printing one line per entry as the course does."""
    for _ in range(num_checks):
        ix = tuple(randrange(m) for m in x.shape)
        fxph, fxmh = _evaluate_around(f, x, ix, h)
        numeric = (float(fxph) - float(fxmh)) / (2 * h)
        analytic = analytic_grad[ix]
        rel = abs(numeric - analytic) / (abs(numeric) + abs(analytic))
        print("numerical: %f analytic: %f, relative error: %e" % (numeric, analytic, rel))
