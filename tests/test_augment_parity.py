"""Deterministic transforms of tfcs231n.vision.augment against torchref.augment, pixel for pixel.

torchref follows torchvision's PIL path (PIL's resize and ImageEnhance, uint8 with PIL's
own rounding), so the TF float result, rounded to uint8, may differ by one level (PIL
truncates blends and rounds between its two resize passes) and never by more.
"""

import numpy as np
import pytest
import tensorflow as tf

from tfcs231n.vision import augment as aug
from tfcs231n.data.synthetic import make_scenes
from torchref import augment as ref


def _u8(x):
    return np.clip(np.rint(np.asarray(x)), 0, 255).astype(np.uint8)


def _max_diff(a, b):
    assert a.shape == b.shape, (a.shape, b.shape)
    return int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max())


@pytest.fixture(scope="module")
def images():
    """A synthetic scene (flat colours, sharp edges) and uniform noise (every level)."""
    scenes, _, _ = make_scenes(1, seed=7, image_size=64)
    noise = np.random.default_rng(0).integers(0, 256, (48, 80, 3), dtype=np.uint8)
    return {"scene": scenes[0], "noise": noise}


# Downscale 2x and 1.6x, upscale, non-square both ways, a 1-pixel strip, the identity.
BOXES = [((3, 5, 40, 44), (20, 22)), ((0, 0, 48, 64), (30, 40)), ((10, 7, 20, 13), (41, 37)),
         ((1, 2, 45, 33), (45, 33)), ((5, 9, 1, 30), (8, 8)), ((0, 0, 48, 64), (48, 64))]


@pytest.mark.parametrize("kind", ["scene", "noise"])
@pytest.mark.parametrize("box,size", BOXES)
def test_resized_crop_matches_pil_bilinear(images, kind, box, size):
    img = images[kind][:48, :64]
    actual = aug.resized_crop(tf.constant(img[None], tf.float32), tf.constant([box]), size)
    assert _max_diff(_u8(actual[0]), ref.resized_crop(img, *box, size)) <= 1


def test_identity_box_is_exact(images):
    img = images["noise"]
    out = aug.resized_crop(tf.constant(img[None], tf.float32), tf.constant([[0, 0, 48, 80]]),
                           (48, 80))
    np.testing.assert_array_equal(np.asarray(out[0]), img)


def test_flips_are_exact(images):
    img = images["noise"]
    layer = aug.RandomHorizontalFlip(p=1.0)
    np.testing.assert_array_equal(_u8(layer(img, seed=0)), ref.hflip(img))
    np.testing.assert_array_equal(_u8(aug.RandomVerticalFlip(p=1.0)(img, seed=0)),
                                  ref.vflip(img))
    np.testing.assert_array_equal(_u8(aug.RandomHorizontalFlip(p=0.0)(img, seed=0)), img)


ADJUST = [
    (aug.adjust_brightness, ref.adjust_brightness, [0.0, 0.35, 1.0, 1.7]),
    (aug.adjust_contrast, ref.adjust_contrast, [0.0, 0.5, 1.45, 2.0]),
    (aug.adjust_saturation, ref.adjust_saturation, [0.0, 0.3, 1.6, 3.0]),
    (aug.adjust_hue, ref.adjust_hue, [-0.5, -0.21, 0.0, 0.07, 0.33, 0.5]),
]


@pytest.mark.parametrize("kind", ["scene", "noise"])
@pytest.mark.parametrize("fn,ref_fn,factors", ADJUST, ids=["brightness", "contrast",
                                                           "saturation", "hue"])
def test_colour_adjustments_match_reference(images, kind, fn, ref_fn, factors):
    img = images[kind]
    batch = tf.constant(np.repeat(img[None], len(factors), 0) / 255.0, tf.float32)
    actual = _u8(fn(batch, tf.constant(factors, tf.float32)) * 255.0)  # one factor per image
    for i, f in enumerate(factors):
        assert _max_diff(actual[i], ref_fn(img, f)) <= 1, f"factor {f}"


def test_reference_float_path_agrees_with_pil(images):
    """The float path used for whole jitters is itself within one level of PIL."""
    img = images["noise"]
    for float_fn, pil_fn, f in [(ref.adjust_brightness_float, ref.adjust_brightness, 1.3),
                                (ref.adjust_contrast_float, ref.adjust_contrast, 0.6),
                                (ref.adjust_saturation_float, ref.adjust_saturation, 1.8)]:
        x = float_fn(img / 255.0, f)
        assert _max_diff(_u8(x * 255.0), pil_fn(img, f)) <= 1


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 2, 1, 0), (2, 0, 3, 1)])
def test_color_jitter_fixed_order_and_factors(images, order):
    img = images["scene"]
    factors = [1.3, 0.7, 1.6, -0.12]
    x = tf.constant(img[None] / 255.0, tf.float32)
    actual = aug.color_jitter(x, [order], [factors])
    assert _max_diff(_u8(actual[0] * 255.0), ref.color_jitter_float(img, order, factors)) <= 1


def test_color_jitter_order_matters(images):
    """Guards the test above: contrast before or after hue gives different images."""
    img = images["scene"]
    a = ref.color_jitter_float(img, (1, 3, 0, 2), [1.0, 1.8, 1.0, 0.3])
    b = ref.color_jitter_float(img, (3, 1, 0, 2), [1.0, 1.8, 1.0, 0.3])
    assert _max_diff(a, b) > 1


def test_layer_applies_sampled_params_like_reference(images):
    """The RandomResizedCrop layer crops exactly the box its sampler draws."""
    img = images["noise"]
    layer = aug.RandomResizedCrop((24, 40), scale=(0.2, 0.9))
    seed = tf.constant([4, 2], tf.int64)
    boxes, _ = aug.random_resized_crop_params(seed, 1, 48, 80, layer.scale, layer.ratio)
    actual = _u8(layer(img[None], seed=seed)[0])
    assert _max_diff(actual, ref.resized_crop(img, *boxes.numpy()[0], (24, 40))) <= 1


def test_normalize_matches_reference(images):
    img = images["scene"]
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    actual = aug.Normalize(mean, std, dtype="float64")(img)
    np.testing.assert_allclose(np.asarray(actual), ref.normalize(img, mean, std), rtol=1e-12)
