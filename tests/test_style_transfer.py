"""tfcs231n.style: known answers, argument errors, the config, the schedule, the loop."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfcs231n.style import backbones as style_backbones
from tfcs231n.style import presets
from tfcs231n.style import optimize as st
from tfcs231n.style import losses as style_losses
from tfcs231n.style import images as style_images

# ----------------------------------------------------------------------------- known answers


def _checkerboard(n, h, w, c):
    board = (np.indices((h, w)).sum(axis=0) % 2).astype(np.float64)  # 0/1 alternating
    return np.broadcast_to(board[None, :, :, None], (n, h, w, c)).copy()


@pytest.mark.parametrize("kind,expected", [
    # Every neighbour pair differs by exactly 1: (H-1)W vertical + H(W-1) horizontal pairs.
    ("squared_sum", 2 * 3 * ((5 - 1) * 7 + 5 * (7 - 1))),
    ("abs_sum", 2 * 3 * ((5 - 1) * 7 + 5 * (7 - 1))),
    ("abs_mean", 0.5 * (1.0 + 1.0)),  # pystiche's closed form for a checkerboard, halved (d2l)
])
def test_tv_of_a_checkerboard(kind, expected):
    actual = style_losses.tv_loss(tf.constant(_checkerboard(2, 5, 7, 3)), 1.0, kind)
    np.testing.assert_allclose(actual.numpy(), expected, rtol=1e-12)
    # Constant images have no variation; the weight scales linearly.
    assert style_losses.tv_loss(tf.ones((1, 4, 4, 3), tf.float64), 1.0, kind).numpy() == 0.0
    np.testing.assert_allclose(style_losses.tv_loss(tf.constant(_checkerboard(2, 5, 7, 3)), 0.25,
                                          kind).numpy(), 0.25 * expected, rtol=1e-12)


def test_gram_of_a_rank_one_feature_map():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 6)), rng.standard_normal(5)
    features = (a[:, :, None] * b[None, None, :])[None]  # F[h, w, c] = a[h, w] b[c]
    expected = (a ** 2).sum() * np.outer(b, b)  # sum_hw a^2 * b b^T
    gram = style_losses.gram_matrix(tf.constant(features), normalize=False).numpy()[0]
    np.testing.assert_allclose(gram, expected, rtol=1e-12)
    assert np.linalg.matrix_rank(gram) == 1
    np.testing.assert_allclose(style_losses.gram_matrix(tf.constant(features)).numpy()[0],
                               expected / (4 * 6 * 5), rtol=1e-12)
    np.testing.assert_allclose(style_losses.gram_matrix(tf.constant(features), "hw").numpy()[0],
                               expected / (4 * 6), rtol=1e-12)


def test_content_and_style_losses_closed_forms():
    x = tf.zeros((2, 3, 4, 5), tf.float64)
    # F - P = 2 everywhere: sum of squares 4 * 120, mean 4.
    assert style_losses.content_loss(0.5, x + 2, x).numpy() == pytest.approx(0.5 * 4 * 120)
    assert style_losses.content_loss(0.5, x + 2, x, "mean").numpy() == pytest.approx(0.5 * 4)
    ones = tf.ones((1, 2, 3, 4), tf.float64)
    gram = style_losses.gram_matrix(ones)  # all entries 6 / 24 = 0.25
    feats = {7: ones}
    assert style_losses.style_loss(feats, [7], [gram], [3.0]).numpy() == 0.0
    zero = tf.zeros_like(gram)
    assert style_losses.style_loss(feats, [7], [zero], [3.0]).numpy() == pytest.approx(3 * 16 * 0.25 ** 2)
    assert style_losses.style_loss(feats, [7], [zero], [3.0], "mean").numpy() == pytest.approx(3 * 0.0625)


# ----------------------------------------------------------------------------- errors


def test_argument_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"\bfeatures\b.*\(3, 4, 5\)"):
        style_losses.gram_matrix(tf.zeros((3, 4, 5)))
    with pytest.raises(ValueError, match=r"\bnormalize\b.*'hcw'"):
        style_losses.gram_matrix(tf.zeros((1, 3, 4, 5)), "hcw")
    with pytest.raises(ValueError, match=r"\bcontent_current\b.*\(1, 2, 2, 3\)"):
        style_losses.content_loss(1.0, tf.zeros((1, 2, 2, 3)), tf.zeros((1, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"\bstyle_weights\b.*\b2, 2 and 1\b"):
        style_losses.style_loss({0: None, 1: None}, [0, 1], [None, None], [1.0])
    with pytest.raises(ValueError, match=r"\bkind\b.*'l1'"):
        style_losses.tv_loss(tf.zeros((1, 2, 2, 3)), 1.0, "l1")
    with pytest.raises(ValueError, match=r"\bimg\b.*\(4, 4, 3\)"):
        style_losses.tv_loss(tf.zeros((4, 4, 3)), 1.0)
    with pytest.raises(ValueError, match=r"\breduction\b.*'median'"):
        style_losses.LossForm(reduction="median")


@pytest.mark.parametrize("field, value, message", [
    ("backbone", "vgg16", r"\bbackbone must be one of .*'vgg16'"),
    ("image_size", 0, r"\bimage_size must be a positive number of pixels or None, got 0"),
    ("style_size", 1.5, r"\bstyle_size\b.*got 1.5"),
    ("num_iterations", -1, r"\bnum_iterations must be an int >= 0, got -1"),
    ("scales", 0, r"\bscales must be an int >= 1, got 0"),
    ("snapshot_every", 2.0, r"\bsnapshot_every\b.*got 2.0"),
    ("content_layer", "conv4_2", r"\bcontent_layer\b.*'conv4_2'"),
    ("style_weights", (1.0, 2.0), r"\bstyle_weights\b.*style_layers has 4, style_weights 2"),
    ("style_weights", (1.0, -2.0, 1.0, 1.0), r"\bstyle_weights\[1\] .*>= 0, got -2.0"),
    ("tv_weight", float("nan"), r"\btv_weight\b.*nan"),
    ("content_weight", float("inf"), r"\bcontent_weight\b.*inf"),
    ("learning_rate", 0.0, r"\blearning_rate must be > 0, got 0.0"),
    ("beta_1", 1.0, r"\bbeta_1 must be in \[0, 1\), got 1.0"),
    ("optimizer", "sgd", r"\boptimizer\b.*'sgd'"),
    ("loss_form", "l1", r"\bloss_form\b.*'l1'"),
])
def test_style_config_names_the_bad_field_and_value(field, value, message):
    with pytest.raises(ValueError, match=message):
        st.StyleConfig(**{field: value})


def test_style_config_defaults_are_the_course_run_and_lists_become_tuples():
    course = st.StyleConfig()
    # The course's Composition VII run (TF notebook's SqueezeNet indices) and its schedule.
    assert (course.backbone, course.content_layer, course.style_layers, course.style_weights,
            course.content_weight, course.tv_weight, course.image_size, course.style_size) == (
        "squeezenet", 2, (0, 3, 5, 6), (20000, 500, 12, 1), 5e-2, 5e-2, 192, 512)
    assert (course.learning_rate, course.decayed_lr, course.decay_lr_at,
            course.num_iterations, course.optimizer) == (3.0, 0.1, 180, 200, "adam")
    config = st.StyleConfig(backbone="vgg16-hed", style_layers=[1, 6], style_weights=[1.0, 2.0])
    assert config.style_layers == (1, 6) and config.style_weights == (1.0, 2.0)
    hash(config)  # frozen and hashable: a config can key a cache
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.num_iterations = 5


# The course's params (its PyTorch notebook's starry-night run): SqueezeNet indices.
COURSE_PARAMS = dict(content_layer=3, style_layers=(1, 4, 6, 7), content_weight=6e-2,
                     style_weights=(300000, 1000, 15, 3), tv_weight=2e-2, image_size=192,
                     style_size=512)


def test_course_indices_are_refused_on_vgg16_hed():
    with pytest.raises(ValueError, match=r"content_layer=3, style_layers=\(1, 4, 6, 7\) .*"
                                         r"on the vgg16-hed backbone .*tfcs231n\.course"):
        st.StyleConfig(**COURSE_PARAMS, backbone="vgg16-hed")


def test_course_pytorch_indices_are_refused_on_squeezenet_where_they_are_one_off():
    with pytest.raises(ValueError, match=r"course's PyTorch SqueezeNet .*on the squeezenet "
                                         r"backbone .*tfcs231n\.course.*style_layers=\(0, 3, 5, 6\)"):
        st.StyleConfig(**COURSE_PARAMS)  # the default backbone, squeezenet


def test_course_tf_indices_are_refused_on_vgg_and_taken_on_their_own_backbone():
    tf_indices = dict(COURSE_PARAMS, content_layer=2, style_layers=(0, 3, 5, 6))
    with pytest.raises(ValueError, match=r"course's TensorFlow SqueezeNet .*on the vgg19 "
                                         r"backbone .*backbone='squeezenet'"):
        st.StyleConfig(**tf_indices, backbone="vgg19")
    assert st.StyleConfig(**tf_indices).style_layers == (0, 3, 5, 6)  # native squeezenet's


def test_course_positional_call_is_a_type_error_pointing_to_the_course():
    content = style = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(TypeError, match=r"got 7 settings after the two images.*"
                                        r"tfcs231n\.course\.style_transfer_tensorflow"):
        st.style_transfer(content, style, 192, 512, 3, 6e-2, (1, 4, 6, 7),
                          (300000, 1000, 15, 3), 2e-2)


def test_course_keyword_call_is_a_type_error_pointing_to_the_course():
    params = dict(COURSE_PARAMS, content_image="styles/tubingen.jpg",
                  style_image="styles/starry_night.jpg")
    with pytest.raises(TypeError, match=r"keyword arguments \['content_layer', .*\].*"
                                        r"tfcs231n\.course"):
        st.style_transfer(**params)
    with pytest.raises(TypeError, match=r"config=\{'content_layer': 3.*tfcs231n\.course"):
        st.style_transfer("a.jpg", "b.jpg", {"content_layer": 3})


def test_squeezenet_without_weights_is_refused_not_run_on_random_weights():
    content = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(ValueError, match=r"squeezenet backbone needs weights"):
        st.style_transfer(content, content, st.StyleConfig(image_size=64, style_size=64))


@pytest.fixture(scope="module")
def hed():
    return style_backbones.vgg16_hed()


@pytest.mark.parametrize("layers", [[0], [3], [4], [9], [22], [23], [25, 3], [29]])
def test_min_size_is_the_smallest_image_that_reaches_the_layers(hed, layers):
    side = hed.min_size(layers)
    assert [f.shape[1] for f in hed.features(tf.zeros((1, side, side + 3, 3)), layers)]
    with pytest.raises(Exception):  # a pool with nothing to pool: TF or Keras errors
        hed.features(tf.zeros((1, side - 1, side + 3, 3)), layers)


def test_squeezenet_min_size_is_its_input_check():
    squeeze = style_backbones.squeezenet()
    side = squeeze.min_size([0])
    assert squeeze.min_size([11]) == side and squeeze.features(tf.zeros((1, side, side, 3)), [11])
    with pytest.raises(ValueError, match=rf"\b{side}x{side}\b.*\b{side - 1}x{side}\b"):
        squeeze.features(tf.zeros((1, side - 1, side, 3)), [11])


def test_images_too_small_for_the_layers_are_refused_up_front(hed):
    def run(content_hw, style_hw=(40, 40), style_layers=(3, 25), **kwargs):
        settings = dict(backbone=hed, image_size=None, style_size=None, content_layer=22,
                        content_weight=1.0, style_layers=style_layers,
                        style_weights=[1.0] * len(style_layers), tv_weight=0.0,
                        num_iterations=1)
        config = st.StyleConfig(**{**settings, **kwargs})
        st.style_transfer(np.zeros((*content_hw, 3), np.uint8), np.zeros((*style_hw, 3),
                          np.uint8), config)

    with pytest.raises(ValueError, match=r"\bcontent\b.*\b12\b.*\bvgg16-hed\b.*\b16\b"):
        run((12, 20))
    with pytest.raises(ValueError, match=r"\b8\b.*\b2\b.*\bscales\b.*\b16\b"):
        run((16, 24), scales=2)
    with pytest.raises(ValueError, match=r"\bstyle\b.*\b8\b"):
        run((64, 64), style_hw=(8, 30))
    with pytest.raises(ValueError, match=r"\bimage_size must be a positive .*got 0"):
        run((64, 64), image_size=0)
    with pytest.raises(ValueError, match=r"^style layer\b.*\b31\b"):  # named, as below
        run((8, 8), style_layers=(3, 31))


def test_layer_errors_and_mismatched_lengths(hed):
    image = tf.zeros((1, 32, 32, 3))
    with pytest.raises(ValueError, match=r"\bcontent_layer\b.*\b31\b.*\bvgg16-hed\b.*\b30\b"):
        style_losses.StyleLosses(hed, image, image, 31, 1.0, (1,), (1.0,), 0.0)
    with pytest.raises(ValueError, match=r"\bstyle layer\b.*-1\b"):
        style_losses.StyleLosses(hed, image, image, 3, 1.0, (1, -1), (1.0, 1.0), 0.0)
    with pytest.raises(ValueError, match=r"\bstyle_layers\b.*\bstyle_weights\b.*\b2 and 3\b"):
        style_losses.StyleLosses(hed, image, image, 3, 1.0, (1, 6), (1.0, 1.0, 1.0), 0.0)


def test_load_image_converts_grayscale_and_rgba_and_rejects_non_images(tmp_path):
    gray = np.arange(40 * 60, dtype=np.uint8).reshape(40, 60)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    rgba = np.zeros((30, 20, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 255
    rgba[0, 0, 3] = 0  # one transparent pixel: composited on white
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    (tmp_path / "notes.png").write_text("not an image")

    g = style_images.load_image(tmp_path / "gray.png")
    assert g.shape == (40, 60, 3) and g.dtype == np.uint8
    np.testing.assert_array_equal(g[..., 0], gray)
    np.testing.assert_array_equal(g[..., 2], gray)
    r = style_images.load_image(tmp_path / "rgba.png")
    assert r.shape == (30, 20, 3)
    assert tuple(r[1, 1]) == (200, 0, 0) and tuple(r[0, 0]) == (255, 255, 255)
    assert style_images.load_image(tmp_path / "gray.png", size=20).shape == (20, 30, 3)  # shorter side
    with pytest.raises(ValueError, match=r"\bnotes\.png\b"):
        style_images.load_image(tmp_path / "notes.png")
    with pytest.raises(ValueError, match=r"\bmissing\.png\b"):
        style_images.load_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match=r"\(4, 4, 2\)"):
        style_images.load_image(np.zeros((4, 4, 2)))
    broken = np.full((4, 4, 3), 0.5)
    broken[1, 2, 0], broken[3, 3, 1] = np.nan, np.inf  # would come out as black pixels
    with pytest.raises(ValueError, match=r"\bimage\b.*\b2\b.*\bNaN\b"):
        style_images.load_image(broken)


@pytest.mark.parametrize("mask, message", [
    (np.ones((4, 4, 1)), r"\bstyle_mask\b.*\(4, 4, 1\)"),
    (np.full((4, 4), 2.0), r"\bstyle_mask\b.*\b2\.0\b"),
    (np.array([[0.5, np.nan]]), r"\bstyle_mask\b.*\b1 NaN\b")])
def test_a_bad_style_mask_is_refused_before_any_work(mask, message):
    with pytest.raises(ValueError, match=message):  # no backbone built: it would need weights
        st.style_transfer(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)), st.StyleConfig(
            backbone="vgg19", image_size=8, style_size=8, content_layer=0, style_layers=(1,),
            style_weights=(1.0,), tv_weight=0.0), style_mask=mask)


# ----------------------------------------------------------------------------- schedule, loop


class Quadratic:
    """losses(image) = sum(image^2) under the three names: a stand-in backbone."""

    def __call__(self, image):
        value = tf.reduce_sum(tf.square(image))
        zero = tf.zeros_like(value)
        return {"content": value, "style": zero, "tv": zero, "total": value}


def test_learning_rate_really_decays_at_the_boundary():
    # The course's TF notebook evaluates its schedule once, so its rate never drops.
    schedule = st.StepDecay(3.0, 0.1, 180)
    assert float(schedule(tf.constant(179))) == 3.0
    assert float(schedule(tf.constant(180))) == pytest.approx(0.1)
    # With a gradient of constant sign, each Adam step moves by about the current rate.
    image = tf.Variable(np.full((1, 2, 2, 3), 1e3, np.float64))
    steps = []

    def snap(step, value):
        steps.append(value.copy())

    config = st.StyleConfig(learning_rate=3.0, decayed_lr=0.1, decay_lr_at=4, num_iterations=8,
                            snapshot_every=1)
    st.optimize(Quadratic(), image, config, on_snapshot=snap)
    moves = -np.diff([1e3] + [s[0, 0, 0, 0] for s in steps])
    # Not exactly lr: the gradient 2x shrinks a little as x falls, and Adam averages it.
    np.testing.assert_allclose(moves[:4], 3.0, rtol=1e-2)
    np.testing.assert_allclose(moves[4:], 0.1, rtol=1e-2)


def test_clip_snapshots_and_ctrl_c_keep_the_latest_image():
    image = tf.Variable(np.full((1, 2, 2, 3), 1.0, np.float32))
    seen = []

    def snap(step, value):
        seen.append((step, value.copy()))
        if step == 3:
            raise KeyboardInterrupt

    config = st.StyleConfig(learning_rate=0.4, decayed_lr=0.4, decay_lr_at=0, num_iterations=50,
                            snapshot_every=1)
    history, steps, interrupted = st.optimize(Quadratic(), image, config, clip=(0.5, 2.0),
                                              on_snapshot=snap)
    assert interrupted and steps == 3 and len(history["total"]) == 3
    np.testing.assert_array_equal(image.numpy(), seen[-1][1])  # the variable kept step 3
    assert image.numpy().min() == 0.5  # clipped at the lower bound


def test_lbfgs_minimises_within_bounds():
    image = tf.Variable(np.full((1, 3, 3, 3), 2.0, np.float64))
    config = st.StyleConfig(num_iterations=20, optimizer="lbfgs")
    history, steps, _ = st.optimize(Quadratic(), image, config, clip=(0.25, 3.0))
    np.testing.assert_allclose(image.numpy(), 0.25)  # the bound, not the unconstrained 0
    assert 0 < steps <= 20 and len(history["total"]) == steps
    assert history["total"][0] == pytest.approx(27 * 2.0 ** 2)  # losses before iteration 0


def test_progress_shows_the_three_losses_in_plain_lines_in_a_log(capsys):
    image = tf.Variable(np.full((1, 2, 2, 3), 1.0, np.float32))
    history, _, _ = st.optimize(Quadratic(), image, st.StyleConfig(num_iterations=3),
                                progress=True)
    captured = capsys.readouterr()
    assert "\r" not in captured.out and "\x1b" not in captured.out  # not a terminal here
    # The last line shows the last step's losses, not their running mean (stateful metrics).
    last = captured.out.strip().splitlines()[-1]
    shown = dict(part.split() for part in last.split(", ")[2:])
    assert last.startswith("3/3") and float(shown["content"]) == pytest.approx(
        history["content"][-1], rel=1e-3)
    assert shown["style"] == "0" and shown["tv"] == "0" and captured.err == ""
    st.optimize(Quadratic(), image, st.StyleConfig(num_iterations=3))
    assert capsys.readouterr().out == ""


def test_content_pyramid_halves_each_level_and_ends_at_the_image_itself():
    pixels = np.random.default_rng(0).integers(0, 256, (33, 50, 3)).astype(np.uint8)
    levels = style_images.content_pyramid(pixels, 3)
    assert [level.shape[:2] for level in levels] == [(8, 12), (16, 25), (33, 50)]
    assert levels[-1] is pixels and levels[0].dtype == np.float32
    assert style_images.content_pyramid(pixels, 1) == [pixels]


def test_style_mask_takes_style_statistics_only_where_it_is_on(hed):
    rng = np.random.default_rng(2)
    content, style = (tf.constant(rng.uniform(0, 1, (1, 32, 40, 3)).astype(np.float32))
                      for _ in range(2))
    args = (hed, content, style, 27, 0.0, (1, 6), (1.0, 1.0), 0.0, "tf-tutorial")
    off = style_losses.StyleLosses(*args, style_mask=np.zeros((32, 40)))
    on = style_losses.StyleLosses(*args, style_mask=np.ones((32, 40)))
    plain = style_losses.StyleLosses(*args)
    # Masked out, the image's Grams are 0: the loss is the targets' mean square.
    expected = sum(float(tf.reduce_mean(tf.square(t))) for t in off.style_targets)
    np.testing.assert_allclose(float(off(content)["style"]), expected, rtol=1e-5)
    np.testing.assert_allclose(float(on(content)["style"]), float(plain(content)["style"]),
                               rtol=1e-6)
    assert float(plain(style)["style"]) < 1e-6 * float(plain(content)["style"])


def test_style_transfer_runs_and_reduces_the_style_loss(hed):
    rng = np.random.default_rng(0)
    content = style_images.sample_image("chelsea")
    style = (rng.uniform(0, 255, (48, 48, 3))).astype(np.uint8)
    config = dataclasses.replace(presets.PRESETS["hed"].config, backbone=hed, image_size=32,
                                 style_size=32, num_iterations=6)
    result = st.style_transfer(content, style, config)
    again = st.style_transfer(content, style, config)
    assert result.pixels.shape == (32, 48, 3) and result.pixels.dtype == np.uint8
    assert result.steps == 6 and len(result.history["style"]) == 6
    assert result.history["content"][0] == 0.0  # starts at the content image
    assert result.history["style"][-1] < result.history["style"][0]
    np.testing.assert_array_equal(result.pixels, again.pixels)  # deterministic
    # Feature inversion (style weights 0, random start) and texture synthesis (content 0).
    inv = st.style_transfer(content, style, dataclasses.replace(
        config, style_weights=(0.0,) * 5, init_random=True))
    assert inv.history["style"][0] == 0.0 and inv.history["content"][-1] < inv.history["content"][0]
    tex = st.style_transfer(content, style, dataclasses.replace(
        config, content_weight=0.0, init_random=True, scales=2))
    assert tex.steps == 12 and tex.pixels.shape == (32, 48, 3)
    assert max(tex.history["content"]) == 0.0
    kept = st.style_transfer(content, style, dataclasses.replace(config, preserve_colors=True))
    assert kept.pixels.shape == (32, 48, 3)


def test_preserve_color_keeps_luminance_of_the_stylised_and_colour_of_the_content():
    rng = np.random.default_rng(1)
    stylised = rng.integers(60, 190, (8, 9, 3)).astype(np.uint8)  # stays in gamut below
    content = np.full((8, 9, 3), (140, 100, 100), np.uint8)
    out = style_images.preserve_color(stylised, content).astype(np.float64)
    luma = np.array([0.299, 0.587, 0.114])
    np.testing.assert_allclose(out @ luma, stylised @ luma, atol=0.5)  # rounding to uint8
    np.testing.assert_array_equal(style_images.preserve_color(content, content), content)


# ----------------------------------------------------------------------------- weight files


def test_vgg19_weights_read_from_keras_h5_and_torchvision_pth_alike(tmp_path):
    import h5py
    import torch

    from tfcs231n.interop import conv_keras_to_torch

    rng = np.random.default_rng(4)
    cfg = style_backbones.VGG_CFGS["vgg19"]
    channels = [3] + [v for v in cfg if v != "M"]
    pairs = [(rng.standard_normal((3, 3, i, o)).astype(np.float32) * 0.05,
              rng.standard_normal(o).astype(np.float32)) for i, o in zip(channels, channels[1:])]
    names = [f"block{b}_conv{c}" for b, n in zip(range(1, 6), (2, 2, 4, 4, 4))
             for c in range(1, n + 1)]
    # keras.applications' legacy layout: one group per layer naming its weights.
    with h5py.File(tmp_path / "vgg19_notop.h5", "w") as f:
        f.attrs["layer_names"] = [n.encode() for n in ["input_1", *names]]
        for name, (kernel, bias) in zip(names, pairs):
            g = f.create_group(name)
            g.attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            g[f"{name}/kernel:0"], g[f"{name}/bias:0"] = kernel, bias
    indices = style_backbones.vgg_conv_indices(cfg)
    state = {}
    for i, (kernel, bias) in zip(indices, pairs):
        state[f"features.{i}.weight"] = torch.from_numpy(conv_keras_to_torch(kernel))
        state[f"features.{i}.bias"] = torch.from_numpy(bias)
    torch.save(state, tmp_path / "vgg19.pth")

    from_h5 = style_backbones.vgg19(tmp_path / "vgg19_notop.h5")
    backbone = style_backbones.vgg19(tmp_path / "vgg19.pth")
    assert (from_h5.transform, backbone.transform) == ("caffe", "torch")
    assert indices[:6] == [0, 2, 5, 7, 10, 12] and indices[-1] == 34
    for i, (k, b) in zip(indices, pairs):
        for loaded in (from_h5, backbone):
            kernel, bias = loaded.model.get_layer(f"features_{i}").get_weights()
            np.testing.assert_array_equal(kernel, k)
            np.testing.assert_array_equal(bias, b)
    assert backbone.num_layers == 37 and backbone.transform == "torch"
    maps = backbone.features(tf.zeros((1, 32, 32, 3)), (0, 5, 10, 19, 28, 25))
    assert [tuple(m.shape) for m in maps] == [(1, 32, 32, 64), (1, 16, 16, 128),
                                              (1, 8, 8, 256), (1, 4, 4, 512),
                                              (1, 2, 2, 512), (1, 4, 4, 512)]


def test_hed_weights_are_the_bundled_trained_vgg16_convolutions():
    pairs = style_backbones.read_hed_weights()
    assert len(pairs) == 13 and pairs[0][0].shape == (3, 3, 3, 64)
    assert pairs[-1][0].shape == (3, 3, 512, 512)
    # Trained, not freshly initialised: Keras initialises biases to 0, these are not.
    assert all(np.abs(b).max() > 0.01 for _, b in pairs)
    model = style_backbones.vgg16_hed().model
    assert model.count_params() == 14_714_688  # VGG-16 without its classifier


# ----------------------------------------------------------------------------- presets

COURSE_IMAGES = style_images.course_images_dir()


@pytest.mark.skipif(COURSE_IMAGES is None, reason="the course's images are not on this machine")
@pytest.mark.parametrize("preset", ["course-composition-vii", "course-the-scream",
                                    "course-starry-night", "course-feature-inversion"])
def test_course_presets_run_on_the_course_images(preset):
    # Real SqueezeNet weights cannot be downloaded here: random ones check the wiring
    # (layer indices, weights per layer, schedule, clip), not the picture.
    from torchref.squeezenet import random_state_dict

    result = presets.run_preset(preset, image_size=48, style_size=48,
                                weights=random_state_dict(), num_iterations=3)
    assert result.steps == 3 and result.pixels.shape[0] == 48
    assert result.image.min() >= -1.5 and result.image.max() <= 1.5  # the course's clip
    if preset == "course-feature-inversion":
        assert max(result.history["style"]) == 0.0 and result.history["content"][0] > 0
    else:
        assert result.history["content"][0] == 0.0 and result.history["style"][0] > 0


def test_every_preset_names_valid_layers_and_one_weight_per_style_layer():
    sizes = {"squeezenet": 12, "vgg19": 37, "vgg16-hed": 31}
    for name, preset in presets.PRESETS.items():
        config = preset.config
        assert len(config.style_layers) == len(config.style_weights), name
        layers = (config.content_layer, *config.style_layers)
        assert all(0 <= i < sizes[config.backbone] for i in layers), name
    # Style conv1_1 .. conv5_1 of VGG-19; content conv4_2 (Gatys) and conv4_4 (d2l).
    convs = style_backbones.vgg_conv_indices(style_backbones.VGG_CFGS["vgg19"])
    firsts = [convs[i] for i in (0, 2, 4, 8, 12)]  # 2, 2, 4, 4, 4 convs per block
    for name in ("gatys", "d2l"):
        assert list(presets.PRESETS[name].config.style_layers) == firsts == [0, 5, 10, 19, 28]
    assert presets.PRESETS["gatys"].config.content_layer == convs[9] == 21  # conv4_2
    assert presets.PRESETS["d2l"].config.content_layer == convs[11] == 25  # conv4_4
