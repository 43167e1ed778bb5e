"""Backward passes of the course's API from TensorFlow autodiff.

A forward returns a `Cache` holding the native op and its inputs; the matching backward
replays the op under a `tf.GradientTape` and returns the vector-Jacobian product as NumPy
arrays, the course's return type. Replaying costs one forward pass and keeps no tape alive
between the calls.
"""

import numpy as np
import tensorflow as tf


class Cache:
    """What a backward needs: the native op and the inputs of its forward call.

    Attributes:
        fn: the op, called as ``fn(*inputs)``.
        inputs: the arguments as given (NumPy arrays or tensors).
        wrt: indices of the inputs to differentiate (float ones).
    """

    def __init__(self, fn, inputs, wrt):
        self.fn, self.inputs, self.wrt = fn, tuple(inputs), tuple(wrt)

    def vjp(self, *douts):
        """Gradients of the inputs in `wrt`, given the upstream gradient of each output."""
        inputs = [tf.convert_to_tensor(x) for x in self.inputs]
        with tf.GradientTape() as tape:
            for i in self.wrt:
                tape.watch(inputs[i])
            out = self.fn(*inputs)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        douts = [tf.cast(tf.convert_to_tensor(d), o.dtype) for d, o in zip(douts, outs)]
        grads = tape.gradient(outs, [inputs[i] for i in self.wrt], output_gradients=douts)
        return tuple(np.zeros(inputs[i].shape, inputs[i].dtype.as_numpy_dtype) if g is None
                     else _dense(g).numpy() for i, g in zip(self.wrt, grads))


def _dense(g):
    return tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g


def numpy(x):
    """A tensor (or nested tuple of them) as NumPy."""
    if isinstance(x, (tuple, list)):
        return type(x)(numpy(v) for v in x)
    return x.numpy() if tf.is_tensor(x) else np.asarray(x)


def forward(fn, inputs, wrt):
    """Runs ``fn(*inputs)``; returns (NumPy output(s), Cache)."""
    return numpy(fn(*inputs)), Cache(fn, inputs, wrt)
