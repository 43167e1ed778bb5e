"""StyleTransfer-TensorFlow.ipynb (and style_transfer_tensorflow.py), cell by cell.

Without the course's style-transfer-checks-tf.npz and pretrained SqueezeNet, the checks are
the course's definitions on its own images (course-images): known answers where a closed form
exists, and the native losses' agreement with the course's formulas.
"""


import numpy as np
import pytest
import tensorflow as tf

from tfcs231n.course.image_utils import load_image, preprocess_image
from tfcs231n.course.style_transfer_tensorflow import (content_loss, gram_matrix, rel_error,
                                                       style_loss, tv_loss)
from tfcs231n.style import images as style_images
from tfcs231n.style.images import course_images_dir

needs_images = pytest.mark.skipif(course_images_dir() is None,
                                  reason="the course's images are not available")


@needs_images
def test_load_image_resizes_bilinear_like_the_course():
    from PIL import Image

    path = course_images_dir() / "tubingen.jpg"
    img = load_image(path, size=192)
    with Image.open(path) as im:
        w, h = im.size
        scale = 192.0 / min(w, h)
        want = np.asarray(im.convert("RGB").resize((int(w * scale), int(h * scale)),
                                                   Image.BILINEAR))
    assert min(img.shape[:2]) == 192 and img.dtype == np.uint8
    np.testing.assert_array_equal(img, want)
    # The native loader resizes the same way: a check on a loaded image agrees across both.
    np.testing.assert_array_equal(style_images.load_image(path, 192), want)


@needs_images
def test_tv_loss_on_course_image_matches_the_course_formula():
    content_img = preprocess_image(load_image(course_images_dir() / "tubingen.jpg", size=192))
    x = content_img.astype(np.float64)
    want = 2e-2 * (np.sum((x[1:] - x[:-1]) ** 2) + np.sum((x[:, 1:] - x[:, :-1]) ** 2))
    got = tv_loss(tf.constant(content_img[None]), 2e-2).numpy()
    assert rel_error(want, got) < 1e-5  # float32 sums over ~10^5 terms


def test_tv_loss_known_answer_checkerboard():
    board = (np.indices((4, 4)).sum(axis=0) % 2).astype(np.float32)[None, :, :, None]
    assert tv_loss(tf.constant(board), 1.0).numpy() == 2 * 4 * 3  # every neighbour differs


def test_gram_matrix_shape_and_value():
    feats = tf.constant(np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4))
    gram = gram_matrix(feats)
    flat = np.arange(24, dtype=np.float64).reshape(6, 4)
    assert gram.shape == (4, 4)
    assert rel_error(flat.T @ flat / 24, gram.numpy()) < 1e-7
    with pytest.raises(ValueError, match=r"one image.*\(2, 2, 3, 4\)"):
        gram_matrix(tf.concat([feats, feats], 0))


def test_content_and_style_loss_course_formulas():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((1, 3, 3, 2)), rng.standard_normal((1, 3, 3, 2))
    assert rel_error(content_loss(6e-2, a, b).numpy(), 6e-2 * np.sum((a - b) ** 2)) < 1e-12
    target = gram_matrix(tf.constant(b))
    got = style_loss([tf.constant(a)], [0], [target], [2.0]).numpy()
    ga = a.reshape(9, 2).T @ a.reshape(9, 2) / 18
    assert rel_error(got, 2.0 * np.sum((ga - target.numpy()) ** 2)) < 1e-12
