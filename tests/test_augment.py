"""tfcs231n.vision.augment: the random transforms' distributions, seeding, tf.data and config.

The distributions are compared with torchref's loop-for-loop copy of torchvision's
sampler (two-sample Kolmogorov-Smirnov) or with their exact law (binomial, chi-square);
thresholds are at p = 1e-4, so a correct implementation fails about once in 10^4 runs
and the seeds are fixed anyway.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from tfcs231n.vision import augment as aug
from torchref import augment as ref

P_MIN = 1e-4


def _ref_boxes(n, height, width, scale, ratio, seed=0):
    rng = np.random.default_rng(seed)
    draws = [ref.random_resized_crop_params(rng, height, width, scale, ratio) for _ in range(n)]
    return np.array([b for b, _ in draws]), np.array([ok for _, ok in draws])


@pytest.mark.parametrize("height,width,scale,ratio", [
    (64, 64, (0.08, 1.0), (3 / 4, 4 / 3)),   # d2l's default; some attempts overflow
    (40, 90, (0.3, 1.0), (0.5, 2.0)),        # wide image: many attempts rejected
    (50, 30, (0.6, 1.0), (1.5, 3.0)),        # fallback common
])
def test_crop_box_distribution_matches_torchvision_rule(height, width, scale, ratio):
    n = 4000
    boxes, accepted = aug.random_resized_crop_params(tf.constant([3, 1]), n, height, width,
                                                     scale, ratio)
    boxes, accepted = boxes.numpy(), accepted.numpy()
    ref_boxes, ref_accepted = _ref_boxes(n, height, width, scale, ratio)
    top, left, h, w = boxes.T
    assert (h > 0).all() and (w > 0).all()
    assert (top >= 0).all() and (left >= 0).all()
    assert (top + h <= height).all() and (left + w <= width).all()
    for name, ours, theirs in [
        ("area", h * w, ref_boxes[:, 2] * ref_boxes[:, 3]),
        ("log ratio", np.log(w / h), np.log(ref_boxes[:, 3] / ref_boxes[:, 2])),
        ("top offset", top / np.maximum(height - h, 1),
         ref_boxes[:, 0] / np.maximum(height - ref_boxes[:, 2], 1)),
    ]:
        p = stats.ks_2samp(ours, theirs).pvalue
        assert p > P_MIN, f"{name}: KS p = {p:.2e}"
    # Fallback rate: two binomial proportions.
    table = [[accepted.sum(), n - accepted.sum()], [ref_accepted.sum(), n - ref_accepted.sum()]]
    assert stats.chi2_contingency(table).pvalue > P_MIN if 0 < accepted.sum() < n \
        else accepted.all() == ref_accepted.all()


def test_fallback_is_torchvisions_central_crop():
    """No attempt can succeed (area = whole image, ratio fixed): the central crop."""
    for height, width, ratio in [(40, 64, (1.0, 1.0)), (64, 40, (1.0, 1.0)),
                                 (30, 50, (0.5, 0.6)), (50, 30, (1.2, 2.0))]:
        boxes, accepted = aug.random_resized_crop_params(tf.constant([0, 0]), 3, height, width,
                                                         (1.0, 1.0), ratio)
        expected, ok = ref.random_resized_crop_params(np.random.default_rng(0), height, width,
                                                      (1.0, 1.0), ratio)
        assert not accepted.numpy().any() and not ok
        np.testing.assert_array_equal(boxes.numpy(), [expected] * 3)


@pytest.mark.parametrize("p", [0.5, 0.2])
@pytest.mark.parametrize("cls", [aug.RandomHorizontalFlip, aug.RandomVerticalFlip])
def test_flip_rate(cls, p):
    n = 4000
    images = tf.tile(tf.reshape(tf.range(6.0), (1, 2, 3, 1)), [n, 1, 1, 3])
    out = cls(p=p)(images, seed=11)
    flipped = np.any(np.asarray(out) != np.asarray(images), axis=(1, 2, 3))
    assert stats.binomtest(int(flipped.sum()), n, p).pvalue > P_MIN


def test_jitter_factors_and_order_distribution():
    n = 4800
    ranges = aug.ColorJitter(0.4, (0.5, 1.5), 0.2, 0.1).ranges
    order, factors = aug.color_jitter_params(tf.constant([5, 5]), n, ranges)
    order, factors = order.numpy(), factors.numpy()
    assert ranges == ((0.6, 1.4), (0.5, 1.5), (0.8, 1.2), (-0.1, 0.1))
    for j, (lo, hi) in enumerate(ranges):
        p = stats.kstest(factors[:, j], stats.uniform(lo, hi - lo).cdf).pvalue
        assert p > P_MIN, f"factor {j}: KS p = {p:.2e}"
    assert (np.sort(order, axis=1) == np.arange(4)).all()
    codes = order @ np.array([64, 16, 4, 1])
    counts = np.unique(codes, return_counts=True)[1]
    assert len(counts) == 24 and stats.chisquare(counts).pvalue > P_MIN


def test_jitter_range_follows_torchvision():
    assert aug.jitter_range(0.5, "b") == (0.5, 1.5)
    assert aug.jitter_range(1.5, "b") == (0.0, 2.5)  # clamped at 0
    assert aug.jitter_range(0, "b") is None
    assert aug.jitter_range(0.2, "hue", 0.0, (-0.5, 0.5)) == (-0.2, 0.2)
    with pytest.raises(ValueError, match=r"\bhue\b.*0\.7"):
        aug.ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match=r"\bbrightness\b.*-1"):
        aug.ColorJitter(brightness=-1)


def _pipeline(seed=None):
    return aug.Compose([aug.RandomHorizontalFlip(), aug.RandomVerticalFlip(),
                        aug.RandomResizedCrop((24, 24), scale=(0.2, 1.0)),
                        aug.ColorJitter(0.5, 0.5, 0.5, 0.2)], seed=seed)


@pytest.fixture(scope="module")
def batch():
    return np.random.default_rng(1).integers(0, 256, (6, 32, 40, 3), dtype=np.uint8)


def test_same_seed_same_images_other_seed_other_images(batch):
    a = _pipeline()(batch, seed=[1, 2])
    np.testing.assert_array_equal(a, _pipeline()(batch, seed=[1, 2]))
    assert not np.allclose(a, _pipeline()(batch, seed=[1, 3]))
    assert a.shape == (6, 24, 24, 3) and a.dtype == tf.float32
    # Images of one batch draw different parameters.
    same = _pipeline()(np.repeat(batch[:1], 4, 0), seed=0)
    assert not np.allclose(same[0], same[1])


def test_layer_seed_generator_reproduces_a_sequence(batch):
    first, second = _pipeline(seed=3), _pipeline(seed=3)
    a1, a2 = first(batch), first(batch)
    assert not np.allclose(a1, a2)  # the generator advances
    np.testing.assert_array_equal(a1, second(batch))
    np.testing.assert_array_equal(a2, second(batch))


def test_single_image_and_inference_mode(batch):
    layer = _pipeline()
    single = layer(batch[0], seed=4)
    assert single.shape == (24, 24, 3)
    crop = aug.RandomResizedCrop((32, 40))
    np.testing.assert_allclose(crop(batch, training=False), batch)  # whole image, same size
    np.testing.assert_array_equal(aug.ColorJitter(0.9)(batch, training=False), batch)


def test_tf_data_is_deterministic_and_batching_independent(batch):
    ds = tf.data.Dataset.from_tensor_slices((batch, np.arange(6)))
    layer = _pipeline()
    run = lambda d: np.stack([x.numpy() for x, _ in d])  # noqa: E731
    a = run(aug.augment_dataset(ds, layer, seed=9))
    np.testing.assert_array_equal(a, run(aug.augment_dataset(ds, layer, seed=9)))
    # Element i gets seed (9, i): the same as calling the layer on it directly.
    np.testing.assert_array_equal(a[2], layer(batch[2], seed=[9, 2]))


def test_layer_inside_a_model_and_config_round_trip(tmp_path, batch):
    layer = _pipeline(seed=0)
    clone = aug.Compose.from_config(layer.get_config())
    np.testing.assert_array_equal(clone(batch, seed=5), layer(batch, seed=5))
    inputs = keras.Input((32, 40, 3))
    x = aug.Normalize([0.5] * 3, [0.25] * 3)(aug.RandomResizedCrop(16, seed=1)(inputs))
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(batch, verbose=0),
                               model.predict(batch, verbose=0), rtol=1e-6)


def test_arguments_are_validated():
    with pytest.raises(ValueError, match=r"\bscale\b.*0\.9, 0\.1"):
        aug.RandomResizedCrop(8, scale=(0.9, 0.1))
    with pytest.raises(ValueError, match=r"\bratio\b.*\(0(\.0)?, 1(\.0)?\)"):
        aug.RandomResizedCrop(8, ratio=(0, 1))
    with pytest.raises(ValueError, match=r"\bp\b.*1\.5"):
        aug.RandomHorizontalFlip(p=1.5)
    with pytest.raises(ValueError, match=r"\bimages\b.*\(4, 4\)"):
        aug.RandomHorizontalFlip()(np.zeros((4, 4)))


def test_apply_writes_a_grid(tmp_path, batch):
    path = tmp_path / "grid.png"
    out = aug.apply(batch[0], aug.RandomHorizontalFlip(), rows=2, cols=3, path=str(path))
    assert out.shape == (6, 32, 40, 3) and out.dtype == np.uint8 and path.stat().st_size > 0
    flipped = [np.array_equal(o, batch[0][:, ::-1]) for o in out]
    unflipped = [np.array_equal(o, batch[0]) for o in out]
    assert all(f or u for f, u in zip(flipped, unflipped))
