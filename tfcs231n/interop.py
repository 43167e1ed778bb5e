"""Every PyTorch <-> Keras layout adapter: dense, conv and conv-transpose kernels,
NCHW <-> NHWC, LSTM gate orders. Each is tested numerically against PyTorch and Keras."""

import numpy as np


# Gate orders along the stacked 4H axis. Keras calls the candidate gate "c"; it is the
# course's "g".
GATE_ORDERS = {"course": "ifog", "torch": "ifgo", "keras": "ifgo"}



def reorder_gates(w, src, dst, axis=-1):
    """Reorders LSTM gate blocks along `axis` from one convention to another.

    Conventions: "course" (i, f, o, g), "torch" (i, f, g, o), "keras" (i, f, c, o; c = g).
    """
    for convention in (src, dst):
        if convention not in GATE_ORDERS:
            raise ValueError(f"unknown gate order {convention!r}; use one of {sorted(GATE_ORDERS)}")
    w = np.asarray(w)
    if w.shape[axis] % 4:
        raise ValueError(f"axis {axis} of shape {w.shape} is not 4 stacked gates")
    blocks = dict(zip(GATE_ORDERS[src], np.split(w, 4, axis=axis)))
    return np.concatenate([blocks[g] for g in GATE_ORDERS[dst]], axis=axis)



def dense_torch_to_keras(w):
    """torch.nn.Linear weight (out, in) -> Keras Dense kernel (in, out)."""
    return np.ascontiguousarray(np.asarray(w).T)



def dense_keras_to_torch(w):
    """Keras Dense kernel (in, out) -> torch.nn.Linear weight (out, in)."""
    return np.ascontiguousarray(np.asarray(w).T)



def conv_torch_to_keras(w):
    """torch Conv2d weight (out, in, kh, kw) -> Keras Conv2D kernel (kh, kw, in, out)."""
    return np.ascontiguousarray(np.transpose(w, (2, 3, 1, 0)))



def conv_keras_to_torch(w):
    """Keras Conv2D kernel (kh, kw, in, out) -> torch Conv2d weight (out, in, kh, kw)."""
    return np.ascontiguousarray(np.transpose(w, (3, 2, 0, 1)))



def conv_transpose_torch_to_keras(w):
    """torch ConvTranspose2d weight (in, out, kh, kw) -> Keras Conv2DTranspose (kh, kw, out, in).

    Both frameworks define the transposed convolution as the gradient of a correlation with
    the same kernel, so only the axes move; no spatial flip.
    """
    return np.ascontiguousarray(np.transpose(w, (2, 3, 1, 0)))



def nchw_to_nhwc(x):
    return np.ascontiguousarray(np.transpose(x, (0, 2, 3, 1)))



def nhwc_to_nchw(x):
    return np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))
