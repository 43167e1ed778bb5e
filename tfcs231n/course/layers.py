"""The course's `cs231n/layers.py` pieces that assignment 3 uses: affine, ReLU, softmax.

Forwards return ``(out, cache)`` and backwards NumPy gradients, from autodiff through
TensorFlow (`tfcs231n.course._tape`), as in `tfcs231n.course.rnn_layers`.
"""

import numpy as np
import tensorflow as tf

from tfcs231n.course._tape import forward


def _affine(x, w, b):
    x = tf.reshape(x, [tf.shape(x)[0], -1])  # the course flattens each example
    return tf.matmul(x, w) + b


def affine_forward(x, w, b):
    """x (N, d_1, ..., d_k) flattened to (N, D), w (D, M), b (M,) -> (out (N, M), cache)."""
    return forward(_affine, (x, w, b), range(3))


def affine_backward(dout, cache):
    """dout (N, M) -> (dx (N, d_1, ..., d_k), dw (D, M), db (M,))."""
    return cache.vjp(dout)


def relu_forward(x):
    """max(0, x), any shape -> (out, cache)."""
    return forward(tf.nn.relu, (x,), (0,))


def relu_backward(dout, cache):
    """dout, x's shape -> dx."""
    return cache.vjp(dout)[0]


def softmax_loss(x, y):
    """Mean softmax cross-entropy of scores x (N, C) for labels y int (N,) -> (loss, dx)."""
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.convert_to_tensor(np.asarray(y)), logits=x))
    return float(loss), tape.gradient(loss, x).numpy()
