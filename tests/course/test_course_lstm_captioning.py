"""LSTM_Captioning.ipynb, cell by cell, on tfcs231n.course (imports: cs231n -> tfcs231n.course).

The captioning model's loss value and gradient check are shared with the RNN notebook's
port (tests/course/test_course_rnn_captioning.py, parametrised over both cells).
"""

import numpy as np
import pytest

from tfcs231n.parity import course_values as cv
from course_checks import assert_course_gradient, rel_error
from torchref import rnn_layers as ref
from tfcs231n.course.captioning_solver import CaptioningSolver
from tfcs231n.course.classifiers.rnn import CaptioningRNN
from tfcs231n.course.coco_utils import decode_captions, load_coco_data, sample_coco_minibatch
from tfcs231n.course.gradient_check import eval_numerical_gradient_array
from tfcs231n.course.rnn_layers import (lstm_backward, lstm_forward, lstm_step_backward,
                                        lstm_step_forward)


def test_lstm_step_forward_published_values():
    inputs = cv.make_inputs(cv.LSTM_STEP_FORWARD)
    next_h, next_c, cache = lstm_step_forward(*inputs.values())  # the course's line
    assert rel_error(cv.LSTM_STEP_FORWARD["expected"]["next_h"], next_h) <= 1e-8
    assert rel_error(cv.LSTM_STEP_FORWARD["expected"]["next_c"], next_c) <= 1e-8


def test_lstm_step_backward_numeric_check():
    np.random.seed(231)
    N, D, H = 4, 5, 6
    x, prev_h, prev_c = np.random.randn(N, D), np.random.randn(N, H), np.random.randn(N, H)
    Wx, Wh, b = np.random.randn(D, 4 * H), np.random.randn(H, 4 * H), np.random.randn(4 * H)
    next_h, next_c, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    dnext_h, dnext_c = np.random.randn(*next_h.shape), np.random.randn(*next_c.shape)
    args = [x, prev_h, prev_c, Wx, Wh, b]
    grads = lstm_step_backward(dnext_h, dnext_c, cache)
    assert len(grads) == 6
    ref_grads = ref.lstm_step_backward(dnext_h, dnext_c, ref.lstm_step_forward(*args)[2])
    for i, grad in enumerate(grads):
        fh = lambda _: lstm_step_forward(*args)[0]  # noqa: E731
        fc = lambda _: lstm_step_forward(*args)[1]  # noqa: E731
        num = (eval_numerical_gradient_array(fh, args[i], dnext_h)
               + eval_numerical_gradient_array(fc, args[i], dnext_c))
        assert_course_gradient(i, grad, ref_grads[i], num, 1e-8)


def test_lstm_forward_published_values():
    inputs = cv.make_inputs(cv.LSTM_FORWARD)
    h, _ = lstm_forward(*inputs.values())  # the course's line
    assert rel_error(cv.LSTM_FORWARD["expected"]["h"], h) <= 1e-7  # "e-7 or less"


def test_lstm_backward_numeric_check():
    np.random.seed(231)
    N, D, T, H = 2, 3, 10, 6
    x, h0 = np.random.randn(N, T, D), np.random.randn(N, H)
    Wx, Wh, b = np.random.randn(D, 4 * H), np.random.randn(H, 4 * H), np.random.randn(4 * H)
    out, cache = lstm_forward(x, h0, Wx, Wh, b)
    dout = np.random.randn(*out.shape)
    args = [x, h0, Wx, Wh, b]
    ref_grads = ref.lstm_backward(dout, ref.lstm_forward(*args)[1])
    for i, grad in enumerate(lstm_backward(dout, cache)):
        num = eval_numerical_gradient_array(lambda _: lstm_forward(*args)[0], args[i], dout)
        assert_course_gradient(i, grad, ref_grads[i], num, 1e-8)


@pytest.mark.e2e
def test_overfit_lstm_on_small_data():
    np.random.seed(231)
    small_data = load_coco_data(max_train=50)
    model = CaptioningRNN(cell_type="lstm", word_to_idx=small_data["word_to_idx"],
                          input_dim=small_data["train_features"].shape[1], hidden_dim=512,
                          wordvec_dim=256, dtype=np.float32)
    solver = CaptioningSolver(model, small_data, update_rule="adam", num_epochs=50,
                              batch_size=25, optim_config={"learning_rate": 5e-3},
                              lr_decay=0.995, verbose=False, print_every=10)
    solver.train()
    assert solver.loss_history[-1] < 0.5  # the notebook: "final loss less than 0.5"
    captions, features, _ = sample_coco_minibatch(small_data, split="train", batch_size=2)
    sample = model.sample(features)
    decoded = decode_captions(sample, small_data["idx_to_word"])
    references = decode_captions(captions, small_data["idx_to_word"])
    assert ["<START> " + c for c in decoded] == references  # memorised; sample has no <START>
