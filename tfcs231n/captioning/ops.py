"""Recurrent building blocks of CS231n assignment 3, in TensorFlow.

The course's math with TensorFlow returns: each op returns its output only (no cache), and
gradients come from autodiff, so there are no backward functions. The names drop the
course's `_forward` (`rnn_step`, `rnn`, `lstm_step`, `lstm`, `word_embedding`,
`temporal_affine`) because the returns differ: the course writes ``h, _ = rnn_forward(...)``,
which on a tensor of batch 2 would unpack the batch. For the same reason the loss is
`temporal_cross_entropy` (a scalar), not the course's `temporal_softmax_loss` (``loss, dx``).
The course's own names and returns, backward functions included, are
`tfcs231n.course.rnn_layers`; asking this module for one of them raises an ImportError that
says so.

Every op accepts NumPy arrays or tensors and computes in the inputs' floating dtype
(float64 in, float64 out). The two sequence ops carry the course's backward pass because
it is faster (see "sequences" below); `torchref.rnn_layers` holds the NumPy reference with
explicit backward passes that all of them are checked against (`tfcs231n parity`).

Shapes use the course's letters: N batch, T time steps, D input size, H hidden size,
V vocabulary size, M output size.
"""

import tensorflow as tf

from tfcs231n._checks import Dims, check_ids, float_tensors, int_tensor

# The course's names that this module does not define -> the native op, if any.
_COURSE_NAMES = {
    "rnn_step_forward": "rnn_step", "rnn_forward": "rnn", "lstm_step_forward": "lstm_step",
    "lstm_forward": "lstm", "word_embedding_forward": "word_embedding",
    "temporal_affine_forward": "temporal_affine", "rnn_step_backward": None,
    "rnn_backward": None, "lstm_step_backward": None, "lstm_backward": None,
    "word_embedding_backward": None, "temporal_affine_backward": None, "sigmoid": None,
    "temporal_softmax_loss": "temporal_cross_entropy",
}


def __getattr__(name):
    # ImportError, not AttributeError: `from ... import rnn_forward` turns an AttributeError
    # into its own message and would drop the pointer to the course's module.
    if name in _COURSE_NAMES:
        native = _COURSE_NAMES[name]
        hint = (f"; the native `{native}` here returns the output only (no cache or dx)"
                if native
                else "; here gradients come from autodiff (tf.GradientTape)")
        raise ImportError(
            f"{name} is the course's API (it returns the course's caches and NumPy "
            f"gradients): import it from tfcs231n.course.rnn_layers{hint}"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

# ----------------------------------------------------------------------------- steps
# The recurrences take the input already projected (xw = x @ Wx): a sequence projects all
# of its time steps in one large matmul, and a single step uses the same core.


def _rnn_recurrence(xw, h, Wh, b):
    return tf.tanh(xw + tf.matmul(h, Wh) + b)  # (N, H)


def _lstm_cell(xw, h, c, Wh, b):
    """One LSTM step; returns (next_h, next_c, (i, f, o, g)) with the gates activated."""
    a = xw + tf.matmul(h, Wh) + b  # (N, 4H)
    i, f, o, g = tf.split(a, 4, axis=-1)  # the course's gate order
    i, f, o, g = tf.sigmoid(i), tf.sigmoid(f), tf.sigmoid(o), tf.tanh(g)
    c = f * c + i * g
    h = o * tf.tanh(c)
    return h, c, (i, f, o, g)


def _lstm_recurrence(xw, h, c, Wh, b):
    h, c, _ = _lstm_cell(xw, h, c, Wh, b)
    return h, c


def rnn_step(x, prev_h, Wx, Wh, b):
    """One vanilla RNN step: next_h = tanh(x Wx + prev_h Wh + b).

    Args:
        x: input, (N, D).
        prev_h: previous hidden state, (N, H).
        Wx: input-to-hidden weights, (D, H).
        Wh: hidden-to-hidden weights, (H, H).
        b: bias, (H,).

    Returns:
        next_h, (N, H).
    """
    x, prev_h, Wx, Wh, b = float_tensors(x=x, prev_h=prev_h, Wx=Wx, Wh=Wh, b=b)
    Dims().check("x", x, "N,D").check("prev_h", prev_h, "N,H").check("Wx", Wx, "D,H").check(
        "Wh", Wh, "H,H"
    ).check("b", b, "H")
    return _rnn_recurrence(tf.matmul(x, Wx), prev_h, Wh, b)


def lstm_step(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step with the course's gate order i, f, o, g.

    a = x Wx + prev_h Wh + b is split into four (N, H) blocks i, f, o, g;
    next_c = sigmoid(f) * prev_c + sigmoid(i) * tanh(g); next_h = sigmoid(o) * tanh(next_c).

    Args:
        x: input, (N, D).
        prev_h, prev_c: previous hidden and cell state, (N, H) each.
        Wx: (D, 4H). Wh: (H, 4H). b: (4H,).

    Returns:
        (next_h, next_c), (N, H) each.
    """
    x, prev_h, prev_c, Wx, Wh, b = float_tensors(
        x=x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh, b=b
    )
    Dims().check("x", x, "N,D").check("prev_h", prev_h, "N,H").check(
        "prev_c", prev_c, "N,H"
    ).check("Wx", Wx, "D,4H").check("Wh", Wh, "H,4H").check("b", b, "4H")
    return _lstm_recurrence(tf.matmul(x, Wx), prev_h, prev_c, Wh, b)


# ----------------------------------------------------------------------------- sequences
# A sequence op runs its recurrence over time in a `tf.while_loop` (through `tf.scan`) with
# a hand-written backward pass (`tf.custom_gradient`): the course's formulas, checked against
# autodiff through the same recurrence in tests/test_rnn_speed_paths.py, second-order
# gradients included. The forward is the same recurrence as a single step.
# Why: docs/design.md#sequence-ops-have-a-hand-written-backward-pass


def _swap_batch_time(x):
    """(N, T, K) <-> (T, N, K)."""
    return tf.transpose(x, [1, 0, 2])


def _project(x, Wx):
    """(N, T, D) @ (D, K) -> time-major (T, N, K), one matmul for every step."""
    x = _swap_batch_time(x)  # (T, N, D); transposing x moves less data than x @ Wx when K > D
    t, n = tf.shape(x)[0], tf.shape(x)[1]
    return tf.reshape(tf.matmul(tf.reshape(x, [t * n, -1]), Wx), [t, n, -1])


def _sequence_grads(x, h0, Wx, hs, da, dh0):
    """Gradients of (x, h0, Wx, Wh, b), given dL/da of every step's pre-activation.

    Args:
        x: (N, T, D). h0: (N, H). Wx: (D, K). hs: the hidden states, time-major (T, N, H).
        da: time-major (T, N, K). dh0: dL/dh0 (N, H), which the backward loop ends with.
    """
    t, n = tf.shape(da)[0], tf.shape(da)[1]
    da = tf.reshape(da, [t * n, -1])  # (T*N, K)
    h_prev = tf.reshape(tf.concat([h0[None], hs[:-1]], 0), [t * n, -1])  # (T*N, H)
    x = tf.reshape(_swap_batch_time(x), [t * n, -1])  # (T*N, D)
    dx = _swap_batch_time(tf.reshape(tf.matmul(da, Wx, transpose_b=True), [t, n, -1]))
    dWx = tf.matmul(x, da, transpose_a=True)  # (D, K)
    dWh = tf.matmul(h_prev, da, transpose_a=True)  # (H, K)
    db = tf.reduce_sum(da, 0)  # (K,)
    return dx, dh0, dWx, dWh, db


@tf.function(reduce_retracing=True)
@tf.custom_gradient
def _rnn_sequence(x, h0, Wx, Wh, b):
    hs = tf.scan(lambda h, xw_t: _rnn_recurrence(xw_t, h, Wh, b), _project(x, Wx), h0)

    def grad(dh):
        # Transposed once: matmul(da, Wh, transpose_b=True) ran 1.5x slower at (50, 2048)
        # @ (512, 2048)^T than against a transposed copy, and it runs every step.
        Wh_t = tf.transpose(Wh)

        def back(carry, inputs):  # from step t + 1 to step t
            dprev_h, _ = carry
            dh_t, h_t = inputs
            da = (dh_t + dprev_h) * (1 - h_t * h_t)  # (N, H); tanh' = 1 - tanh^2
            return tf.matmul(da, Wh_t), da

        zeros = tf.zeros_like(h0)
        dprev_h, da = tf.scan(back, (_swap_batch_time(dh), hs), (zeros, zeros), reverse=True)
        return _sequence_grads(x, h0, Wx, hs, da, dprev_h[0])

    return _swap_batch_time(hs), grad  # hs (T, N, H) -> (N, T, H)


@tf.function(reduce_retracing=True)
@tf.custom_gradient
def _lstm_sequence(x, h0, Wx, Wh, b):
    zeros = tf.zeros_like(h0)  # also the course's c0

    def step(state, xw_t):  # the state carries the gates only so that scan stacks them
        h, c, gates = _lstm_cell(xw_t, state[0], state[1], Wh, b)
        return (h, c, *gates)

    hs, cs, *gates = tf.scan(step, _project(x, Wx), (h0,) + (zeros,) * 5)  # (T, N, H) each

    def grad(dh):
        Wh_t = tf.transpose(Wh)  # as in `_rnn_sequence`
        prev_cs = tf.concat([zeros[None], cs[:-1]], 0)

        def back(carry, inputs):  # from step t + 1 to step t
            dprev_h, dprev_c, _ = carry
            dh_t, prev_c, c, i, f, o, g = inputs
            dh_t += dprev_h
            tanh_c = tf.tanh(c)
            # c reaches the loss directly and through h = o * tanh(c).
            dc = dprev_c + dh_t * o * (1 - tanh_c * tanh_c)
            da = tf.concat([dc * g * i * (1 - i),  # sigmoid' = s (1 - s)
                            dc * prev_c * f * (1 - f),
                            dh_t * tanh_c * o * (1 - o),
                            dc * i * (1 - g * g)], -1)  # (N, 4H)
            return tf.matmul(da, Wh_t), dc * f, da

        inputs = (_swap_batch_time(dh), prev_cs, cs, *gates)  # for every step
        no_da = tf.zeros([tf.shape(h0)[0], tf.shape(Wh)[1]], h0.dtype)  # scan's unused start
        dprev_h, _, da = tf.scan(back, inputs, (zeros, zeros, no_da), reverse=True)
        # c0 is the constant zero, so its gradient is dropped.
        return _sequence_grads(x, h0, Wx, hs, da, dprev_h[0])

    return _swap_batch_time(hs), grad


def rnn(x, h0, Wx, Wh, b):
    """A vanilla RNN over a whole sequence.

    Args:
        x: inputs, (N, T, D).
        h0: initial hidden state, (N, H).
        Wx: (D, H). Wh: (H, H). b: (H,).

    Returns:
        h: every hidden state, (N, T, H).
    """
    x, h0, Wx, Wh, b = float_tensors(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b)
    Dims().check("x", x, "N,T,D").check("h0", h0, "N,H").check("Wx", Wx, "D,H").check(
        "Wh", Wh, "H,H"
    ).check("b", b, "H")
    return _rnn_sequence(x, h0, Wx, Wh, b)


def lstm(x, h0, Wx, Wh, b):
    """An LSTM over a whole sequence; the initial cell state is zero, as in the course.

    Args:
        x: inputs, (N, T, D).
        h0: initial hidden state, (N, H).
        Wx: (D, 4H). Wh: (H, 4H). b: (4H,), gates in the course's order i, f, o, g.

    Returns:
        h: every hidden state, (N, T, H).
    """
    x, h0, Wx, Wh, b = float_tensors(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b)
    Dims().check("x", x, "N,T,D").check("h0", h0, "N,H").check("Wx", Wx, "D,4H").check(
        "Wh", Wh, "H,4H"
    ).check("b", b, "4H")
    return _lstm_sequence(x, h0, Wx, Wh, b)


# ----------------------------------------------------------------------------- words


def word_embedding(x, W):
    """Looks up word vectors.

    Args:
        x: word ids, integer (N, T), each in [0, V).
        W: word vectors, (V, D).

    Returns:
        out, (N, T, D).

    Raises:
        ValueError: for ids outside [0, V) (eagerly; see `_checks.check_ids` for graphs).
    """
    x = int_tensor("x", x)
    (W,) = float_tensors(W=W)
    Dims().check("x", x, "N,T").check("W", W, "V,D")
    x = check_ids("x", x, W.shape[0] if W.shape[0] is not None else tf.shape(W)[0])
    return tf.gather(W, x)


def temporal_affine(x, w, b):
    """An affine layer applied at every time step.

    Args:
        x: (N, T, D). w: (D, M). b: (M,).

    Returns:
        out, (N, T, M).
    """
    x, w, b = float_tensors(x=x, w=w, b=b)
    Dims().check("x", x, "N,T,D").check("w", w, "D,M").check("b", b, "M")
    n, t = tf.shape(x)[0], tf.shape(x)[1]
    out = tf.matmul(tf.reshape(x, [n * t, -1]), w) + b  # (N*T, M)
    return tf.reshape(out, [n, t, -1])


def temporal_cross_entropy(x, y, mask):
    """Masked softmax cross-entropy, summed over time and averaged over the batch.

    loss = -(1/N) sum_{n,t} mask[n,t] * log softmax(x[n,t])[y[n,t]], the course's definition
    (note: divided by N, not by the number of unmasked steps). Stable for large scores.

    Args:
        x: scores, (N, T, V).
        y: target ids, integer (N, T), each in [0, V).
        mask: boolean (N, T); False steps (padding) contribute nothing.

    Returns:
        loss, a scalar of x's dtype.
    """
    (x,) = float_tensors(x=x)
    y = int_tensor("y", y)
    mask = tf.convert_to_tensor(mask)
    if mask.dtype != tf.bool:
        raise ValueError(f"mask must be boolean, got dtype {mask.dtype.name}")
    Dims().check("x", x, "N,T,V").check("y", y, "N,T").check("mask", mask, "N,T")
    y = check_ids("y", y, x.shape[2] if x.shape[2] is not None else tf.shape(x)[2])
    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)  # (N, T)
    nll = tf.where(mask, nll, tf.zeros_like(nll))
    return tf.reduce_sum(nll) / tf.cast(tf.shape(x)[0], x.dtype)
