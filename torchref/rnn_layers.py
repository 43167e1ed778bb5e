"""NumPy reference for the recurrent layers of CS231n assignment 3.

Course conventions: every ``*_forward`` returns ``(out, cache)`` and every
``*_backward(dout, cache)`` returns the gradients in the order of the forward's
inputs. Backward passes are written out by hand (no autograd) and all math runs
in the dtype of the inputs, so float64 in gives float64-exact results and
float32 in gives float32 out.

Shapes: N batch, T timesteps, D input size, H hidden size, V vocabulary size.
LSTM gates are packed in the course's order i, f, o, g (Keras uses i, f, c, o).
"""

from typing import NamedTuple

import numpy as np


def _sigmoid(x):
    # exp only ever sees -|x| <= 0, so it cannot overflow for large |x|.
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


# ----------------------------------------------------------------------------
# Vanilla RNN
# ----------------------------------------------------------------------------


class RNNStepCache(NamedTuple):
    x: np.ndarray  # (N, D)
    prev_h: np.ndarray  # (N, H)
    Wx: np.ndarray  # (D, H)
    Wh: np.ndarray  # (H, H)
    next_h: np.ndarray  # (N, H)


class RNNCache(NamedTuple):
    steps: list  # one RNNStepCache per timestep


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One timestep of a tanh RNN.

    Args:
        x: (N, D) inputs at this timestep.
        prev_h: (N, H) previous hidden state.
        Wx: (D, H) input-to-hidden weights.
        Wh: (H, H) hidden-to-hidden weights.
        b: (H,) bias.

    Returns:
        next_h: (N, H), tanh(x @ Wx + prev_h @ Wh + b).
        cache: RNNStepCache for rnn_step_backward.
    """
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, RNNStepCache(x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    """Backward pass of rnn_step_forward.

    Args:
        dnext_h: (N, H) upstream gradient of next_h.
        cache: RNNStepCache from rnn_step_forward.

    Returns:
        dx (N, D), dprev_h (N, H), dWx (D, H), dWh (H, H), db (H,).
    """
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)  # (N, H); tanh' = 1 - tanh^2
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    """Run a tanh RNN over a whole sequence.

    Args:
        x: (N, T, D) input sequence.
        h0: (N, H) initial hidden state.
        Wx, Wh, b: as in rnn_step_forward.

    Returns:
        h: (N, T, H) hidden states for every timestep.
        cache: RNNCache for rnn_backward.
    """
    N, T, _ = x.shape
    h = np.empty((N, T, h0.shape[1]), dtype=np.result_type(x, h0, Wx, Wh, b))
    steps = []
    prev_h = h0
    for t in range(T):
        prev_h, step = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
        steps.append(step)
    return h, RNNCache(steps)


def rnn_backward(dh, cache):
    """Backward pass of rnn_forward.

    Args:
        dh: (N, T, H) upstream gradient of *every* hidden state in h (not only
            the last one); the gradient flowing through time is added here.
        cache: RNNCache from rnn_forward.

    Returns:
        dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,).
    """
    first = cache.steps[0]
    N, T, _ = dh.shape
    dx = np.empty((N, T, first.x.shape[1]), dtype=dh.dtype)
    dWx = np.zeros_like(first.Wx)
    dWh = np.zeros_like(first.Wh)
    db = np.zeros(first.Wh.shape[1], dtype=dh.dtype)
    dprev_h = np.zeros_like(dh[:, 0])
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(
            dh[:, t] + dprev_h, cache.steps[t]
        )
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


# ----------------------------------------------------------------------------
# LSTM
# ----------------------------------------------------------------------------


class LSTMStepCache(NamedTuple):
    x: np.ndarray  # (N, D)
    prev_h: np.ndarray  # (N, H)
    prev_c: np.ndarray  # (N, H)
    Wx: np.ndarray  # (D, 4H)
    Wh: np.ndarray  # (H, 4H)
    i: np.ndarray  # (N, H) input gate
    f: np.ndarray  # (N, H) forget gate
    o: np.ndarray  # (N, H) output gate
    g: np.ndarray  # (N, H) block input
    tanh_c: np.ndarray  # (N, H) tanh(next_c)


class LSTMCache(NamedTuple):
    steps: list  # one LSTMStepCache per timestep


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One timestep of an LSTM.

    Args:
        x: (N, D) inputs at this timestep.
        prev_h: (N, H) previous hidden state.
        prev_c: (N, H) previous cell state.
        Wx: (D, 4H) input-to-hidden weights, gate blocks ordered i, f, o, g.
        Wh: (H, 4H) hidden-to-hidden weights, same block order.
        b: (4H,) bias, same block order.

    Returns:
        next_h: (N, H), o * tanh(next_c).
        next_c: (N, H), f * prev_c + i * g.
        cache: LSTMStepCache for lstm_step_backward.
    """
    a = x @ Wx + prev_h @ Wh + b  # (N, 4H)
    a_i, a_f, a_o, a_g = np.split(a, 4, axis=1)
    i, f, o = _sigmoid(a_i), _sigmoid(a_f), _sigmoid(a_o)
    g = np.tanh(a_g)
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    return next_h, next_c, LSTMStepCache(x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass of lstm_step_forward.

    Args:
        dnext_h: (N, H) upstream gradient of next_h.
        dnext_c: (N, H) upstream gradient of next_c.
        cache: LSTMStepCache from lstm_step_forward.

    Returns:
        dx (N, D), dprev_h (N, H), dprev_c (N, H), dWx (D, 4H), dWh (H, 4H),
        db (4H,).
    """
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    # next_c reaches the loss directly and through next_h = o * tanh(next_c).
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    da = np.concatenate(
        [
            dc * g * i * (1 - i),  # sigmoid' = s (1 - s)
            dc * prev_c * f * (1 - f),
            dnext_h * tanh_c * o * (1 - o),
            dc * i * (1 - g**2),
        ],
        axis=1,
    )  # (N, 4H)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b):
    """Run an LSTM over a whole sequence; the initial cell state is zero.

    Args:
        x: (N, T, D) input sequence.
        h0: (N, H) initial hidden state.
        Wx, Wh, b: as in lstm_step_forward.

    Returns:
        h: (N, T, H) hidden states for every timestep.
        cache: LSTMCache for lstm_backward.
    """
    N, T, _ = x.shape
    h = np.empty((N, T, h0.shape[1]), dtype=np.result_type(x, h0, Wx, Wh, b))
    steps = []
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(T):
        prev_h, prev_c, step = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t] = prev_h
        steps.append(step)
    return h, LSTMCache(steps)


def lstm_backward(dh, cache):
    """Backward pass of lstm_forward.

    Args:
        dh: (N, T, H) upstream gradient of every hidden state in h.
        cache: LSTMCache from lstm_forward.

    Returns:
        dx (N, T, D), dh0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,).
    """
    first = cache.steps[0]
    N, T, _ = dh.shape
    dx = np.empty((N, T, first.x.shape[1]), dtype=dh.dtype)
    dWx = np.zeros_like(first.Wx)
    dWh = np.zeros_like(first.Wh)
    db = np.zeros(first.Wh.shape[1], dtype=dh.dtype)
    dprev_h = np.zeros_like(dh[:, 0])
    dprev_c = np.zeros_like(dh[:, 0])
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + dprev_h, dprev_c, cache.steps[t]
        )
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    # c0 is the constant zero, so its gradient dprev_c is dropped.
    return dx, dprev_h, dWx, dWh, db


# ----------------------------------------------------------------------------
# Word embedding, temporal affine, temporal softmax loss
# ----------------------------------------------------------------------------


class EmbeddingCache(NamedTuple):
    x: np.ndarray  # (N, T) integer word indices
    vocab_size: int


def word_embedding_forward(x, W):
    """Look up word vectors.

    Args:
        x: (N, T) integer word indices, each in [0, V).
        W: (V, D) word vectors.

    Returns:
        out: (N, T, D) with out[n, t] = W[x[n, t]].
        cache: EmbeddingCache for word_embedding_backward.
    """
    return W[x], EmbeddingCache(x, W.shape[0])


def word_embedding_backward(dout, cache):
    """Backward pass of word_embedding_forward.

    Args:
        dout: (N, T, D) upstream gradient.
        cache: EmbeddingCache from word_embedding_forward.

    Returns:
        dW: (V, D). A word used several times collects every gradient.
    """
    dW = np.zeros((cache.vocab_size, dout.shape[-1]), dtype=dout.dtype)
    # add.at accumulates repeated indices; dW[x] += dout would keep only one.
    np.add.at(dW, cache.x, dout)
    return dW


class TemporalAffineCache(NamedTuple):
    x: np.ndarray  # (N, T, D)
    w: np.ndarray  # (D, M)


def temporal_affine_forward(x, w, b):
    """Apply the same affine map at every timestep.

    Args:
        x: (N, T, D) inputs.
        w: (D, M) weights.
        b: (M,) bias.

    Returns:
        out: (N, T, M) = x @ w + b.
        cache: TemporalAffineCache for temporal_affine_backward.
    """
    return x @ w + b, TemporalAffineCache(x, w)


def temporal_affine_backward(dout, cache):
    """Backward pass of temporal_affine_forward.

    Args:
        dout: (N, T, M) upstream gradient.
        cache: TemporalAffineCache from temporal_affine_forward.

    Returns:
        dx (N, T, D), dw (D, M), db (M,).
    """
    x, w = cache
    D, M = w.shape
    dw = x.reshape(-1, D).T @ dout.reshape(-1, M)
    return dout @ w.T, dw, dout.sum(axis=(0, 1))


def temporal_softmax_loss(x, y, mask):
    """Softmax cross-entropy summed over time and averaged over the batch.

    Args:
        x: (N, T, V) scores.
        y: (N, T) integer targets, each in [0, V).
        mask: (N, T) boolean; False entries (padding) add no loss or gradient.

    Returns:
        loss: scalar, -sum_{n,t} mask[n, t] * log softmax(x[n, t])[y[n, t]] / N.
        dx: (N, T, V) gradient of loss with respect to x.
    """
    N = x.shape[0]
    # Subtracting the row max leaves softmax unchanged and keeps exp in range.
    shifted = x - x.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    log_p_target = np.take_along_axis(log_probs, y[..., None], axis=-1)[..., 0]  # (N, T)
    loss = -(log_p_target * mask).sum() / N

    dx = np.exp(log_probs)  # softmax probabilities
    n, t = np.indices(y.shape)
    dx[n, t, y] -= 1
    dx *= mask[..., None]
    dx /= N
    return loss, dx
