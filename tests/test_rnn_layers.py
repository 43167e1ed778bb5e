"""tfcs231n.captioning.ops: parity with torchref, the course's published values, bad input."""

import numpy as np
import pytest
import tensorflow as tf

from tfcs231n.parity import course_values as cv
from parity_helpers import parity_params
from tfcs231n.parity import engine as parity
from tfcs231n.captioning import ops


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@parity_params("rnn")
def test_parity_with_reference(case, shape_index, dtype):
    # Outputs and every gradient, on seeded random inputs, several shapes.
    parity.assert_parity(case.run(dtype, seed=shape_index))


@pytest.mark.parametrize(
    "fn,case,outputs",
    [
        (ops.rnn_step, cv.RNN_STEP_FORWARD, ["next_h"]),
        (ops.rnn, cv.RNN_FORWARD, ["h"]),
        (ops.word_embedding, cv.WORD_EMBEDDING_FORWARD, ["out"]),
        (ops.lstm_step, cv.LSTM_STEP_FORWARD, ["next_h", "next_c"]),
        (ops.lstm, cv.LSTM_FORWARD, ["h"]),
    ],
    ids=["rnn_step", "rnn", "word_embedding", "lstm_step", "lstm"],
)
def test_course_published_values(fn, case, outputs):
    out = fn(**cv.make_inputs(case))
    out = out if isinstance(out, tuple) else (out,)
    for name, actual in zip(outputs, out):
        assert actual.dtype == tf.float64
        # The notebooks print 8 decimals, so agreement is to half a unit in the 8th.
        np.testing.assert_allclose(
            actual.numpy(), case["expected"][name], rtol=0, atol=parity.published_atol(8),
            err_msg=name,
        )


def test_softmax_loss_is_log_v_per_step_for_small_scores():
    # The course's check_loss: uniform-ish scores cost log(V) per unmasked step.
    rng = np.random.default_rng(0)
    for n, t, v, p, expected in [(100, 1, 10, 1.0, 2.3), (100, 10, 10, 1.0, 23.0),
                                 (5000, 10, 10, 0.1, 2.3)]:
        x = 0.001 * rng.standard_normal((n, t, v))
        y = rng.integers(v, size=(n, t))
        mask = rng.random((n, t)) <= p
        loss = float(ops.temporal_cross_entropy(x, y, mask))
        assert abs(loss - expected) < 0.06 * expected + 0.05, (n, t, v, p, loss)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_dtype_follows_inputs(dtype):
    rng = np.random.default_rng(1)
    N, T, D, H = 2, 3, 4, 5
    args = [rng.standard_normal(s).astype(dtype) for s in [(N, T, D), (N, H), (D, 4 * H),
                                                           (H, 4 * H), (4 * H,)]]
    assert ops.lstm(*args).dtype == tf.as_dtype(dtype)


def test_dynamic_time_inside_tf_function_matches_eager():
    rng = np.random.default_rng(2)
    x, h0 = rng.standard_normal((2, 7, 3)), rng.standard_normal((2, 4))
    Wx, Wh, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 4)), rng.standard_normal(4)

    @tf.function(input_signature=[tf.TensorSpec([None, None, 3], tf.float64)])
    def run(x):
        return ops.rnn(x, tf.constant(h0), Wx, Wh, b)

    np.testing.assert_array_equal(run(x).numpy(), ops.rnn(x, h0, Wx, Wh, b).numpy())


# --------------------------------------------------------------------------- bad input

def _rnn_args(N=2, T=3, D=4, H=5):
    rng = np.random.default_rng(3)
    return dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)),
                Wx=rng.standard_normal((D, H)), Wh=rng.standard_normal((H, H)),
                b=rng.standard_normal(H))


@pytest.mark.parametrize(
    "change,match",
    [
        (dict(Wh=np.zeros((5, 4))), r"^Wh\b.*\(5, 4\).*\bh0\b"),
        (dict(b=np.zeros(6)), r"^b has shape \(6,\)"),
        (dict(h0=np.zeros((3, 5))), r"^h0\b.*\(3, 5\).*\bx\b"),
        (dict(x=np.zeros((2, 4))), r"^x\b.*\(2, 4\)"),
        (dict(Wx=np.zeros((4, 5), np.float32)), r"^Wx\b.*\bfloat32\b.*\bx\b.*\bfloat64\b"),
    ],
)
def test_rnn_forward_bad_arguments_name_the_argument(change, match):
    with pytest.raises(ValueError, match=match):
        ops.rnn(**{**_rnn_args(), **change})


def test_lstm_weights_must_stack_four_gates():
    args = _rnn_args()
    args["Wx"] = np.zeros((4, 20))
    args["Wh"] = np.zeros((5, 15))
    with pytest.raises(ValueError, match=r"^Wh has shape \(5, 15\).*H is 5 from h0"):
        ops.lstm(**{**args, "b": np.zeros(20)})


@pytest.mark.parametrize("bad", [-1, 5])
def test_word_embedding_rejects_out_of_range_ids(bad):
    x = np.array([[0, 1], [2, bad]])
    with pytest.raises(ValueError, match=rf"x has ids outside \[0, 5\): x\[1, 1\] = {bad}"):
        ops.word_embedding(x, np.zeros((5, 3)))


def test_word_embedding_rejects_float_ids_and_checks_inside_graphs():
    with pytest.raises(ValueError, match="x must hold integer ids, got dtype float64"):
        ops.word_embedding(np.zeros((2, 2)), np.zeros((5, 3)))

    @tf.function
    def embed(x):
        return ops.word_embedding(x, tf.zeros((5, 3)))

    # On GPU TF's gather returns zeros for a bad id; here the check raises in any graph.
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\bx\b.*\[0, 5\)"):
        embed(tf.constant([[0, 7]]))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(mask=np.ones((2, 3), np.int32)), r"^mask\b.*\bint32\b"),
        (dict(mask=np.ones((3, 2), bool)), r"^mask has shape \(3, 2\)"),
        (dict(y=np.full((2, 3), 4)), r"^y\b.*\[0, 4\).*\b4\b"),
        (dict(y=np.zeros((2, 4), np.int64)), r"^y has shape \(2, 4\)"),
        (dict(x=np.zeros((2, 3))), r"^x\b.*\(2, 3\)"),
    ],
)
def test_softmax_loss_bad_arguments(kwargs, match):
    args = dict(x=np.zeros((2, 3, 4)), y=np.zeros((2, 3), np.int64), mask=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match=match):
        ops.temporal_cross_entropy(**{**args, **kwargs})


def test_temporal_affine_bad_arguments():
    with pytest.raises(ValueError, match=r"^w has shape \(3, 2\).*D is 4 from x"):
        ops.temporal_affine(np.zeros((2, 3, 4)), np.zeros((3, 2)), np.zeros(2))
