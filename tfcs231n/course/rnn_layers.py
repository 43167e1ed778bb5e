"""The course's `cs231n/rnn_layers.py`: forwards return ``(out, cache)``, backwards exist.

Each forward runs the native op of `tfcs231n.captioning.ops` and returns NumPy outputs
with a cache; each backward returns the course's NumPy gradients, computed by autodiff
through the same op (`tfcs231n.course._tape`). Shapes use the course's letters: N batch,
T time steps, D input size, H hidden size, V vocabulary size, M output size.
"""

import numpy as np
import tensorflow as tf

from tfcs231n.captioning import ops
from tfcs231n.course._tape import forward


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """next_h = tanh(x Wx + prev_h Wh + b): x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H),
    b (H,) -> (next_h (N, H), cache)."""
    ### BEGIN SOLUTION
    return forward(ops.rnn_step, (x, prev_h, Wx, Wh, b), range(5))
    ### END SOLUTION


def rnn_step_backward(dnext_h, cache):
    """dnext_h (N, H) -> (dx, dprev_h, dWx, dWh, db)."""
    ### BEGIN SOLUTION
    return cache.vjp(dnext_h)
    ### END SOLUTION


def rnn_forward(x, h0, Wx, Wh, b):
    """A vanilla RNN over x (N, T, D) from h0 (N, H) -> (h (N, T, H), cache)."""
    ### BEGIN SOLUTION
    return forward(ops.rnn, (x, h0, Wx, Wh, b), range(5))
    ### END SOLUTION


def rnn_backward(dh, cache):
    """dh (N, T, H), the upstream gradient of every hidden state -> (dx, dh0, dWx, dWh, db)."""
    ### BEGIN SOLUTION
    return cache.vjp(dh)
    ### END SOLUTION


def word_embedding_forward(x, W):
    """Word ids x int (N, T), vectors W (V, D) -> (out (N, T, D), cache)."""
    ### BEGIN SOLUTION
    return forward(ops.word_embedding, (x, W), (1,))
    ### END SOLUTION


def word_embedding_backward(dout, cache):
    """dout (N, T, D) -> dW (V, D); the ids have no gradient."""
    ### BEGIN SOLUTION
    return cache.vjp(dout)[0]
    ### END SOLUTION


def sigmoid(x):
    """A numerically stable logistic sigmoid of a NumPy array."""
    return tf.sigmoid(tf.convert_to_tensor(x)).numpy()


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step, gates i, f, o, g: x (N, D), prev_h, prev_c (N, H), Wx (D, 4H),
    Wh (H, 4H), b (4H,) -> (next_h, next_c, cache)."""
    ### BEGIN SOLUTION
    (next_h, next_c), cache = forward(ops.lstm_step, (x, prev_h, prev_c, Wx, Wh, b), range(6))
    return next_h, next_c, cache
    ### END SOLUTION


def lstm_step_backward(dnext_h, dnext_c, cache):
    """dnext_h, dnext_c (N, H) -> (dx, dprev_h, dprev_c, dWx, dWh, db)."""
    ### BEGIN SOLUTION
    return cache.vjp(dnext_h, dnext_c)
    ### END SOLUTION


def lstm_forward(x, h0, Wx, Wh, b):
    """An LSTM over x (N, T, D) from h0 (N, H) and a zero cell -> (h (N, T, H), cache)."""
    ### BEGIN SOLUTION
    return forward(ops.lstm, (x, h0, Wx, Wh, b), range(5))
    ### END SOLUTION


def lstm_backward(dh, cache):
    """dh (N, T, H) -> (dx, dh0, dWx, dWh, db)."""
    ### BEGIN SOLUTION
    return cache.vjp(dh)
    ### END SOLUTION


def temporal_affine_forward(x, w, b):
    """x (N, T, D), w (D, M), b (M,) -> (out (N, T, M), cache)."""
    return forward(ops.temporal_affine, (x, w, b), range(3))


def temporal_affine_backward(dout, cache):
    """dout (N, T, M) -> (dx, dw, db)."""
    return cache.vjp(dout)


def temporal_softmax_loss(x, y, mask, verbose=False):
    """The course's masked softmax loss and its gradient.

    Args:
        x: scores (N, T, V). y: int targets (N, T). mask: (N, T), true where a step counts.
        verbose: print the shape of the flattened gradient, as the course does.

    Returns:
        (loss, a float; dx, the gradient of the loss with respect to x, (N, T, V)).
    """
    ### BEGIN SOLUTION
    mask = np.asarray(mask) != 0  # the course multiplies by any 0/1 mask
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = ops.temporal_cross_entropy(x, y, mask)
    dx = tape.gradient(loss, x).numpy()
    if verbose:
        print("dx_flat: ", (dx.shape[0] * dx.shape[1], dx.shape[2]))
    return float(loss), dx
    ### END SOLUTION
