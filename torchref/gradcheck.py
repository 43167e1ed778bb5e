"""Finite-difference gradient checks in the style of the CS231n notebooks.

Both helpers perturb ``x`` in place, one element at a time, and restore it
afterwards, so ``f`` may equally read its argument or a closure over ``x``.
"""

import numpy as np


def rel_error(x, y):
    """Largest elementwise relative error, max |x - y| / max(1e-8, |x| + |y|).

    This is the course's definition: the 1e-8 floor keeps entries where both
    values are (near) zero from dividing by zero.
    """
    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))


def eval_numerical_gradient(f, x, h=1e-5):
    """Centered-difference gradient of a scalar function.

    Args:
        f: callable taking x and returning a scalar.
        x: float array, any shape; modified during the call and restored.
        h: step size.

    Returns:
        Array shaped like x with d f / d x.
    """
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        f_plus = f(x)
        x[ix] = old - h
        f_minus = f(x)
        x[ix] = old
        grad[ix] = (f_plus - f_minus) / (2 * h)
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Centered-difference gradient of sum(f(x) * df) for an array-valued f.

    Args:
        f: callable taking x and returning an array shaped like df.
        x: float array, any shape; modified during the call and restored.
        df: upstream gradient of f's output.
        h: step size.

    Returns:
        Array shaped like x, the vector-Jacobian product df^T (d f / d x).
    """
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        # Copy: f may return a view that the next perturbation would change.
        f_plus = np.array(f(x), copy=True)
        x[ix] = old - h
        f_minus = np.array(f(x), copy=True)
        x[ix] = old
        grad[ix] = np.sum((f_plus - f_minus) * df) / (2 * h)
    return grad
