"""Tests for the NumPy recurrent reference in torchref.rnn_layers.

Four kinds of check: every backward pass against centered finite differences,
the known answers the course notebooks publish, sanity and stability of the
temporal softmax loss, and dtype preservation for float32.
"""

import math

import numpy as np
import pytest

from tfcs231n.parity import course_values as cv
from torchref import rnn_layers as rl
from torchref.gradcheck import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)

# Every dimension differs, so a transposed or swapped axis cannot go unnoticed.
N, T, D, H, V = 3, 4, 5, 6, 7
GRAD_RTOL = 1e-7
SEED = 231

# op name -> (forward, backward, input shapes in the forward's argument order).
# Backward returns one gradient per input, in the same order.
GRAD_OPS = {
    "rnn_step": (
        rl.rnn_step_forward,
        rl.rnn_step_backward,
        {"x": (N, D), "prev_h": (N, H), "Wx": (D, H), "Wh": (H, H), "b": (H,)},
    ),
    "rnn": (
        rl.rnn_forward,
        rl.rnn_backward,
        {"x": (N, T, D), "h0": (N, H), "Wx": (D, H), "Wh": (H, H), "b": (H,)},
    ),
    "lstm_step": (
        rl.lstm_step_forward,
        rl.lstm_step_backward,
        {
            "x": (N, D),
            "prev_h": (N, H),
            "prev_c": (N, H),
            "Wx": (D, 4 * H),
            "Wh": (H, 4 * H),
            "b": (4 * H,),
        },
    ),
    "lstm": (
        rl.lstm_forward,
        rl.lstm_backward,
        {"x": (N, T, D), "h0": (N, H), "Wx": (D, 4 * H), "Wh": (H, 4 * H), "b": (4 * H,)},
    ),
    "temporal_affine": (
        rl.temporal_affine_forward,
        rl.temporal_affine_backward,
        {"x": (N, T, D), "w": (D, V), "b": (V,)},
    ),
}


def _random_inputs(shapes, rng, dtype=np.float64):
    # Scale 0.5 keeps the gates out of saturation: there some gradient entries
    # shrink to ~1e-6, below what centered differences (roundoff ~1e-11) can
    # resolve to a relative error of 1e-7.
    return {
        name: (0.5 * rng.standard_normal(shape)).astype(dtype) for name, shape in shapes.items()
    }


def _softmax_inputs(rng, dtype=np.float64):
    x = rng.standard_normal((N, T, V)).astype(dtype)
    y = rng.integers(V, size=(N, T))
    mask = rng.random((N, T)) > 0.5
    return x, y, mask


# ----------------------------------------------------------------------------
# The finite-difference helpers themselves
# ----------------------------------------------------------------------------


def test_rel_error_follows_course_definition():
    assert rel_error(np.array([1.0, 2.0]), np.array([3.0, 2.0])) == pytest.approx(0.5)
    # Near zero the denominator is floored at 1e-8: 1e-9 / 1e-8, and 0 for 0 / 0.
    assert rel_error(np.array([1e-9]), np.array([0.0])) == pytest.approx(0.1)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0


def test_numerical_gradients_known_answer_and_restore_input():
    x = np.random.default_rng(SEED).standard_normal((3, 4))
    before = x.copy()
    w = np.arange(12.0).reshape(3, 4)

    # For a cubic the centered difference is exact up to its h**2 = 1e-10 term.
    scalar = eval_numerical_gradient(lambda a: np.sum(a**3), x)
    np.testing.assert_allclose(scalar, 3 * before**2, rtol=0, atol=2e-10)

    # f(x) = w * x elementwise, so the vector-Jacobian product is w * df.
    df = np.ones((3, 4)) * 2
    array = eval_numerical_gradient_array(lambda a: w * a, x, df)
    np.testing.assert_allclose(array, 2 * w, rtol=1e-8, atol=1e-10)

    np.testing.assert_array_equal(x, before)


# ----------------------------------------------------------------------------
# (a) Backward passes against finite differences
# ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op, wrt",
    [(op, name) for op, (_, _, shapes) in GRAD_OPS.items() for name in shapes],
)
def test_backward_matches_finite_differences(op, wrt):
    forward, backward, shapes = GRAD_OPS[op]
    rng = np.random.default_rng(SEED)
    inputs = _random_inputs(shapes, rng)
    *outputs, cache = forward(**inputs)
    douts = [rng.standard_normal(out.shape) for out in outputs]

    grads = dict(zip(shapes, backward(*douts, cache), strict=True))

    # Each output contributes its own vector-Jacobian product (the LSTM step
    # has two outputs, next_h and next_c).
    numeric = sum(
        eval_numerical_gradient_array(lambda _, k=k: forward(**inputs)[k], inputs[wrt], dout)
        for k, dout in enumerate(douts)
    )
    assert grads[wrt].shape == inputs[wrt].shape
    assert rel_error(numeric, grads[wrt]) <= GRAD_RTOL


def test_word_embedding_backward_matches_finite_differences():
    rng = np.random.default_rng(SEED)
    x = rng.integers(V, size=(N, T))  # 12 draws from 7 words: some repeat
    W = rng.standard_normal((V, D))
    out, cache = rl.word_embedding_forward(x, W)
    dout = rng.standard_normal(out.shape)

    dW = rl.word_embedding_backward(dout, cache)

    numeric = eval_numerical_gradient_array(lambda _: rl.word_embedding_forward(x, W)[0], W, dout)
    assert dW.shape == W.shape
    assert rel_error(numeric, dW) <= GRAD_RTOL


def test_temporal_softmax_loss_gradient_matches_finite_differences():
    x, y, mask = _softmax_inputs(np.random.default_rng(SEED))
    assert mask.any() and not mask.all()  # both kinds of step are exercised

    _, dx = rl.temporal_softmax_loss(x, y, mask)

    numeric = eval_numerical_gradient(lambda _: rl.temporal_softmax_loss(x, y, mask)[0], x)
    assert dx.shape == x.shape
    assert rel_error(numeric, dx) <= GRAD_RTOL


# ----------------------------------------------------------------------------
# (b) Known answers published in the course notebooks
# ----------------------------------------------------------------------------

# case -> function of the case's inputs returning {output name: array}.
PUBLISHED = {
    "rnn_step_forward": (
        cv.RNN_STEP_FORWARD,
        lambda i: {"next_h": rl.rnn_step_forward(**i)[0]},
    ),
    "rnn_forward": (cv.RNN_FORWARD, lambda i: {"h": rl.rnn_forward(**i)[0]}),
    "word_embedding_forward": (
        cv.WORD_EMBEDDING_FORWARD,
        lambda i: {"out": rl.word_embedding_forward(**i)[0]},
    ),
    "lstm_step_forward": (
        cv.LSTM_STEP_FORWARD,
        lambda i: dict(zip(("next_h", "next_c"), rl.lstm_step_forward(**i)[:2])),
    ),
    "lstm_forward": (cv.LSTM_FORWARD, lambda i: {"h": rl.lstm_forward(**i)[0]}),
}


@pytest.mark.parametrize("case", PUBLISHED)
def test_reproduces_published_values(case):
    values, run = PUBLISHED[case]
    actual = run(cv.make_inputs(values))
    assert actual.keys() == values["expected"].keys()
    for name, expected in values["expected"].items():
        expected = np.asarray(expected)
        assert actual[name].shape == expected.shape, name
        # The notebooks print 8 decimals, so a correct output rounds to them:
        # it lies within half a unit of the last printed digit. (Their own
        # rel_error check can report ~1e-7 here, for entries near 0.02.)
        np.testing.assert_allclose(actual[name], expected, rtol=0, atol=5e-9, err_msg=name)


def _captioning_loss(case):
    """CaptioningRNN.loss of the course, built from the reference layers."""
    p = cv.make_inputs(case)
    captions_in, captions_out = p["captions"][:, :-1], p["captions"][:, 1:]
    mask = captions_out != case["null_index"]
    h0 = p["features"] @ p["W_proj"] + p["b_proj"]  # (N, H)
    words, _ = rl.word_embedding_forward(captions_in, p["W_embed"])  # (N, T-1, W)
    recurrent = {"rnn": rl.rnn_forward, "lstm": rl.lstm_forward}[case["cell_type"]]
    h, _ = recurrent(words, h0, p["Wx"], p["Wh"], p["b"])  # (N, T-1, H)
    scores, _ = rl.temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])  # (N, T-1, V)
    loss, _ = rl.temporal_softmax_loss(scores, captions_out, mask)
    return loss


@pytest.mark.parametrize(
    "case", [cv.CAPTIONING_RNN_LOSS, cv.CAPTIONING_LSTM_LOSS], ids=["rnn", "lstm"]
)
def test_reproduces_published_captioning_loss(case):
    # Printed to 11 decimals; the notebooks ask for a difference of ~1e-10 or less.
    assert abs(_captioning_loss(case) - case["expected"]["loss"]) <= 5e-12


# ----------------------------------------------------------------------------
# (c) Temporal softmax loss: sanity and numerical stability
# ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, t, p, low, high",
    [
        # The course's check_loss cases and its stated expectations.
        (100, 1, 1.0, 2.29, 2.32),  # about 2.3
        (100, 10, 1.0, 22.9, 23.2),  # about 23
        (5000, 10, 0.1, 2.2, 2.4),  # about 2.3; the mask fraction is random
    ],
)
def test_loss_is_about_log_v_per_unmasked_step(n, t, p, low, high):
    v = 10
    rng = np.random.default_rng(SEED)
    x = 0.001 * rng.standard_normal((n, t, v))
    y = rng.integers(v, size=(n, t))
    mask = rng.random((n, t)) <= p

    loss, _ = rl.temporal_softmax_loss(x, y, mask)

    assert low <= loss <= high
    # Near-uniform scores cost log(V) per unmasked step, whatever the mask drew.
    assert loss == pytest.approx(math.log(v) * mask.sum() / n, rel=1e-3)


def test_loss_known_answer_for_uniform_scores():
    rng = np.random.default_rng(SEED)
    _, y, mask = _softmax_inputs(rng)
    x = np.zeros((N, T, V))

    loss, dx = rl.temporal_softmax_loss(x, y, mask)

    assert loss == pytest.approx(math.log(V) * mask.sum() / N, rel=1e-14)
    expected_dx = (np.full((N, T, V), 1 / V) - np.eye(V)[y]) * mask[..., None] / N
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_loss_is_stable_for_huge_scores(dtype):
    x, y, mask = _softmax_inputs(np.random.default_rng(SEED))
    x = (1e4 * x).astype(dtype)

    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dx = rl.temporal_softmax_loss(x, y, mask)

    assert np.isfinite(loss) and np.isfinite(dx).all()
    # Scores this far apart make softmax one-hot on the max, so each unmasked
    # step costs exactly max - x[target].
    x64 = x.astype(np.float64)
    gap = x64.max(axis=-1) - np.take_along_axis(x64, y[..., None], axis=-1)[..., 0]
    assert loss == pytest.approx((gap * mask).sum() / N, rel=1e-6)


def test_lstm_gates_are_stable_for_huge_activations():
    x, h = np.zeros((N, D)), np.zeros((N, H))
    prev_c = np.random.default_rng(SEED).standard_normal((N, H))
    Wx, Wh = np.zeros((D, 4 * H)), np.zeros((H, 4 * H))
    # Blocks i, f, o, g saturate to 1, 0, 1, 1: next_c = 1, next_h = tanh(1).
    b = np.repeat([1e4, -1e4, 1e4, 1e4], H)

    with np.errstate(over="raise", invalid="raise", divide="raise"):
        next_h, next_c, _ = rl.lstm_step_forward(x, h, prev_c, Wx, Wh, b)

    np.testing.assert_array_equal(next_c, np.ones((N, H)))
    np.testing.assert_allclose(next_h, np.tanh(1.0), rtol=1e-15)


# ----------------------------------------------------------------------------
# (d) float32 in, float32 out
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("op", GRAD_OPS)
def test_float32_inputs_give_float32_outputs_and_gradients(op):
    forward, backward, shapes = GRAD_OPS[op]
    rng = np.random.default_rng(SEED)
    inputs = _random_inputs(shapes, rng, np.float32)
    *outputs, cache = forward(**inputs)
    douts = [rng.standard_normal(out.shape).astype(np.float32) for out in outputs]

    grads = backward(*douts, cache)

    assert [out.dtype for out in outputs] == [np.float32] * len(outputs)
    assert [g.dtype for g in grads] == [np.float32] * len(shapes)


def test_float32_word_embedding_and_loss():
    rng = np.random.default_rng(SEED)
    x, y, mask = _softmax_inputs(rng, np.float32)
    W = rng.standard_normal((V, D)).astype(np.float32)

    out, cache = rl.word_embedding_forward(y, W)
    dW = rl.word_embedding_backward(np.ones_like(out), cache)
    loss, dx = rl.temporal_softmax_loss(x, y, mask)

    assert out.dtype == dW.dtype == dx.dtype == np.float32
    assert np.asarray(loss).dtype == np.float32
