"""tfcs231n.visualization.sanity: hand-checked values."""

import numpy as np
import pytest

from tfcs231n.visualization import sanity as sc
from tfcs231n.visualization.saliency import FoolingFailed


def test_mass_inside_by_hand():
    maps = np.zeros((2, 2, 2))
    maps[0] = [[1, 3], [0, 0]]
    maps[1] = [[2, 2], [2, 2]]
    masks = np.array([[[True, False], [False, False]], [[True, True], [True, False]]])
    np.testing.assert_allclose(sc.mass_inside(maps, masks), [0.25, 0.75])
    with pytest.raises(ValueError, match=r"\bmaps\b.*\(2, 2, 2\).*\bmasks\b.*\(2, 1, 2\)"):
        sc.mass_inside(maps, masks[:, :1])


def test_rank_correlation_known_answers():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert sc.rank_correlation(a, a * 10 + 3) == pytest.approx(1.0)
    assert sc.rank_correlation(a, -a) == pytest.approx(-1.0)
    # Ties take average ranks: x ranks (0.5, 0.5, 2, 3), y ranks (0, 1, 2, 3) -> 0.9487
    x, y = np.array([1.0, 1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0, 4.0])
    assert sc.rank_correlation(x, y) == pytest.approx(3 / np.sqrt(10), rel=1e-12)


def test_fooling_report_counts_failures_and_never_targets_the_label():
    calls = []

    def fake_fool(x, target, model, **kw):
        calls.append(target)
        if target == 0:
            raise FoolingFailed(target, 2, 1, x)
        return x + 0.5, 3

    images, labels = np.zeros((6, 2, 2, 3)), np.array([0, 1, 2, 0, 1, 2])
    report = sc.fooling_report(None, images, labels, 3, fake_fool, seed=1)
    assert all(t != l for t, l in zip(report["targets"], labels))
    assert report["success_rate"] == pytest.approx(1 - calls.count(0) / 6)
    assert report["mean_linf"] == pytest.approx(0.5) and set(report["steps"]) == {3}

    def broken(x, target, model, **kw):
        raise RuntimeError("a bug, not a failure to fool")

    with pytest.raises(RuntimeError, match="a bug"):  # never counted as "not fooled"
        sc.fooling_report(None, images, labels, 3, broken)
