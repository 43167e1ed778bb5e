"""Course-style calls on the native API raise (pointing at tfcs231n.course) or work; never
a silently wrong number. One test per case listed in issue 18."""

import importlib

import numpy as np
import pytest

from tfcs231n.captioning import ops
from tfcs231n.captioning.model import CaptioningRNN


def _rnn_args(N=2, T=3, D=4, H=5, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((N, T, D)), rng.standard_normal((N, H)),
            rng.standard_normal((D, H)), rng.standard_normal((H, H)), rng.standard_normal(H))


@pytest.mark.parametrize("name", ["rnn_forward", "rnn_step_forward", "lstm_forward",
                                  "lstm_step_forward", "word_embedding_forward",
                                  "temporal_affine_forward"])
def test_course_forward_names_point_to_the_course(name):
    with pytest.raises(ImportError, match=rf"{name}.*tfcs231n\.course\.rnn_layers"):
        getattr(ops, name)
    with pytest.raises(ImportError, match=r"tfcs231n\.course\.rnn_layers"):
        exec(f"from tfcs231n.captioning.ops import {name}", {})


def test_course_unpacking_works_on_the_course_module():
    from tfcs231n.course.rnn_layers import rnn_forward

    args = _rnn_args()
    h, _ = rnn_forward(*args)  # batch of 2: on a bare tensor this unpacked the batch
    np.testing.assert_allclose(h, ops.rnn(*args).numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["rnn_step_backward", "rnn_backward", "lstm_step_backward",
                                  "lstm_backward", "word_embedding_backward",
                                  "temporal_affine_backward"])
def test_course_backward_names_point_to_the_course(name):
    with pytest.raises(ImportError, match=rf"{name}.*tfcs231n\.course\.rnn_layers"):
        getattr(importlib.import_module("tfcs231n.captioning.ops"), name)


def test_unknown_names_stay_attribute_errors():
    assert not hasattr(ops, "no_such_op")


def test_native_temporal_softmax_loss_points_to_the_course():
    # The course's `loss, dx = temporal_softmax_loss(...)` would unpack a scalar tensor.
    with pytest.raises(ImportError, match=r"temporal_softmax_loss.*tfcs231n\.course\.rnn_"
                       r"layers.*temporal_cross_entropy"):
        ops.temporal_softmax_loss
    from tfcs231n.course.rnn_layers import temporal_softmax_loss

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 3, 4)), rng.integers(4, size=(2, 3))
    mask = np.ones((2, 3), bool)
    loss, dx = temporal_softmax_loss(x, y, mask, verbose=False)
    assert loss == pytest.approx(float(ops.temporal_cross_entropy(x, y, mask)), rel=1e-12)
    assert dx.shape == x.shape


def test_native_captioning_loss_points_to_the_course():
    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 3}
    model = CaptioningRNN(word_to_idx, input_dim=4, wordvec_dim=3, hidden_dim=5)
    features, captions = np.zeros((2, 4)), np.array([[1, 3, 2], [1, 3, 2]])
    with pytest.raises(TypeError, match=r"tfcs231n\.course\.classifiers\.rnn.*caption_loss"):
        loss, grads = model.loss(features, captions)  # the course's (loss, grads) pair
    assert np.isfinite(float(model.caption_loss(features, captions)))
