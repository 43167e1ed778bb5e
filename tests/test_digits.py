"""The synthetic MNIST-like digits: MNIST's arrays, deterministic, balanced, learnable."""

import numpy as np
import pytest

from tfcs231n.data import digits
from tfcs231n.data.download import data_dir

N_TRAIN, N_TEST = 3000, 1000


@pytest.fixture(scope="module")
def small():
    return digits.load_synthetic_digits(seed=0, n_train=N_TRAIN, n_test=N_TEST)


def test_arrays_match_keras_mnist_convention(small):
    (x_train, y_train), (x_test, y_test) = small
    assert x_train.shape == (N_TRAIN, 28, 28) and x_test.shape == (N_TEST, 28, 28)
    assert y_train.shape == (N_TRAIN,) and y_test.shape == (N_TEST,)
    for a in (x_train, y_train, x_test, y_test):
        assert a.dtype == np.uint8
    assert y_train.max() == 9 and y_train.min() == 0
    assert x_train.max() == 255 and x_train.min() == 0


def test_white_digit_on_black_with_mnist_like_ink(small):
    (x_train, _), _ = small
    border = np.concatenate([x_train[:, :2].ravel(), x_train[:, -2:].ravel(),
                             x_train[:, :, :2].ravel(), x_train[:, :, -2:].ravel()])
    # MNIST's 20x20 box in a 28x28 frame leaves the outer rows almost always black.
    assert (border == 0).mean() > 0.99
    # MNIST: mean pixel 33.3, 19 % of pixels non-zero; a font rendering should be close.
    assert 20 < x_train.mean() < 60
    assert 0.12 < (x_train > 0).mean() < 0.35
    # Centre of mass near the frame's centre, as MNIST was normalised.
    w = x_train.astype(np.float64)
    rows = (w.sum(2) * np.arange(28)).sum(1) / w.sum((1, 2))
    cols = (w.sum(1) * np.arange(28)).sum(1) / w.sum((1, 2))
    assert abs(rows.mean() - 13.5) < 1.0 and abs(cols.mean() - 13.5) < 1.0


def test_classes_balanced(small):
    (_, y_train), (_, y_test) = small
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), [N_TRAIN // 10] * 10)
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), [N_TEST // 10] * 10)


def test_deterministic_and_cached(small):
    (x_train, y_train), (x_test, y_test) = small
    cache = data_dir("digits") / f"digits-v{digits.VERSION}-seed0-{N_TRAIN}-{N_TEST}.npz"
    assert cache.is_file()
    # Rebuilt from scratch (not read back from the cache) the arrays are identical.
    rebuilt_x, rebuilt_y = digits.render_digits(N_TEST, np.random.default_rng([0, 1]))
    np.testing.assert_array_equal(rebuilt_x, x_test)
    np.testing.assert_array_equal(rebuilt_y, y_test)
    (x_again, y_again), _ = digits.load_synthetic_digits(seed=0, n_train=N_TRAIN, n_test=N_TEST)
    np.testing.assert_array_equal(x_again, x_train)
    np.testing.assert_array_equal(y_again, y_train)


def test_seed_changes_data_and_test_split_ignores_n_train(small):
    _, (x_test, y_test) = small
    (x_other, _), (x_test_other, _) = digits.load_synthetic_digits(seed=1, n_train=10, n_test=20)
    assert not np.array_equal(x_test_other, x_test[:20])
    _, (x_test_b, y_test_b) = digits.load_synthetic_digits(seed=0, n_train=10, n_test=N_TEST)
    np.testing.assert_array_equal(x_test_b, x_test)
    np.testing.assert_array_equal(y_test_b, y_test)


def test_images_differ_within_a_class(small):
    (x_train, y_train), _ = small
    sevens = x_train[y_train == 7].reshape(-1, 784)
    assert len(np.unique(sevens, axis=0)) == len(sevens)


def _linear_classifier_accuracy(x_train, y_train, x_test, y_test, ridge=10.0):
    """Least-squares linear classifier on one-hot targets (closed form); test accuracy."""
    def prep(x):
        return np.c_[x.reshape(len(x), -1) / 255.0, np.ones(len(x))]

    a, b = prep(x_train), prep(x_test)
    w = np.linalg.solve(a.T @ a + ridge * np.eye(a.shape[1]), a.T @ np.eye(10)[y_train])
    return ((b @ w).argmax(1) == y_test).mean()


def test_classes_distinguishable_and_labels_matter(small):
    (x_train, y_train), (x_test, y_test) = small
    accuracy = _linear_classifier_accuracy(x_train, y_train, x_test, y_test)
    # Far above chance from a linear model on 3000 images: the label carries the digit
    # (this closed-form classifier gets ~78 % here; the CNN of the MNIST issue does better).
    assert accuracy > 0.7, accuracy
    shuffled = np.random.default_rng(0).permutation(y_train)
    chance = _linear_classifier_accuracy(x_train, shuffled, x_test, y_test)
    assert chance < 0.2, chance


@pytest.mark.parametrize("kwargs", [dict(seed=-1), dict(n_train=1.5), dict(n_test=True)])
def test_bad_arguments(kwargs):
    ((name, value),) = kwargs.items()
    with pytest.raises(ValueError, match=rf"\b{name}\b.*{value!r}"):
        digits.load_synthetic_digits(**kwargs)
