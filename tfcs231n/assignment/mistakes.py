"""Known mistakes: the wrong answers of common slips, as PyTorch functions.

The grader names a likely cause when a failing student function equals one of these on the
same inputs (`judge`). Each mistake is a cause (one line a student can act on) and a
function in the argument order of the function it imitates; PyTorch autograd gives its
gradients, so one wrong formula serves a forward check and its backward check.
"""

import numpy as np
import torch
import torch.nn.functional as F

GATE_ORDER = ("gate order: the course stacks the LSTM gates i, f, o, g along 4H "
              "(PyTorch and Keras use i, f, g, o)")
BATCH_SUM = "summed over the batch: average over N (a missing mean over the batch)"


def _affine_step(x, h, Wx, Wh, b, transpose):
    return x @ Wx + h @ (Wh.T if transpose else Wh) + b


def rnn_step(act=torch.tanh, transpose=False):
    def step(x, prev_h, Wx, Wh, b):
        return act(_affine_step(x, prev_h, Wx, Wh, b, transpose))
    return step


def lstm_step(order="ifog", cell_tanh=True):
    def step(x, prev_h, prev_c, Wx, Wh, b):
        a = dict(zip(order, torch.chunk(_affine_step(x, prev_h, Wx, Wh, b, False), 4, 1)))
        i, f, o, g = (torch.sigmoid(a["i"]), torch.sigmoid(a["f"]), torch.sigmoid(a["o"]),
                      torch.tanh(a["g"]))
        c = f * prev_c + i * g
        return o * (torch.tanh(c) if cell_tanh else c), c
    return step


def sequence(step, lstm):
    """A step function run over x (N, T, D) from h0 (and a zero cell) -> h (N, T, H)."""
    def run(x, h0, Wx, Wh, b):
        h, c, hs = h0, torch.zeros_like(h0), []
        for t in range(x.shape[1]):
            if lstm:
                h, c = step(x[:, t], h, c, Wx, Wh, b)
            else:
                h = step(x[:, t], h, Wx, Wh, b)
            hs.append(h)
        return torch.stack(hs, 1)
    return run


RNN_STEP = {
    "missing tanh: next_h = tanh(x Wx + prev_h Wh + b)": rnn_step(act=lambda a: a),
    "transposed weight: the hidden term is prev_h @ Wh, not prev_h @ Wh.T":
        rnn_step(transpose=True),
}
LSTM_STEP = {
    GATE_ORDER: lstm_step(order="ifgo"),
    "missing tanh: next_h = o * tanh(next_c)": lstm_step(cell_tanh=False),
}
RNN = {cause: sequence(fn, lstm=False) for cause, fn in RNN_STEP.items()}
LSTM = {cause: sequence(fn, lstm=True) for cause, fn in LSTM_STEP.items()}


def swap_gates(w):
    """Swaps the o and g blocks of the last axis (i f o g <-> i f g o); its own inverse."""
    i, f, o, g = np.split(np.asarray(w), 4, axis=-1)
    return np.concatenate([i, f, g, o], axis=-1)


# ----------------------------------------------------------------------------- images

def leaky(slope):
    return lambda x: F.leaky_relu(x, slope)


LEAKY_RELU = {f"leaky ReLU slope {s:g} instead of 0.01": leaky(s) for s in (0.1, 0.2, 0.0)}


def _bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target),
                                              reduction="sum")


GAN_LOSSES = {
    "discriminator_loss": {
        BATCH_SUM: lambda real, fake: _bce(real, 1.0) + _bce(fake, 0.0),
        "labels swapped: real images are labelled 1, fakes 0":
            lambda real, fake: (F.binary_cross_entropy_with_logits(real, torch.zeros_like(real))
                                + F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))),
    },
    "generator_loss": {
        BATCH_SUM: lambda fake: _bce(fake, 1.0),
        "saturating loss: the generator minimises BCE(D(G(z)), 1), not -BCE(D(G(z)), 0)":
            lambda fake: -F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)),
    },
    "ls_discriminator_loss": {
        BATCH_SUM: lambda real, fake: 0.5 * ((real - 1) ** 2).sum() + 0.5 * (fake ** 2).sum(),
        "missing the factor 0.5": lambda real, fake: ((real - 1) ** 2).mean() + (fake ** 2).mean(),
    },
    "ls_generator_loss": {
        BATCH_SUM: lambda fake: 0.5 * ((fake - 1) ** 2).sum(),
        "missing the factor 0.5": lambda fake: ((fake - 1) ** 2).mean(),
    },
}

GRAM_UNNORMALISED = "Gram matrix not normalised: divide by H * W * C"
GRAM = {GRAM_UNNORMALISED: "none",
        "Gram matrix normalised by H * W only: divide by H * W * C": "hw"}
TV_ABS = "absolute values instead of squares: TV sums squared neighbour differences"
