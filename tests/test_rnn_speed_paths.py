"""The hand-written backward passes of rnn_forward / lstm_forward against plain autodiff.

`tfcs231n.captioning.ops` gives the sequence ops a `tf.custom_gradient`; here their gradients
are checked against autodiff through an unrolled Python loop over the same one-step
recurrence, in float64 to the course's relative error, wherever the op may be called:
eagerly, inside another `tf.function` with an unknown number of time steps, with T = 1,
and under XLA.
"""

import numpy as np
import pytest
import tensorflow as tf

from tfcs231n.parity import engine as parity
from tfcs231n.captioning import ops

GATES = {"rnn": 1, "lstm": 4}
OPS = {"rnn": ops.rnn, "lstm": ops.lstm}


def _unrolled(cell, x, h0, Wx, Wh, b):
    """The sequence by a Python loop over the one-step recurrence; autodiff's reference."""
    h, c, hs = h0, tf.zeros_like(h0), []
    for t in range(x.shape[1]):
        xw = tf.matmul(x[:, t], Wx)
        if cell == "rnn":
            h = ops._rnn_recurrence(xw, h, Wh, b)
        else:
            h, c = ops._lstm_recurrence(xw, h, c, Wh, b)
        hs.append(h)
    return tf.stack(hs, axis=1)  # (N, T, H)


def _inputs(cell, N=3, T=5, D=4, H=6, seed=0):
    rng = np.random.default_rng(seed)
    k = GATES[cell] * H
    args = [rng.standard_normal(s) for s in [(N, T, D), (N, H), (D, k), (H, k), (k,)]]
    dh = rng.standard_normal((N, T, H))  # an upstream gradient for every hidden state
    return [tf.constant(a) for a in args], tf.constant(dh)


def _value_and_grads(fn, args, dh):
    with tf.GradientTape() as tape:
        tape.watch(args)
        h = fn(*args)
    return [h, *tape.gradient(h, args, output_gradients=dh)]


def _assert_close(actual, desired):
    names = ["h", "dx", "dh0", "dWx", "dWh", "db"]
    for name, a, d in zip(names, actual, desired):
        assert a.shape == d.shape, name
        error = parity.rel_error(a.numpy(), d.numpy())
        assert error <= 1e-9, f"{name}: rel error {error:.2e}"


@pytest.mark.parametrize("T", [1, 2, 7])
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_gradients_match_autodiff_eagerly(cell, T):
    args, dh = _inputs(cell, T=T)
    desired = _value_and_grads(lambda *a: _unrolled(cell, *a), args, dh)
    _assert_close(_value_and_grads(OPS[cell], args, dh), desired)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_gradients_match_autodiff_with_unknown_time_inside_tf_function(cell):
    args, dh = _inputs(cell, T=6)
    desired = _value_and_grads(lambda *a: _unrolled(cell, *a), args, dh)
    spec = tf.TensorSpec([None, None, args[0].shape[2]], tf.float64)

    @tf.function(input_signature=[spec, tf.TensorSpec([None, None, None], tf.float64)])
    def run(x, dh):
        assert x.shape[1] is None  # the loops must not need a static T
        return _value_and_grads(OPS[cell], [x, *args[1:]], dh)

    _assert_close(run(args[0], dh), desired)
    # A second length reuses the trace.
    short = _value_and_grads(lambda *a: _unrolled(cell, *a), [args[0][:, :2], *args[1:]],
                             dh[:, :2])
    _assert_close(run(args[0][:, :2], dh[:, :2]), short)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_gradients_match_autodiff_under_xla(cell):
    args, dh = _inputs(cell, T=4)
    desired = _value_and_grads(lambda *a: _unrolled(cell, *a), args, dh)
    run = tf.function(lambda: _value_and_grads(OPS[cell], args, dh), jit_compile=True)
    _assert_close(run(), desired)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_second_order_gradients_match_autodiff(cell):
    # d/dWh of |dL/dx|^2: the backward pass is itself differentiable.
    args, dh = _inputs(cell, T=3)

    def grad_norm_grads(fn):
        with tf.GradientTape() as outer:
            outer.watch(args)
            dx = _value_and_grads(fn, args, dh)[1]
            norm = tf.reduce_sum(dx * dx)
        return outer.gradient(norm, args)

    actual = grad_norm_grads(OPS[cell])
    desired = grad_norm_grads(lambda *a: _unrolled(cell, *a))
    for name, a, d in zip(["x", "h0", "Wx", "Wh", "b"], actual, desired):
        assert parity.rel_error(a.numpy(), d.numpy()) <= 1e-9, name
