"""SqueezeNet against torchref.squeezenet through the parity registry (as `tfcs231n parity`)."""

import pytest

from parity_helpers import parity_params
from tfcs231n.parity import engine as parity


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@parity_params("squeezenet")
def test_scores_and_input_gradient_match_pytorch(case, shape_index, dtype):
    parity.assert_parity(case.run(dtype, seed=shape_index))
