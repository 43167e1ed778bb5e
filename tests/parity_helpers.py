"""Helpers shared by the parity test modules (imported as `parity_helpers`)."""

import pytest

from tfcs231n.parity import cases as parity_cases


def parity_params(module):
    """`pytest.mark.parametrize("case,shape_index", ...)` over every registered parity case
    of `module` at each of its dimension sets (`tfcs231n.parity.cases.SHAPES[module]`),
    with the case names ("op[dims]") as ids.

    A test runs one as `case.run(dtype, seed=shape_index)`: a different seed per shape.
    """
    params = [(case, i) for i in range(len(parity_cases.SHAPES[module]))
              for case in parity_cases.cases(module, i)]
    return pytest.mark.parametrize("case,shape_index", params,
                                   ids=[case.name for case, _ in params])
