"""CaptioningRNN against torchref.captioning: loss, gradients and greedy captions."""

import numpy as np
import pytest
import torch

from parity_helpers import parity_params
from tfcs231n.parity import engine as parity
from tfcs231n.captioning.model import CaptioningRNN
from torchref import captioning as ref


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@parity_params("captioning")
def test_loss_and_every_gradient_match_the_numpy_reference(case, shape_index, dtype):
    parity.assert_parity(case.run(dtype, seed=10 + shape_index))


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_greedy_captions_identical_across_tf_numpy_and_torch(cell):
    V, D, W, H = 12, 9, 7, 11
    vocab = {"<NULL>": 0, "<START>": 1, "<END>": 2, **{f"w{i}": i for i in range(3, V)}}
    model = CaptioningRNN(vocab, D, W, H, cell_type=cell, dtype="float64", seed=5)
    params = {k: v.numpy() * 2.5 for k, v in model.params.items()}  # confident, varied words
    params["b_vocab"][2] += 0.5  # about half the captions end early: padding rule exercised
    for k, v in model.params.items():
        v.assign(params[k])
    numpy_model = ref.NumpyCaptioningRNN(vocab, D, W, H, cell)
    numpy_model.params = {k: v.copy() for k, v in params.items()}
    torch_model = ref.TorchCaptioningRNN(vocab, D, W, H, cell, dtype=torch.float64)
    torch_model.load_params(params)

    features = np.random.default_rng(7).standard_normal((40, D))
    ours = model.sample(features, max_length=12).numpy()
    np.testing.assert_array_equal(ours, numpy_model.sample(features, max_length=12))
    np.testing.assert_array_equal(ours, torch_model.sample(features, max_length=12).numpy())
    ended = [(row == 2).any() for row in ours]
    assert 0 < sum(ended) < len(ours)  # both finished and unfinished captions compared
    assert len({tuple(r) for r in ours}) > 5
