"""RNN_Captioning.ipynb, cell by cell, on tfcs231n.course (imports: cs231n -> tfcs231n.course).

Each test re-tells one section of the course's notebook: the same inputs, the same calls,
and the value or bound the notebook prints. Published values come from tfcs231n/parity/course_values.py.
"""

import numpy as np
import pytest

from tfcs231n.parity import course_values as cv
from tfcs231n.course.captioning_solver import CaptioningSolver
from tfcs231n.course.classifiers.rnn import CaptioningRNN
from tfcs231n.course.coco_utils import decode_captions, load_coco_data, sample_coco_minibatch
from tfcs231n.course.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array
from tfcs231n.course.image_utils import image_from_url
from tfcs231n.course.rnn_layers import (rnn_backward, rnn_forward, rnn_step_backward,
                                        rnn_step_forward, temporal_affine_backward,
                                        temporal_affine_forward, temporal_softmax_loss,
                                        word_embedding_backward, word_embedding_forward)
from tfcs231n.parity.engine import TOLERANCES, compare_arrays

from course_checks import assert_course_gradient, rel_error
from torchref import rnn_layers as ref

# The notebook's bounds: "errors on the order of e-8 or less" for a step and the
# gradients, "e-7 or less" for a whole sequence (its published values carry 8 decimals).
COURSE_REL = 1e-8
SEQUENCE_REL = 1e-7


def _published(case, op, outputs):
    inputs = cv.make_inputs(case)
    got = op(*inputs.values())
    return [rel_error(case["expected"][name], value) for name, value in zip(outputs, got)]


def test_data_loads_and_decodes_like_the_course():
    np.random.seed(231)
    data = load_coco_data(pca_features=True)
    for key in ("train_captions", "train_image_idxs", "val_captions", "val_image_idxs",
                "train_features", "val_features", "train_urls", "val_urls"):
        assert isinstance(data[key], np.ndarray), key
    assert isinstance(data["idx_to_word"], list) and isinstance(data["word_to_idx"], dict)
    captions, features, urls = sample_coco_minibatch(data, batch_size=3)
    assert captions.shape[0] == features.shape[0] == urls.shape[0] == 3
    for caption in decode_captions(captions, data["idx_to_word"]):
        assert caption.startswith("<START>") and caption.endswith("<END>")
    image = image_from_url(urls[0])
    assert image is not None and image.ndim == 3 and image.shape[2] == 3


def test_max_train_honours_numpy_seed():
    np.random.seed(231)
    a = load_coco_data(max_train=50)
    np.random.seed(231)
    b = load_coco_data(max_train=50)
    np.random.seed(1)
    c = load_coco_data(max_train=50)
    assert a["train_captions"].shape[0] == 50
    np.testing.assert_array_equal(a["train_captions"], b["train_captions"])
    assert not np.array_equal(a["train_image_idxs"], c["train_image_idxs"])


def test_rnn_step_forward_published_values():
    inputs = cv.make_inputs(cv.RNN_STEP_FORWARD)
    next_h, cache = rnn_step_forward(*inputs.values())
    assert isinstance(next_h, np.ndarray)
    assert rel_error(cv.RNN_STEP_FORWARD["expected"]["next_h"], next_h) <= COURSE_REL


def test_rnn_step_backward_numeric_check():
    np.random.seed(231)
    N, D, H = 4, 5, 6
    x, h = np.random.randn(N, D), np.random.randn(N, H)
    Wx, Wh, b = np.random.randn(D, H), np.random.randn(H, H), np.random.randn(H)
    out, cache = rnn_step_forward(x, h, Wx, Wh, b)
    dnext_h = np.random.randn(*out.shape)
    args = [x, h, Wx, Wh, b]
    grads = rnn_step_backward(dnext_h, cache)
    ref_grads = ref.rnn_step_backward(dnext_h, ref.rnn_step_forward(*args)[1])
    for i, grad in enumerate(grads):
        num = eval_numerical_gradient_array(lambda _: rnn_step_forward(*args)[0], args[i],
                                            dnext_h)
        assert_course_gradient(i, grad, ref_grads[i], num, COURSE_REL)


def test_rnn_forward_published_values():
    inputs = cv.make_inputs(cv.RNN_FORWARD)
    h, _ = rnn_forward(*inputs.values())  # the course's line
    assert rel_error(cv.RNN_FORWARD["expected"]["h"], h) <= SEQUENCE_REL


def test_rnn_backward_numeric_check():
    np.random.seed(231)
    N, D, T, H = 2, 3, 10, 5
    x, h0 = np.random.randn(N, T, D), np.random.randn(N, H)
    Wx, Wh, b = np.random.randn(D, H), np.random.randn(H, H), np.random.randn(H)
    out, cache = rnn_forward(x, h0, Wx, Wh, b)
    dout = np.random.randn(*out.shape)
    args = [x, h0, Wx, Wh, b]
    ref_grads = ref.rnn_backward(dout, ref.rnn_forward(*args)[1])
    for i, grad in enumerate(rnn_backward(dout, cache)):
        num = eval_numerical_gradient_array(lambda _: rnn_forward(*args)[0], args[i], dout)
        assert_course_gradient(i, grad, ref_grads[i], num, COURSE_REL)


def test_word_embedding_forward_and_backward():
    inputs = cv.make_inputs(cv.WORD_EMBEDDING_FORWARD)
    out, _ = word_embedding_forward(inputs["x"], inputs["W"])
    # The notebook prints "out error: 1.00000000947e-08": its zero entry against 8 decimals.
    assert rel_error(cv.WORD_EMBEDDING_FORWARD["expected"]["out"], out) <= 1.0000001e-8

    np.random.seed(231)
    N, T, V, D = 50, 3, 5, 6
    x = np.random.randint(V, size=(N, T))
    W = np.random.randn(V, D)
    out, cache = word_embedding_forward(x, W)
    dout = np.random.randn(*out.shape)
    dW = word_embedding_backward(dout, cache)
    num = eval_numerical_gradient_array(lambda W: word_embedding_forward(x, W)[0], W, dout)
    assert dW.shape == W.shape
    ref_dW = ref.word_embedding_backward(dout, ref.word_embedding_forward(x, W)[1])
    assert_course_gradient("dW", dW, ref_dW, num, COURSE_REL)


def test_temporal_affine_backward_numeric_check():
    np.random.seed(231)
    N, T, D, M = 2, 3, 4, 5
    x, w, b = np.random.randn(N, T, D), np.random.randn(D, M), np.random.randn(M)
    out, cache = temporal_affine_forward(x, w, b)
    dout = np.random.randn(*out.shape)
    args = [x, w, b]
    ref_grads = ref.temporal_affine_backward(dout, ref.temporal_affine_forward(*args)[1])
    for i, grad in enumerate(temporal_affine_backward(dout, cache)):
        num = eval_numerical_gradient_array(lambda _: temporal_affine_forward(*args)[0],
                                            args[i], dout)
        assert_course_gradient(i, grad, ref_grads[i], num, COURSE_REL)


@pytest.mark.parametrize("N,T,V,p,low,high", [(100, 1, 10, 1.0, 2.2, 2.4),  # "about 2.3"
                                              (100, 10, 10, 1.0, 22, 24),  # "about 23"
                                              (5000, 10, 10, 0.1, 2.2, 2.4)])  # "2.2-2.4"
def test_temporal_softmax_loss_sanity(N, T, V, p, low, high):
    np.random.seed(231)
    x = 0.001 * np.random.randn(N, T, V)
    y = np.random.randint(V, size=(N, T))
    mask = np.random.rand(N, T) <= p
    loss = temporal_softmax_loss(x, y, mask)[0]  # the course indexes the pair
    assert low <= loss <= high


def test_temporal_softmax_loss_gradient(capsys):
    np.random.seed(231)
    N, T, V = 7, 8, 9
    x = 0.001 * np.random.randn(N, T, V)
    y = np.random.randint(V, size=(N, T))
    mask = np.random.rand(N, T) > 0.5
    loss, dx = temporal_softmax_loss(x, y, mask, verbose=False)
    num = eval_numerical_gradient(lambda x: temporal_softmax_loss(x, y, mask)[0], x,
                                  verbose=False)
    ref_loss, ref_dx = ref.temporal_softmax_loss(x, y, mask)
    assert rel_error(ref_loss, loss) <= 1e-12
    assert_course_gradient("dx", dx, ref_dx, num, COURSE_REL)
    temporal_softmax_loss(x, y, mask, verbose=True)
    assert "dx_flat:  (56, 9)" in capsys.readouterr().out


def _linspace_model(case, input_dim=20, wordvec_dim=30, hidden_dim=40):
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}
    model = CaptioningRNN(word_to_idx, input_dim=input_dim, wordvec_dim=wordvec_dim,
                          hidden_dim=hidden_dim, cell_type=case["cell_type"], dtype=np.float64)
    for k, v in model.params.items():  # the notebook's own initialisation
        model.params[k] = np.linspace(-1.4, 1.3, num=v.size).reshape(*v.shape)
    return model


@pytest.mark.parametrize("case", [cv.CAPTIONING_RNN_LOSS, cv.CAPTIONING_LSTM_LOSS],
                         ids=["rnn", "lstm"])
def test_captioning_loss_published_value(case):
    model = _linspace_model(case)
    inputs = cv.make_inputs(case)
    loss, grads = model.loss(inputs["features"], inputs["captions"])
    assert abs(loss - case["expected"]["loss"]) <= 1e-10
    assert sorted(grads) == sorted(model.params)


# The course's check prints each parameter's worst elementwise relative error between
# eval_numerical_gradient (h=1e-6, float64) and the analytic gradient. A difference quotient
# cannot resolve a gradient finer than the loss's own rounding: each of the two evaluations
# is off by about one unit in the last place (ulp ~ eps * |loss|), so |numeric - true| is
# up to about 2 * eps * |loss| / (2h). At the course's seed some entries of Wx (RNN) and of
# W_proj, Wh, Wx, b (LSTM) are 1e-5..1e-7 in size, where that resolution alone is a relative
# error above 1e-6; the course's own NumPy model (torchref, its hand-written backward) shows
# the same errors. So: every element within 1e-6 relative, or within that resolution.
RESOLUTION_ULPS = 2


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
def test_captioning_model_numeric_gradient_check(cell_type):
    from torchref.captioning import NumpyCaptioningRNN

    np.random.seed(231)
    batch_size, timesteps, input_dim, wordvec_dim, hidden_dim = 2, 3, 4, 5, 6
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}
    captions = np.random.randint(len(word_to_idx), size=(batch_size, timesteps))
    features = np.random.randn(batch_size, input_dim)
    model = CaptioningRNN(word_to_idx, input_dim=input_dim, wordvec_dim=wordvec_dim,
                          hidden_dim=hidden_dim, cell_type=cell_type, dtype=np.float64)
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float64
               for v in model.params.values())
    loss, grads = model.loss(features, captions)

    ref = NumpyCaptioningRNN({"<NULL>": 0, "<START>": 1, "<END>": 2}, input_dim=input_dim,
                             wordvec_dim=wordvec_dim, hidden_dim=hidden_dim,
                             cell_type=cell_type)
    ref.params = {k: v.copy() for k, v in model.params.items()}
    ref_loss, ref_grads = ref.loss(features, captions)
    assert rel_error(ref_loss, loss) <= TOLERANCES["float64"].course_rel

    h = 1e-6
    resolution = RESOLUTION_ULPS * np.finfo(np.float64).eps * abs(loss) / (2 * h)
    coarse = set()
    for name in sorted(grads):
        assert rel_error(ref_grads[name], grads[name]) <= TOLERANCES["float64"].course_rel
        f = lambda _: model.loss(features, captions)[0]  # noqa: E731 (the course's form)
        num = eval_numerical_gradient(f, model.params[name], verbose=False, h=h)
        err = np.abs(num - grads[name])
        rel = err / np.maximum(1e-8, np.abs(num) + np.abs(grads[name]))
        outside = (rel > 1e-6) & (err > resolution)
        assert not outside.any(), (name, rel.max(), err[outside].max(), resolution)
        if rel.max() > 1e-6:
            coarse.add(name)
    # The relative check fails only where the gradient is below the quotient's resolution
    # (the course's seed gives these; `coarse` empty would mean the bound is not exercised).
    assert coarse == {"rnn": {"Wx"}, "lstm": {"W_proj", "Wh", "Wx", "b"}}[cell_type]


def test_numpy_seed_fixes_the_course_model():
    np.random.seed(231)
    a = CaptioningRNN({"<NULL>": 0, "a": 1}, input_dim=3, wordvec_dim=2, hidden_dim=4)
    np.random.seed(231)
    b = CaptioningRNN({"<NULL>": 0, "a": 1}, input_dim=3, wordvec_dim=2, hidden_dim=4)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    assert a.params["W_proj"].dtype == np.float32
    assert not a.params["b_proj"].any() and a.params["W_embed"].std() < 0.1


def test_solver_prints_the_course_lines(capsys):
    np.random.seed(231)
    data = load_coco_data(max_train=10)
    model = CaptioningRNN(data["word_to_idx"], input_dim=data["train_features"].shape[1],
                          hidden_dim=8, wordvec_dim=6, cell_type="rnn")
    solver = CaptioningSolver(model, data, update_rule="adam", num_epochs=2, batch_size=5,
                              optim_config={"learning_rate": 5e-3}, lr_decay=0.5,
                              verbose=True, print_every=2)
    solver.train()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" loss:")[0] for line in lines if line.startswith("(Iteration")] == [
        "(Iteration 1 / 4)", "(Iteration 3 / 4)"]
    assert len(solver.loss_history) == 4 and solver.epoch == 2
    assert all(c["learning_rate"] == pytest.approx(5e-3 * 0.25)
               for c in solver.optim_configs.values())
    with pytest.raises(ValueError, match='Unrecognized arguments "momentum"'):
        CaptioningSolver(model, data, momentum=0.9)
    with pytest.raises(ValueError, match='Invalid update_rule "nesterov"'):
        CaptioningSolver(model, data, update_rule="nesterov")


def _overfit_small_data(reference=False):
    """The notebook's overfitting cell (50 captions, 50 epochs of Adam); with `reference`,
    the same run on the course's own NumPy model (torchref, its hand-written backward):
    same initial weights and, through NumPy's seeded generator, the same minibatches."""
    np.random.seed(231)
    small_data = load_coco_data(max_train=50)
    model = CaptioningRNN(cell_type="rnn", word_to_idx=small_data["word_to_idx"],
                          input_dim=small_data["train_features"].shape[1], hidden_dim=512,
                          wordvec_dim=256)
    if reference:
        from torchref.captioning import NumpyCaptioningRNN

        numpy_model = NumpyCaptioningRNN(small_data["word_to_idx"], input_dim=512,
                                         hidden_dim=512, wordvec_dim=256, dtype=np.float32)
        numpy_model.params = {k: v.copy() for k, v in model.params.items()}
        model = numpy_model
    solver = CaptioningSolver(model, small_data, update_rule="adam", num_epochs=50,
                              batch_size=25, optim_config={"learning_rate": 5e-3},
                              lr_decay=0.95, verbose=False, print_every=10)
    solver.train()
    return small_data, model, np.array(solver.loss_history)


@pytest.fixture(scope="module")
def overfit_run():
    return _overfit_small_data()


@pytest.mark.e2e
def test_overfit_small_data_follows_the_course_numpy_model_and_memorises(overfit_run):
    small_data, model, history = overfit_run
    _, _, reference = _overfit_small_data(reference=True)
    row = compare_arrays("loss history", history, reference, TOLERANCES["float32"])
    assert row.ok and len(history) == 100, row
    assert history[-1] < 0.02 * history[0]
    captions, features, urls = sample_coco_minibatch(small_data, split="train", batch_size=2)
    sample = model.sample(features)
    assert sample.shape == (2, 30) and sample.dtype == np.int32
    decoded = decode_captions(sample, small_data["idx_to_word"])
    references = decode_captions(captions, small_data["idx_to_word"])
    assert ["<START> " + c for c in decoded] == references  # memorised; sample has no <START>


# The notebook expects a final loss below 0.1 on COCO. On the synthetic world the course's
# own NumPy model, run on the same weights and minibatches, ends at the same 0.135 (the test
# above): the plateau belongs to the data, not to this implementation (issue 18's note).
@pytest.mark.e2e
@pytest.mark.xfail(strict=True, reason="the synthetic world's 50 captions end at 0.135 with "
                   "the course's settings, for the course's NumPy model too")
def test_overfit_small_data_final_loss_below_the_notebooks_0_1(overfit_run):
    assert overfit_run[2][-1] < 0.1
