"""Tests for the reference captioning models in torchref.captioning.

The NumPy model is checked against the course's published losses and against finite
differences; the PyTorch model is checked against the published losses and against the
NumPy model (loss, every gradient, one optimiser step, greedy samples).
"""

import numpy as np
import pytest
import torch

from tfcs231n.parity import course_values as cv
from tfcs231n.parity import engine as parity
from torchref import rnn_layers as rl
from torchref.captioning import NumpyCaptioningRNN, TorchCaptioningRNN, train_step
from torchref.gradcheck import eval_numerical_gradient, rel_error

WORDS = ("<NULL>", "<START>", "<END>", "a", "b", "c", "d")
WORD_TO_IDX = {word: i for i, word in enumerate(WORDS)}
NULL, START, END = 0, 1, 2
# Every dimension differs, so a transposed or swapped axis cannot go unnoticed.
N, T, D, W, H, V = 2, 5, 4, 3, 6, len(WORDS)
CELLS = ("rnn", "lstm")
MODELS = (NumpyCaptioningRNN, TorchCaptioningRNN)


def _random_model(cell_type, seed, batch=N):
    """A NumPy model with unit-scale random parameters, features and captions.

    Unlike the course's initialisation (word vectors ~0.01, biases 0) every parameter is
    N(0, 1), so every gradient path carries signal of the same order.
    Captions are (batch, T + 1), start with '<START>', and may contain '<NULL>' anywhere.
    """
    rng = np.random.default_rng(seed)
    model = NumpyCaptioningRNN(WORD_TO_IDX, D, W, H, cell_type)
    model.params.update({k: rng.standard_normal(v.shape) for k, v in model.params.items()})
    features = rng.standard_normal((batch, D))
    captions = rng.integers(V, size=(batch, T + 1))
    captions[:, 0] = START
    return model, features, captions


def _torch_copy(model):
    torch_model = TorchCaptioningRNN(WORD_TO_IDX, D, W, H, model.cell_type)
    torch_model.load_params(model.params)
    return torch_model


def _assert_agree(name, actual, desired):
    """Every array of `desired` (dict) agrees with `actual` under the float64 tolerance."""
    tolerance = parity.TOLERANCES["float64"]
    rows = [parity.compare_arrays(k, actual[k], desired[k], tolerance) for k in desired]
    report = parity.ParityReport(name, "float64", rows)
    assert report.ok, "\n" + parity.format_table([report])


# ----------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("model_class", MODELS)
@pytest.mark.parametrize("cell_type, gates", [("rnn", 1), ("lstm", 4)])
def test_parameter_names_and_shapes(model_class, cell_type, gates):
    model = model_class(WORD_TO_IDX, D, W, H, cell_type)
    if model_class is TorchCaptioningRNN:
        shapes = {k: tuple(p.shape) for k, p in model.named_parameters()}
    else:
        shapes = {k: v.shape for k, v in model.params.items()}

    assert shapes == {
        "W_proj": (D, H),
        "b_proj": (H,),
        "W_embed": (V, W),
        "Wx": (W, gates * H),
        "Wh": (H, gates * H),
        "b": (gates * H,),
        "W_vocab": (H, V),
        "b_vocab": (V,),
    }


def test_initialisation_follows_the_course():
    dims = {"input_dim": 400, "wordvec_dim": 300, "hidden_dim": 200}  # fan-ins all differ
    params = NumpyCaptioningRNN(WORD_TO_IDX, **dims, cell_type="lstm", seed=3).params

    for name in ("b_proj", "b", "b_vocab"):
        np.testing.assert_array_equal(params[name], 0.0, err_msg=name)
    # Sample std of 1e3..1e5 normal draws is within a few percent of the scale.
    expected_std = {"W_embed": 1 / 100, "W_proj": 400**-0.5, "Wx": 300**-0.5,
                    "Wh": 200**-0.5, "W_vocab": 200**-0.5}
    for name, std in expected_std.items():
        assert params[name].std() == pytest.approx(std, rel=0.1), name
        assert abs(params[name].mean()) < 0.1 * std, name

    # The same seed gives the same values in both implementations; another seed does not.
    torch_params = dict(TorchCaptioningRNN(WORD_TO_IDX, **dims, cell_type="lstm",
                                           seed=3).named_parameters())
    for name, value in params.items():
        np.testing.assert_array_equal(torch_params[name].detach().numpy(), value, err_msg=name)
    other = NumpyCaptioningRNN(WORD_TO_IDX, **dims, cell_type="lstm", seed=4).params
    assert not np.array_equal(other["W_proj"], params["W_proj"])


def test_float32_models_compute_in_float32():
    _, features, captions = _random_model("lstm", seed=0)  # float64 inputs
    numpy32 = NumpyCaptioningRNN(WORD_TO_IDX, D, W, H, "lstm", dtype=np.float32)
    torch32 = TorchCaptioningRNN(WORD_TO_IDX, D, W, H, "lstm", dtype=torch.float32)

    loss, grads = numpy32.loss(features, captions)
    torch_loss = torch32.loss(features, captions)

    assert {v.dtype for v in numpy32.params.values()} == {np.dtype(np.float32)}
    assert np.asarray(loss).dtype == np.float32
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}
    assert {p.dtype for p in torch32.parameters()} == {torch.float32}
    assert torch_loss.dtype == torch.float32


# ----------------------------------------------------------------------------
# Known answers published in the course notebooks
# ----------------------------------------------------------------------------


def _param_names(model):
    if isinstance(model, torch.nn.Module):
        return [name for name, _ in model.named_parameters()]
    return list(model.params)


def _numpy_course_loss(model, params, features, captions):
    model.params.update(params)
    return model.loss(features, captions)[0]


def _torch_course_loss(model, params, features, captions):
    model.load_params(params)
    return model.loss(features, captions).item()


@pytest.mark.parametrize(
    "model_class, course_loss",
    [(NumpyCaptioningRNN, _numpy_course_loss), (TorchCaptioningRNN, _torch_course_loss)],
    ids=["numpy", "torch"],
)
@pytest.mark.parametrize(
    "case", [cv.CAPTIONING_RNN_LOSS, cv.CAPTIONING_LSTM_LOSS], ids=["rnn", "lstm"]
)
def test_reproduces_published_loss(model_class, course_loss, case):
    inputs = cv.make_inputs(case)
    # The notebooks use {'<NULL>': 0, 'cat': 2, 'dog': 3} (V = 3), which lacks the special
    # tokens this project requires. The loss reads only '<NULL>' = 0 and V, so this
    # vocabulary of the same size gives the same loss.
    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2}
    model = model_class(word_to_idx, input_dim=20, wordvec_dim=30, hidden_dim=40,
                        cell_type=case["cell_type"])
    params = {name: inputs[name] for name in _param_names(model)}

    loss = course_loss(model, params, inputs["features"], inputs["captions"])

    assert abs(loss - case["expected"]["loss"]) <= parity.published_atol(11)


# ----------------------------------------------------------------------------
# NumPy backward against finite differences
# ----------------------------------------------------------------------------

# Centered differences of a float64 loss near 10 resolve a gradient only to ~1e-10
# absolute (one ulp of the loss over 2h), so under the course's elementwise rel_error an
# entry must be above ~5e-4 for 1e-7. Each Wh entry of the LSTM sums N*T products of
# mixed sign, and with most seeds a few of its 144 entries cancel down to ~1e-6 (about 5%
# of seeds pass). Seed 92 was picked because it has no such entry for either cell; the
# smallest-entry assertion below says so if the seed or the sizes change. The bound is not
# loosened: it still fails a gradient that is off by a factor of 1.00001.
GRADCHECK_SEED = 92
GRAD_RTOL = 1e-7


@pytest.mark.parametrize("cell_type", CELLS)
def test_numpy_gradients_match_finite_differences(cell_type):
    model, features, captions = _random_model(cell_type, GRADCHECK_SEED)
    assert (captions[:, 1:] == NULL).any()  # the mask drops some targets

    _, grads = model.loss(features, captions)

    assert grads.keys() == model.params.keys()
    smallest = min(np.abs(g[g != 0]).min() for g in grads.values())
    assert smallest > 2e-4, "a tiny gradient entry: finite differences cannot check it"
    for name, param in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(features, captions)[0], param)
        assert grads[name].shape == param.shape, name
        assert rel_error(numeric, grads[name]) <= GRAD_RTOL, name


# ----------------------------------------------------------------------------
# PyTorch against NumPy
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("cell_type", CELLS)
def test_torch_loss_and_gradients_match_numpy(cell_type):
    model, features, captions = _random_model(cell_type, seed=0, batch=3)
    torch_model = _torch_copy(model)

    loss, grads = model.loss(features, captions)
    torch_loss = torch_model.loss(features, captions)
    torch_loss.backward()

    torch_grads = {name: p.grad.numpy() for name, p in torch_model.named_parameters()}
    assert torch_grads.keys() == grads.keys()
    _assert_agree(f"captioning_{cell_type}",
                  {"loss": torch_loss.item(), **torch_grads}, {"loss": loss, **grads})


def test_train_step_takes_one_sgd_step_with_numpy_gradients():
    model, features, captions = _random_model("lstm", seed=1, batch=3)
    torch_model = _torch_copy(model)
    optimizer = torch.optim.SGD(torch_model.parameters(), lr=0.1)
    loss, grads = model.loss(features, captions)

    step_loss = train_step(torch_model, optimizer, features, captions)

    assert isinstance(step_loss, float)
    after = {name: p.detach().numpy() for name, p in torch_model.named_parameters()}
    expected = {name: model.params[name] - 0.1 * grads[name] for name in grads}
    _assert_agree("train_step", {"loss": step_loss, **after}, {"loss": loss, **expected})


# ----------------------------------------------------------------------------
# Greedy sampling
# ----------------------------------------------------------------------------

SAMPLE_BATCH, MAX_LENGTH = 32, 12


def _sampling_model(cell_type):
    """A random model that ends some captions early and runs others to the end.

    Random weights rarely pick '<END>' among 7 words, so its score gets a +1 offset; with
    seed 4 about half of the captions of either cell then end early.
    """
    model, features, _ = _random_model(cell_type, seed=4, batch=SAMPLE_BATCH)
    model.params["b_vocab"][END] += 1.0
    return model, features


def _course_greedy(params, cell_type, features, max_length):
    """The course's sample(): greedy, and it keeps writing words after '<END>'."""
    p = params
    h = features @ p["W_proj"] + p["b_proj"]
    c = np.zeros_like(h)
    word = np.full(len(features), START)
    words = []
    for _ in range(max_length):
        x = p["W_embed"][word]
        if cell_type == "lstm":
            h, c, _ = rl.lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
        else:
            h, _ = rl.rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])
        word = np.argmax(h @ p["W_vocab"] + p["b_vocab"], axis=1)
        words.append(word)
    return np.stack(words, axis=1)


@pytest.mark.parametrize("cell_type", CELLS)
def test_numpy_sample_is_greedy_with_null_after_end(cell_type):
    model, features = _sampling_model(cell_type)
    course = _course_greedy(model.params, cell_type, features, MAX_LENGTH)
    is_end = course == END
    after_end = np.cumsum(is_end, axis=1) - is_end > 0  # strictly after the first <END>
    expected = np.where(after_end, NULL, course)
    # The convention must change something, and some captions must run to the end.
    assert (expected != course).any()
    assert not is_end.any(axis=1).all()

    sampled = model.sample(features, max_length=MAX_LENGTH)

    assert sampled.shape == (SAMPLE_BATCH, MAX_LENGTH) and sampled.dtype == np.int64
    np.testing.assert_array_equal(sampled, expected)


@pytest.mark.parametrize("cell_type", CELLS)
def test_torch_sample_matches_numpy(cell_type):
    model, features = _sampling_model(cell_type)

    expected = model.sample(features, max_length=MAX_LENGTH)
    sampled = _torch_copy(model).sample(features, max_length=MAX_LENGTH)

    # Some caption ends before the last position, so the '<NULL>' padding is compared.
    assert (expected[:, :-1] == END).any()
    assert sampled.dtype == torch.int64
    np.testing.assert_array_equal(sampled.numpy(), expected)


# ----------------------------------------------------------------------------
# Argument checks
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("model_class", MODELS)
@pytest.mark.parametrize(
    "bad, match",
    [
        ({"cell_type": "gru"}, "cell_type.*'gru'"),
        ({"word_to_idx": {"<NULL>": 0, "<START>": 1, "a": 2}}, "word_to_idx.*<END>"),
        ({"word_to_idx": {"<NULL>": 0, "<START>": 1, "<END>": 3}}, r"\bword_to_idx\b.*\b3\b"),
        ({"hidden_dim": 0}, r"\bhidden_dim\b.*\b0\b"),
        ({"input_dim": 2.5}, r"\binput_dim\b.*\b2\.5\b"),
    ],
)
def test_bad_constructor_arguments_raise(model_class, bad, match):
    args = {"word_to_idx": WORD_TO_IDX, "input_dim": D, "wordvec_dim": W, "hidden_dim": H,
            "cell_type": "rnn", **bad}
    with pytest.raises(ValueError, match=match):
        model_class(**args)


def test_load_params_rejects_wrong_names_and_shapes():
    model, _, _ = _random_model("rnn", seed=0)
    torch_model = TorchCaptioningRNN(WORD_TO_IDX, D, W, H, "rnn")
    params = dict(model.params)

    with pytest.raises(ValueError, match="W_vocab"):
        torch_model.load_params({k: v for k, v in params.items() if k != "W_vocab"})
    with pytest.raises(ValueError, match=r"\bWh\b.*\(6, 24\)"):
        torch_model.load_params({**params, "Wh": np.zeros((H, 4 * H))})
