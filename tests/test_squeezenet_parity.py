"""SqueezeNet against torchref.squeezenet through the parity registry (as `tfcs231n parity`)."""

import pytest

from tfcs231n.parity import engine as parity
from tfcs231n.parity import cases as parity_cases

CASES = [(c, i) for i in range(len(parity_cases.SHAPES["squeezenet"]))
         for c in parity_cases.cases("squeezenet", i)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case,shape_index", CASES, ids=[c.name for c, _ in CASES])
def test_scores_and_input_gradient_match_pytorch(case, shape_index, dtype):
    parity.assert_parity(case.run(dtype, seed=shape_index))
