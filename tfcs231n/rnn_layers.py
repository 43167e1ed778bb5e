"""Recurrent building blocks of CS231n assignment 3, in TensorFlow.

The course's functional API under the course's names. Every op accepts NumPy arrays or
tensors, computes in the inputs' floating dtype (float64 in, float64 out) and gets its
gradients from autodiff; `torchref.rnn_layers` holds the NumPy reference with explicit
backward passes that these are checked against (`tfcs231n parity`).

Shapes use the course's letters: N batch, T time steps, D input size, H hidden size,
V vocabulary size, M output size.
"""

import tensorflow as tf

from tfcs231n._checks import Dims, check_ids, float_tensors, int_tensor

# ----------------------------------------------------------------------------- steps
# The recurrences take the input already projected (xw = x @ Wx): a sequence projects all
# of its time steps in one large matmul, and a single step uses the same core.


def _rnn_recurrence(xw, h, Wh, b):
    return tf.tanh(xw + tf.matmul(h, Wh) + b)  # (N, H)


def _lstm_recurrence(xw, h, c, Wh, b):
    a = xw + tf.matmul(h, Wh) + b  # (N, 4H)
    i, f, o, g = tf.split(a, 4, axis=-1)  # the course's gate order
    c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
    h = tf.sigmoid(o) * tf.tanh(c)
    return h, c


def rnn_step_forward(x, prev_h, Wx, Wh, b):
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


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
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


def _project(x, Wx):
    """(N, T, D) @ (D, K) -> time-major (T, N, K), one matmul for every step."""
    n, t = tf.shape(x)[0], tf.shape(x)[1]
    xw = tf.matmul(tf.reshape(x, [n * t, -1]), Wx)
    return tf.transpose(tf.reshape(xw, [n, t, -1]), [1, 0, 2])


def _scan(step, xw, states):
    """Runs ``step(xw_t, *states) -> states`` over time; returns all first states (N, T, H).

    A `tf.while_loop` (through `tf.scan`) for static and dynamic T alike: at the course's
    LSTM size (N=50, T=16, D=256, H=512) forward+backward took 51 ms against 61 ms for the
    unrolled Python loop on 2 CPU cores, so unrolling buys nothing here.
    """
    hs = tf.scan(lambda s, xw_t: step(xw_t, *s), xw, initializer=tuple(states))[0]
    return tf.transpose(hs, [1, 0, 2])  # (T, N, H) -> (N, T, H)


@tf.function(reduce_retracing=True)
def _rnn_sequence(x, h0, Wx, Wh, b):
    return _scan(lambda xw, h: (_rnn_recurrence(xw, h, Wh, b),), _project(x, Wx), (h0,))


@tf.function(reduce_retracing=True)
def _lstm_sequence(x, h0, Wx, Wh, b):
    c0 = tf.zeros_like(h0)
    return _scan(lambda xw, h, c: _lstm_recurrence(xw, h, c, Wh, b), _project(x, Wx), (h0, c0))


def rnn_forward(x, h0, Wx, Wh, b):
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


def lstm_forward(x, h0, Wx, Wh, b):
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


def word_embedding_forward(x, W):
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


def temporal_affine_forward(x, w, b):
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


def temporal_softmax_loss(x, y, mask):
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
