"""Argument validation shared by every public op.

Errors are raised where arguments enter, with the argument's name and shape in the message,
so a course user sees "Wh has shape (4, 5) but expected (H, H) = (5, 5)" rather than a
matmul error three frames deep inside TensorFlow.
"""

import re

import numpy as np
import tensorflow as tf

_TOKEN = re.compile(r"^(\d*)([A-Za-z_]\w*)$")


class Dims:
    """Named dimensions bound across the arguments of one call.

    The first argument that mentions a dimension binds it; every later mention must agree.
    A spec is a comma-separated string such as ``"N,T,D"`` or ``"H,4H"`` (a leading integer
    multiplies the named size, for the LSTM's stacked gates); a bare integer is a fixed size. Unknown sizes (``None`` inside a
    traced function) are skipped.

    Example:
        >>> dims = Dims()
        >>> dims.check("x", x, "N,D").check("Wx", Wx, "D,H")
        >>> dims["H"]
    """

    def __init__(self):
        self._sizes = {}  # name -> (size, argument that bound it)

    def __getitem__(self, name):
        return self._sizes[name][0]

    def check(self, arg, value, spec):
        tokens = [t.strip() for t in spec.split(",")] if spec else []
        shape = tuple(value.shape)
        if len(shape) != len(tokens):
            raise ValueError(
                f"{arg} must have rank {len(tokens)} with shape ({spec}), got shape {shape}"
            )
        parsed = [_parse(t) for t in tokens]
        # Bind from plain names first so "4H" in Wx can be checked against H from prev_h.
        for (mult, name), size in sorted(zip(parsed, shape), key=lambda p: p[0][0] != 1):
            if size is None:
                continue
            if name is None:
                if size != mult:
                    raise ValueError(f"{arg} has shape {shape} but expected ({spec})")
            elif name not in self._sizes:
                if size % mult:
                    raise ValueError(
                        f"{arg} has shape {shape}: a dimension of ({spec}) must be a "
                        f"multiple of {mult}, got {size}"
                    )
                self._sizes[name] = (size // mult, arg)
            elif self._sizes[name][0] * mult != size:
                bound, source = self._sizes[name]
                expected = tuple(
                    m if n is None else self._sizes[n][0] * m if n in self._sizes else "?"
                for m, n in parsed
                )
                raise ValueError(
                    f"{arg} has shape {shape} but expected ({spec}) = {expected}: "
                    f"{name} is {bound} from {source}"
                )
        return self


def _parse(token):
    if token.isdigit():
        return int(token), None
    match = _TOKEN.match(token)
    if not match:
        raise ValueError(f"bad dimension token {token!r}")
    return int(match.group(1) or 1), match.group(2)


def float_tensors(**named):
    """Converts arguments to tensors of one floating dtype, taken from the arguments.

    NumPy arrays and tensors keep their dtype (float64 in -> float64 out); Python lists and
    scalars follow the others. Mixed float dtypes are an error rather than a silent cast,
    because a float64 reference check run accidentally in float32 passes for the wrong reason.

    Returns:
        A list of tensors in argument order.
    """
    dtype = None
    first = None
    for name, value in named.items():
        vdtype = getattr(value, "dtype", None)
        if vdtype is None:
            continue
        vdtype = tf.as_dtype(vdtype)
        if not vdtype.is_floating:
            raise ValueError(f"{name} must be floating point, got dtype {vdtype.name}")
        if dtype is None:
            dtype, first = vdtype, name
        elif vdtype != dtype:
            raise ValueError(
                f"{name} has dtype {vdtype.name} but {first} has {dtype.name}; "
                "cast explicitly so every argument shares one dtype"
            )
    dtype = dtype or tf.float32
    return [tf.convert_to_tensor(v, dtype=dtype) for v in named.values()]


def int_tensor(name, value):
    """Converts integer ids to a tensor; floats and booleans are rejected by name."""
    tensor = tf.convert_to_tensor(value)
    if not tensor.dtype.is_integer:
        raise ValueError(f"{name} must hold integer ids, got dtype {tensor.dtype.name}")
    return tensor


def finite(name, x):
    """x, if every value is finite. Checked eagerly only: inside a traced function (a
    SavedModel) the values are unknown. A NaN input otherwise comes out as NaN maps or,
    worse, as plausible-looking outputs (argmax of NaN scores picks id 0)."""
    if tf.executing_eagerly():
        bad = int(tf.size(x)) - int(tf.math.count_nonzero(tf.math.is_finite(x)))
        if bad:
            raise ValueError(f"{name} has {bad} NaN or infinite values")
    return x


def check_ids(name, ids, upper):
    """Checks that every id lies in [0, upper).

    Eagerly this raises ValueError with the offending value and its index. Inside a traced
    function the values are unknown until run time, so a TF assertion with the same message
    raises ``tf.errors.InvalidArgumentError`` instead; without either check, TF's gather on
    GPU silently returns zeros for bad ids.
    """
    if tf.executing_eagerly():
        values = ids.numpy() if hasattr(ids, "numpy") else np.asarray(ids)
        bad = (values < 0) | (values >= upper)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"{name} has ids outside [0, {upper}): {name}{list(index)} = "
                f"{values[index]} ({int(bad.sum())} bad ids in all)"
            )
        return ids
    message = f"{name} has ids outside [0, {upper})"
    with tf.control_dependencies(
        [
            tf.debugging.assert_non_negative(ids, message=message),
            tf.debugging.assert_less(ids, tf.cast(upper, ids.dtype), message=message),
        ]
    ):
        return tf.identity(ids)
