"""tfcs231n.visualization.saliency against the PyTorch/NumPy reference, and known answers.

A small conv net (conv 3x3 -> act -> conv 3x3 -> act -> global mean -> dense) is built in
PyTorch and in Keras with the same weights; every size differs (N=2, C=3, H=6, W=8,
5 and 7 filters, 4 classes), so a transposed axis cannot pass.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch

import torchref.visualization as ref
import tfcs231n.visualization.attribution as attr
import tfcs231n.visualization.saliency as vis
from tfcs231n.parity.engine import TOLERANCES, ParityReport, compare_arrays
from tfcs231n.interop import conv_torch_to_keras, dense_torch_to_keras, nchw_to_nhwc, nhwc_to_nchw

N, C, H, W, F1, F2, K = 2, 3, 6, 8, 5, 7, 4
DTYPES = ["float64", "float32"]
TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}
STEPS = 5


def _weights(seed=231):
    rng = np.random.default_rng(seed)
    return {
        "conv1_w": 0.5 * rng.standard_normal((F1, C, 3, 3)),
        "conv1_b": 0.1 * rng.standard_normal(F1),
        "conv2_w": 0.3 * rng.standard_normal((F2, F1, 3, 3)),
        "conv2_b": 0.1 * rng.standard_normal(F2),
        "fc_w": rng.standard_normal((K, F2)), "fc_b": 0.1 * rng.standard_normal(K),
    }


class TorchNet(torch.nn.Module):
    def __init__(self, weights, dtype, act=torch.relu):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(C, F1, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(F1, F2, 3, padding=1)
        self.fc = torch.nn.Linear(F2, K)
        self.act = act
        self.to(TORCH_DTYPES[dtype])  # before copying, so float64 weights are not rounded
        with torch.no_grad():
            for name in ("conv1", "conv2", "fc"):
                getattr(self, name).weight.copy_(torch.from_numpy(weights[f"{name}_w"]))
                getattr(self, name).bias.copy_(torch.from_numpy(weights[f"{name}_b"]))
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, x):
        x = self.act(self.conv2(self.act(self.conv1(x))))
        return self.fc(x.mean(dim=(2, 3)))


def keras_layers(weights, dtype, act="relu"):
    """The Keras twin's layers, weights copied from the PyTorch layout."""
    conv1 = keras.layers.Conv2D(F1, 3, padding="same", activation=act, dtype=dtype, name="conv1")
    conv2 = keras.layers.Conv2D(F2, 3, padding="same", activation=act, dtype=dtype, name="conv2")
    pool = keras.layers.GlobalAveragePooling2D(dtype=dtype, name="pool")
    fc = keras.layers.Dense(K, dtype=dtype, name="fc")
    for layer, shape in ((conv1, (None, None, None, C)), (conv2, (None, None, None, F1)),
                         (fc, (None, F2))):
        layer.build(shape)
    conv1.set_weights([conv_torch_to_keras(weights["conv1_w"]), weights["conv1_b"]])
    conv2.set_weights([conv_torch_to_keras(weights["conv2_w"]), weights["conv2_b"]])
    fc.set_weights([dense_torch_to_keras(weights["fc_w"]), weights["fc_b"]])
    return conv1, conv2, pool, fc


def keras_net(weights, dtype, act="relu"):
    inputs = keras.Input((None, None, C), dtype=dtype)
    model = keras.Sequential([inputs, *keras_layers(weights, dtype, act)])
    model.trainable = False
    return model


@pytest.fixture(scope="module")
def nets():
    weights = _weights()
    return {d: (keras_net(weights, d), TorchNet(weights, d)) for d in DTYPES}


def _images(seed, shape=(N, H, W, C)):
    return np.random.default_rng(seed).standard_normal(shape)


def _assert_rows(name, dtype, rows):
    report = ParityReport(name, dtype, rows)
    assert report.ok, "\n" + str(report)


# ----------------------------------------------------------------------------- parity


@pytest.mark.parametrize("dtype", DTYPES)
def test_saliency_matches_reference(nets, dtype):
    model, torch_model = nets[dtype]
    X = _images(0).astype(dtype)
    y = np.array([2, 0])
    actual = vis.compute_saliency_maps(X, y, model).numpy()
    desired = ref.compute_saliency_maps(
        torch.from_numpy(nhwc_to_nchw(X)), torch.from_numpy(y), torch_model
    ).numpy()
    _assert_rows("saliency", dtype,
                 [compare_arrays("saliency", actual, desired, TOLERANCES[dtype])])


@pytest.mark.parametrize("dtype", DTYPES)
def test_fooling_steps_match_reference_step_for_step(nets, dtype):
    model, torch_model = nets[dtype]
    X = _images(1, (1, H, W, C)).astype(dtype)
    target = 3
    X_tf, X_torch = tf.constant(X), torch.from_numpy(nhwc_to_nchw(X)).requires_grad_()
    rows = []
    for step in range(STEPS):
        X_tf = vis.fooling_step(X_tf, target, model, learning_rate=0.5)
        ref.fooling_step(X_torch, target, torch_model, learning_rate=0.5)
        rows.append(compare_arrays(f"X after step {step + 1}", X_tf.numpy(),
                                   nchw_to_nhwc(X_torch.detach().numpy()), TOLERANCES[dtype]))
    assert not np.allclose(X_tf.numpy(), X)  # the steps moved the image
    _assert_rows("fooling", dtype, rows)


@pytest.mark.parametrize("dtype", DTYPES)
def test_class_visualization_steps_match_reference_step_for_step(nets, dtype):
    model, torch_model = nets[dtype]
    X = _images(2, (1, H, W, C)).astype(dtype)
    X_tf, X_torch = tf.constant(X), torch.from_numpy(nhwc_to_nchw(X)).requires_grad_()
    rows = []
    for step in range(STEPS):
        X_tf = vis.class_visualization_update_step(X_tf, model, 1, l2_reg=0.05, learning_rate=0.7)
        ref.class_visualization_update_step(X_torch, torch_model, 1, l2_reg=0.05, learning_rate=0.7)
        rows.append(compare_arrays(f"X after step {step + 1}", X_tf.numpy(),
                                   nchw_to_nhwc(X_torch.detach().numpy()), TOLERANCES[dtype]))
    _assert_rows("class_visualization", dtype, rows)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sigma", [0.5, 1, 2.3])  # radius 2, 4 and 9 (> H: keeps reflecting)
def test_blur_matches_numpy_reference(dtype, sigma):
    X = _images(3).astype(dtype)
    actual = vis.blur_image(X, sigma).numpy()
    desired = ref.blur_image(torch.from_numpy(nhwc_to_nchw(X)), sigma).numpy()
    _assert_rows(f"blur sigma={sigma}", dtype,
                 [compare_arrays("blurred", actual, nchw_to_nhwc(desired), TOLERANCES[dtype])])


@pytest.mark.parametrize("ox, oy", [(0, 0), (3, 0), (0, 2), (3, 2), (-5, -1), (7, 5)])
def test_jitter_matches_course_jitter_and_undoes(ox, oy):
    X = _images(4)
    actual = vis.jitter(X, ox, oy).numpy()
    desired = nchw_to_nhwc(ref.jitter(torch.from_numpy(nhwc_to_nchw(X)), ox, oy).numpy())
    np.testing.assert_array_equal(actual, desired)
    np.testing.assert_array_equal(vis.jitter(actual, -ox, -oy).numpy(), X)


# ----------------------------------------------------------------------------- blur known answers


@pytest.mark.parametrize("sigma", [0.5, 0.9, 1, 2.3])  # 0.9: radius 4, where int(4 sigma) is 3
def test_kernel_is_scipys_gaussian_filter1d_weights(sigma):
    radius = int(4.0 * sigma + 0.5)  # scipy: truncate=4.0
    x = np.arange(-radius, radius + 1)
    desired = np.exp(-(x**2) / (2 * sigma**2))
    desired /= desired.sum()
    np.testing.assert_allclose(vis.gaussian_kernel1d(sigma), desired, rtol=1e-14, atol=0)
    # The impulse response of the 2-D blur is the outer product of the 1-D weights.
    size = 2 * radius + 7
    delta = np.zeros((1, size, size, 1))
    delta[0, size // 2, size // 2, 0] = 1
    out = vis.blur_image(delta, sigma).numpy()[0, :, :, 0]
    centre = slice(size // 2 - radius, size // 2 + radius + 1)
    np.testing.assert_allclose(out[centre, centre], np.outer(desired, desired),
                               rtol=1e-12, atol=1e-15)
    assert out.sum() == pytest.approx(1.0, abs=1e-12)  # away from borders, mass is kept


def test_blur_of_constant_image_is_the_constant():
    X = np.full((2, 5, 7, 3), 0.37)
    np.testing.assert_allclose(vis.blur_image(X, 1).numpy(), X, rtol=1e-14)


def test_blur_boundary_is_half_sample_reflect():
    # 'reflect' maps index -1 to 0, -2 to 1, ...: a delta in the corner gets back w0 + w1 on
    # each axis; 'mirror' (-1 -> 1) would give w0 and 'constant' w0 alone too.
    w = vis.gaussian_kernel1d(1)[4:]  # w0, w1, ... (radius 4)
    X = np.zeros((1, 9, 10, 1))
    X[0, 0, 0, 0] = 1
    out = vis.blur_image(X, 1).numpy()[0, :, :, 0]
    assert out[0, 0] == pytest.approx((w[0] + w[1]) ** 2, rel=1e-12)
    assert out[0, 1] == pytest.approx((w[0] + w[1]) * (w[1] + w[2]), rel=1e-12)


# ----------------------------------------------------------------------------- course behaviour


def test_saliency_of_a_linear_model_is_max_abs_weight():
    weights = np.random.default_rng(5).standard_normal((H * W * C, K))
    model = lambda X: tf.reshape(X, (X.shape[0], -1)) @ weights  # noqa: E731
    y = np.array([3, 1])
    actual = vis.compute_saliency_maps(_images(6), y, model).numpy()
    desired = np.abs(weights.T[y].reshape(N, H, W, C)).max(-1)
    np.testing.assert_allclose(actual, desired, rtol=1e-14)


def test_make_fooling_image_fools_and_counts_steps(nets):
    model, _ = nets["float64"]
    X = _images(7, (1, H, W, C))
    target = 1  # this net predicts class 2 for X; class 1 is reachable in a few steps
    assert int(np.argmax(model(X)[0])) != target
    X_fooling, steps = vis.make_fooling_image(X, target, model, learning_rate=1)
    assert int(np.argmax(model(X_fooling)[0])) == target and steps >= 1
    replay = tf.constant(X)
    for _ in range(steps):
        replay = vis.fooling_step(replay, target, model, learning_rate=1)
    np.testing.assert_allclose(X_fooling.numpy(), replay.numpy(), rtol=1e-12)
    # An image already classified as the target takes no step.
    already, zero = vis.make_fooling_image(X, int(np.argmax(model(X)[0])), model)
    assert zero == 0
    np.testing.assert_array_equal(already.numpy(), X)


def test_make_fooling_image_raises_when_not_fooled(nets):
    model, _ = nets["float64"]
    X = _images(7, (1, H, W, C))
    target = 1
    with pytest.raises(vis.FoolingFailed,
                       match=rf"\btarget_y\b.*\b{target}\b.*\bmax_iters\b.*\b2\b") as info:
        vis.make_fooling_image(X, target, model, learning_rate=1e-6, max_iters=2)
    assert isinstance(info.value, RuntimeError) and info.value.X_last.shape == (1, H, W, C)


def test_create_class_visualization_is_seeded_and_clamped(nets):
    model, _ = nets["float32"]
    shown = []
    kwargs = dict(image_size=(9, 11), num_iterations=4, blur_every=2, max_jitter=3,
                  learning_rate=50.0)
    first = vis.create_class_visualization(2, model, show_every=2, seed=3,
                                           callback=lambda t, X: shown.append(t), **kwargs)
    again = vis.create_class_visualization(2, model, seed=3, **kwargs)
    other = vis.create_class_visualization(2, model, seed=4, **kwargs)
    assert first.shape == (1, 9, 11, 3) and first.dtype == tf.float32
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert not np.allclose(first.numpy(), other.numpy())
    assert shown == [0, 1, 3]  # the course's display points: t == 0, (t+1) % 2 == 0, last
    lo = -vis.SQUEEZENET_MEAN / vis.SQUEEZENET_STD
    hi = (1 - vis.SQUEEZENET_MEAN) / vis.SQUEEZENET_STD
    image = first.numpy()[0]
    assert np.all(image >= lo - 1e-6) and np.all(image <= hi + 1e-6)
    # The last iteration (t=3) is not blurred, so the clamp leaves pixels on the bounds.
    assert np.mean(np.isclose(image, lo) | np.isclose(image, hi)) > 0.05


# ----------------------------------------------------------------------------- beyond the course


def test_input_gradient_is_the_signed_gradient_behind_the_saliency_map():
    model = keras_net(_weights(), "float64", act="tanh")  # smooth, for finite differences
    X, y = _images(8), np.array([0, 3])
    grad = attr.input_gradient(X, y, model).numpy()
    assert grad.shape == X.shape
    np.testing.assert_array_equal(np.abs(grad).max(-1),
                                  vis.compute_saliency_maps(X, y, model).numpy())
    eps = 1e-6
    for n, i, j, c in [(0, 0, 0, 0), (1, 3, 2, 1), (0, H - 1, W - 1, C - 1)]:
        bump = np.zeros_like(X)
        bump[n, i, j, c] = eps
        score = lambda x: model(x).numpy()[n, y[n]]
        numeric = (score(X + bump) - score(X - bump)) / (2 * eps)
        assert abs(numeric - grad[n, i, j, c]) <= 1e-7 * max(1.0, abs(numeric))
    with pytest.raises(ValueError):
        attr.input_gradient(X, np.array([0]), model)


def test_smoothgrad_is_seeded_and_reduces_to_saliency():
    model = keras_net(_weights(), "float64")
    X, y = _images(8), np.array([0, 3])
    a = attr.smoothgrad(X, y, model, n_samples=4, seed=1).numpy()
    np.testing.assert_array_equal(a, attr.smoothgrad(X, y, model, n_samples=4, seed=1).numpy())
    assert not np.allclose(a, attr.smoothgrad(X, y, model, n_samples=4, seed=2).numpy())
    # By definition: noise of std noise_level * (max - min) of each image, from the seed.
    X = X * np.array([10.0, 0.1])[:, None, None, None]  # very different spreads
    rng = np.random.default_rng(5)
    spread = X.max(axis=(1, 2, 3), keepdims=True) - X.min(axis=(1, 2, 3), keepdims=True)
    noisy = [X + 0.2 * spread * rng.standard_normal(X.shape) for _ in range(3)]
    desired = np.mean([vis.compute_saliency_maps(x, y, model) for x in noisy], axis=0)
    actual = attr.smoothgrad(X, y, model, n_samples=3, noise_level=0.2, seed=5).numpy()
    np.testing.assert_allclose(actual, desired, rtol=1e-12)
    # Without noise every copy is X itself.
    np.testing.assert_allclose(attr.smoothgrad(X, y, model, n_samples=3, noise_level=0).numpy(),
                               vis.compute_saliency_maps(X, y, model).numpy(), rtol=1e-13)


def test_integrated_gradients_completeness_on_a_smooth_model():
    model = keras_net(_weights(), "float64", act="tanh")
    X, y = _images(9), np.array([1, 2])
    result = attr.integrated_gradients(X, y, model, steps=200)
    assert result.map.shape == (N, H, W) and result.attributions.shape == (N, H, W, C)
    assert np.all(result.completeness_error().numpy() < 1e-3), result.completeness_error()
    baseline = 0.3 * _images(10, (H, W, C))
    with_baseline = attr.integrated_gradients(X, y, model, baseline=baseline, steps=200)
    rows = np.arange(N), y
    scores = model(X).numpy()[rows] - model(np.broadcast_to(baseline, X.shape)).numpy()[rows]
    np.testing.assert_allclose(with_baseline.score_difference.numpy(), scores, rtol=1e-12)
    np.testing.assert_allclose(tf.reduce_sum(with_baseline.map, (1, 2)).numpy(), scores, rtol=1e-3)


def test_integrated_gradients_of_a_linear_model_is_exact():
    weights = np.random.default_rng(11).standard_normal((H * W * C, K))
    model = lambda X: tf.reshape(X, (X.shape[0], -1)) @ weights  # noqa: E731
    X, y = _images(12), np.array([0, 2])
    result = attr.integrated_gradients(X, y, model, steps=3)
    desired = X * weights.T[y].reshape(N, H, W, C)
    np.testing.assert_allclose(result.attributions.numpy(), desired, rtol=1e-12)


def _grad_cam_models(dtype="float64"):
    """The same layers as a flat model, nested in a Sequential, and nested in a functional."""
    conv1, conv2, pool, fc = keras_layers(_weights(), dtype)
    scale = keras.layers.Rescaling(0.5, dtype=dtype, name="scale")
    inputs = keras.Input((H, W, C), dtype=dtype)
    flat = keras.Model(inputs, fc(pool(conv2(conv1(scale(inputs))))), name="flat")

    backbone_in = keras.Input((H, W, C), dtype=dtype)
    backbone = keras.Model(backbone_in, conv2(conv1(backbone_in)), name="backbone")
    head_in = keras.Input((H, W, F2), dtype=dtype)
    head = keras.Model(head_in, fc(pool(head_in)), name="head")
    sequential = keras.Sequential([inputs, scale, backbone, head], name="sequential")
    outer_in = keras.Input((H, W, C), dtype=dtype)
    functional = keras.Model(outer_in, head(backbone(scale(outer_in))), name="functional")
    return flat, sequential, functional, conv2


def test_grad_cam_on_nested_models_equals_flat_model():
    flat, sequential, functional, conv2 = _grad_cam_models()
    X, y = _images(13), np.array([3, 0])
    desired = attr.grad_cam(X, y, flat, "conv2").numpy()
    assert desired.shape == (N, H, W) and desired.min() >= 0
    np.testing.assert_allclose(desired.max(axis=(1, 2)), 1.0, rtol=1e-12)
    for model in (sequential, functional):
        for layer in ("conv2", conv2):
            actual = attr.grad_cam(X, y, model, layer).numpy()
            np.testing.assert_allclose(actual, desired, rtol=1e-12, atol=1e-15, err_msg=model.name)


def test_grad_cam_before_global_pooling_is_cam():
    # With global average pooling then a dense layer, alpha_k = w[k, c] / (h w): Grad-CAM
    # reduces to CAM (Zhou et al. 2016), ReLU(sum_k w[k, c] A^k), up to the normalisation.
    flat, _, _, conv2 = _grad_cam_models()
    X, y = _images(14), np.array([1, 2])
    A = conv2(flat.get_layer("conv1")(flat.get_layer("scale")(X))).numpy()  # (N, H, W, F2)
    w = flat.get_layer("fc").get_weights()[0]  # (F2, K)
    cam = np.maximum(np.einsum("nhwk,kn->nhw", A, w[:, y]), 0)  # same size: resize is identity
    desired = cam / cam.max(axis=(1, 2), keepdims=True)
    actual = attr.grad_cam(X, y, flat, conv2).numpy()
    np.testing.assert_allclose(actual, desired, rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------------------- arguments


def _bad_calls(model):
    X, y = _images(15), np.array([0, 1])
    one = _images(15, (1, H, W, C))
    nan = X.copy()
    nan[1, 2, 3, 0], nan[0, 0, 0, 1] = np.nan, np.inf
    return [
        (r"X\b.*\b2 NaN\b", lambda: vis.compute_saliency_maps(nan, y, model)),
        (r"X\b.*\b1 NaN\b", lambda: vis.make_fooling_image(nan[1:], 1, model)),
        (r"X\b.*\b2 NaN\b", lambda: vis.blur_image(nan)),
        (r"X\b.*\b2 NaN\b", lambda: attr.smoothgrad(nan, y, model)),
        (r"X\b.*\b2 NaN\b", lambda: attr.integrated_gradients(nan, y, model)),
        (r"baseline\b.*\b2 NaN\b", lambda: attr.integrated_gradients(X, y, model, baseline=nan)),
        (r"X\b.*\(6, 8, 3\)", lambda: vis.compute_saliency_maps(X[0], y, model)),
        (r"X\b.*\bint32\b", lambda: vis.compute_saliency_maps(X.astype(np.int32), y, model)),
        (r"y\b.*\(2,\).*\(1,\)", lambda: vis.compute_saliency_maps(X, y[:1], model)),
        (r"y\b.*\bfloat64\b", lambda: vis.compute_saliency_maps(X, y + 0.5, model)),
        (r"y\b.*\[0, 4\).*\b4\b", lambda: vis.compute_saliency_maps(X, [0, 4], model)),
        (r"X\b.*\b2\b", lambda: vis.make_fooling_image(X, 1, model)),
        (r"target_y\b.*\b1\.0\b", lambda: vis.make_fooling_image(one, 1.0, model)),
        (r"target_y\b.*\[0, 4\).*-1\b",
         lambda: vis.make_fooling_image(one, -1, model)),
        (r"max_iters\b.*\b0\b",
         lambda: vis.make_fooling_image(one, 1, model, max_iters=0)),
        (r"learning_rate\b.*\b0\b",
         lambda: vis.fooling_step(one, 1, model, learning_rate=0)),
        (r"sigma\b.*\b0\b", lambda: vis.blur_image(X, sigma=0)),
        (r"ox\b.*\b1\.5\b", lambda: vis.jitter(X, 1.5, 0)),
        (r"num_iterations\b.*\b0\b",
         lambda: vis.create_class_visualization(1, model, num_iterations=0)),
        (r"max_jitter\b.*-1\b",
         lambda: vis.create_class_visualization(1, model, max_jitter=-1)),
        (r"target_y\b.*\[0, 4\).*\b9\b",
         lambda: vis.create_class_visualization(9, model, image_size=4, num_iterations=1)),
        (r"y\b.*\[0, 4\).*\[7\]",
         lambda: attr.smoothgrad(X, [0, 7], model, n_samples=2)),
        (r"y\b.*\[0, 4\).*\[-1\]",
         lambda: attr.integrated_gradients(X, [-1, 0], model, steps=2)),
        (r"n_samples\b.*\b0\b", lambda: attr.smoothgrad(X, y, model, n_samples=0)),
        (r"steps\b.*\b0\b", lambda: attr.integrated_gradients(X, y, model, steps=0)),
        (r"baseline\b.*\(2, 2, 8, 3\)",
         lambda: attr.integrated_gradients(X, y, model, baseline=X[:, :2])),
        (r"layer\b.*'nope'", lambda: attr.grad_cam(X, y, model, "nope")),
        (r"layer\b.*'pool'", lambda: attr.grad_cam(X, y, model, "pool")),
    ]


def test_bad_arguments_raise_value_errors_that_name_them(nets):
    model, _ = nets["float64"]
    for message, call in _bad_calls(model):
        # Anchored: the message itself, not one wrapped in a traced function's report.
        with pytest.raises(ValueError, match=f"^{message}"):
            call()
