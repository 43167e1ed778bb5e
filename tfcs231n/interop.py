"""PyTorch <-> Keras: every layout adapter, and the one loader of torchvision state dicts.

Adapters: dense, conv and conv-transpose kernels, NCHW <-> NHWC, LSTM gate orders, each
tested numerically against PyTorch and Keras. `load_torch_state_dict` is what every
``weights=`` taking PyTorch weights goes through (SqueezeNet, ResNet-18, the VGG style
backbones); the models supply their key maps (torchvision key -> Keras variable, layout).
"""

import os
import pickle
from collections.abc import Mapping
from pathlib import Path

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



# ----------------------------------------------------------------------------- state dicts
# Layouts a torchvision tensor can need on its way into a Keras variable: name -> (adapter,
# the Keras axes in torch order, for naming the shape the model expects in torch's terms).
LAYOUTS = {
    "conv": (conv_torch_to_keras, (3, 2, 0, 1)),
    "dense": (dense_torch_to_keras, (1, 0)),
    "same": (np.asarray, None),
}
# Buffers PyTorch saves that no Keras variable holds: BatchNorm's step counter.
_NO_KERAS_COUNTERPART = ("num_batches_tracked",)
_FEATURES = "features."
_LISTED = 8  # keys shown per kind of problem; the rest are counted


def torch_shape(keras_shape, layout):
    """The PyTorch shape of a tensor whose Keras variable has `keras_shape`."""
    axes = LAYOUTS[layout][1]
    return tuple(keras_shape) if axes is None else tuple(keras_shape[a] for a in axes)


def _to_numpy(key, value):
    if hasattr(value, "detach"):  # a torch tensor; duck-typed so arrays need no torch
        value = value.detach().cpu()
        if value.dtype.is_floating_point and value.element_size() < 4:
            value = value.float()  # NumPy has no bfloat16
        return value.numpy()
    try:
        return np.asarray(value)
    except Exception as e:  # noqa: BLE001 - anything NumPy cannot read is the caller's error
        raise ValueError(f"state dict value for {key!r} is not an array or tensor "
                         f"({type(value).__name__})") from e


def read_torch_state_dict(path):
    """A PyTorch ``.pth``/``.pt`` state dict as ``{key: NumPy array}``, torch layout.

    Reads with ``torch.load(weights_only=True)``: a file holding a whole pickled model (not
    its ``state_dict()``) is refused rather than executed.

    Raises:
        FileNotFoundError: no such file.
        ImportError: PyTorch is not installed.
        ValueError: corrupt, truncated, or not a dict of tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such weights file: {path}")
    try:
        import torch  # optional: only .pth files need it
    except ImportError as e:
        raise ImportError(f"reading {path} needs PyTorch (pip install torch); or convert it "
                          "to a Keras .weights.h5 on a machine that has it") from e
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as e:
        # Corrupt, truncated, or a whole pickled model, which weights_only refuses to run.
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ValueError(f"{path} is not a readable PyTorch state dict ({reason}); save one "
                         f"with torch.save(model.state_dict(), path)") from e
    if not isinstance(state, Mapping) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f"{path} is not a PyTorch state dict of tensors; save one with "
                         f"torch.save(model.state_dict(), path)")
    return {key: _to_numpy(key, value) for key, value in state.items()}


def load_torch_state_dict(source, targets, what, *, name=None, optional=(), ignore=()):
    """Copies a torchvision-format state dict into Keras variables; checks everything first.

    The one loader behind every ``weights=`` that takes PyTorch weights. Keys, then shapes
    are checked against `targets`; nothing is assigned unless all fit, so a failed load
    leaves the model as it was.

    A features-only state dict (``vgg.features.state_dict()``: keys ``0.weight``, ...) is
    recognised when no key starts with ``features.`` and every key starts with a module
    index while the model's keys have a ``features`` prefix: its keys get the prefix, and
    targets outside ``features`` keep their current values.

    Args:
        source: a ``.pth``/``.pt`` path, or a mapping key -> torch tensor or NumPy array,
            in torch layout.
        targets: torchvision key -> (Keras variable, layout), layout a key of `LAYOUTS`:
            "conv" (out, in, kh, kw) -> (kh, kw, in, out), "dense" (out, in) -> (in, out),
            "same".
        what: the model, for messages ("SqueezeNet 1.1").
        name: how messages name `source` (default: the path, or "the state dict").
        optional: target keys loaded only as a group and only if all are present with the
            model's shapes, else all keep their values (a classifier head of another size).
        ignore: key prefixes of modules the model does not hold (a VGG's ``classifier.``
            when only its features are used); ``num_batches_tracked`` is always ignored.

    Returns:
        The sorted target keys left at their previous values.

    Raises:
        ValueError: one message naming every missing, unexpected and misshapen key (with
            the model's and the source's shapes, torch layout).
    """
    if isinstance(source, Mapping):
        name = name or "the state dict"
        state = {str(k): _to_numpy(k, v) for k, v in source.items()}
    elif isinstance(source, (str, os.PathLike)):
        name = name or str(source)
        if not str(source).lower().endswith((".pth", ".pt")):
            raise ValueError(f"{what} reads PyTorch state dicts from .pth or .pt files, got "
                             f"{source}")
        state = read_torch_state_dict(source)
    else:
        raise ValueError(f"{what} weights must be a .pth path or a state dict (mapping of "
                         f"tensors), got {type(source).__name__}")
    for key, (variable, layout) in targets.items():
        if layout not in LAYOUTS:
            raise ValueError(f"layout of {key!r} must be one of {sorted(LAYOUTS)}, got "
                             f"{layout!r}")

    features_only = (any(k.startswith(_FEATURES) for k in targets)
                     and not any(k.startswith(_FEATURES) for k in state)
                     and bool(state) and all(k.split(".", 1)[0].isdigit() for k in state))
    optional = set(optional)
    if features_only:
        state = {_FEATURES + k: v for k, v in state.items()}
        optional |= {k for k in targets if not k.startswith(_FEATURES)}
    state = {k: v for k, v in state.items()
             if not k.startswith(tuple(ignore)) and not k.endswith(_NO_KERAS_COUNTERPART)}

    def expected(key):
        variable, layout = targets[key]
        return torch_shape(variable.shape, layout)

    def fits(key):
        return key in state and tuple(state[key].shape) == expected(key)

    load_optional = bool(optional) and all(fits(k) for k in optional if k in targets)
    keys = [k for k in targets if k not in optional or load_optional]
    missing = [f"{k} ({targets[k][0].path})" for k in keys if k not in state]
    unexpected = [k for k in state if k not in targets]
    misshapen = [f"{k} ({targets[k][0].path}): expected {expected(k)}, got "
                 f"{tuple(state[k].shape)}" for k in keys if k in state and not fits(k)]
    problems = [f"{kind} {_listing(items)}" for kind, items in
                (("missing", missing), ("unexpected", unexpected), ("misshapen", misshapen))
                if items]
    if problems:
        how = " (read as features-only: keys prefixed with 'features.')" if features_only else ""
        raise ValueError(f"{name} does not fit {what}{how}: " + "; ".join(problems)
                         + " (shapes in PyTorch layout)")
    for key in keys:
        variable, layout = targets[key]
        variable.assign(LAYOUTS[layout][0](state[key]).astype(variable.dtype))
    return sorted(set(targets) - set(keys))


def _listing(items):
    shown = ", ".join(items[:_LISTED])
    more = len(items) - _LISTED
    return f"{shown} and {more} more" if more > 0 else shown
