"""Attribution beyond the course: SmoothGrad, Integrated Gradients and Grad-CAM.

Same model contract and argument checks as `tfcs231n.visualization.saliency`: `model` maps
preprocessed images (N, H, W, C) to unnormalised class scores (N, num_classes).

* The plain input gradient, signed and per channel: the map before the course's |.| and
  max, which Adebayo et al.'s randomisation test also compares ("no absolute value").
* SmoothGrad (Smilkov et al. 2017): saliency averaged over noisy copies of the input.
* Integrated Gradients (Sundararajan et al. 2017): path integral of gradients from a
  baseline, trapezoid rule; the attributions sum to score(X) - score(baseline).
* Grad-CAM (Selvaraju et al. 2017), which also works when the backbone is nested inside
  another model (the "Graph disconnected" failure of keras.Model(outer.inputs, inner.output)).
"""

import contextlib
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from tfcs231n._checks import finite
from tfcs231n.visualization.saliency import _check_ids, _images, _labels, _number, _pick, _positive, _saliency, _score_gradient, _scores


def input_gradient(X, y, model):
    """Signed gradient of each image's correct-class score w.r.t. its pixels.

    Returns:
        (N, H, W, C); `compute_saliency_maps` is its |.| maximised over C.
    """
    X = _images(X)
    return _score_gradient(model, X, _labels(y, X.shape[0]))[0]


def smoothgrad(X, y, model, n_samples=25, noise_level=0.15, seed=0):
    """SmoothGrad (Smilkov et al. 2017): the mean saliency map over noisy copies of X.

    Each copy adds Gaussian noise of standard deviation noise_level * (max - min) of its own
    image; the map of each copy is compute_saliency_maps' (|gradient|, max over channels).

    Returns:
        (N, H, W) the average over n_samples copies.
    """
    X = _images(X)
    labels = _labels(y, X.shape[0])
    _positive("n_samples", n_samples)
    _number("noise_level", noise_level, minimum=0)
    _check_ids(model, X, labels, "y")
    rng = np.random.default_rng(seed)
    spread = tf.reduce_max(X, axis=(1, 2, 3), keepdims=True) - tf.reduce_min(
        X, axis=(1, 2, 3), keepdims=True
    )  # (N, 1, 1, 1)
    saliency = tf.function(lambda x: _saliency(model, x, labels))
    total = tf.zeros(X.shape[:3], X.dtype)
    for _ in range(n_samples):
        noise = tf.constant(rng.standard_normal(X.shape), X.dtype)
        total += saliency(X + noise_level * spread * noise)
    return total / n_samples


class IntegratedGradients(NamedTuple):
    """The result of integrated_gradients.

    map: (N, H, W) attributions summed over channels (signed; take abs to display).
    attributions: (N, H, W, C) per pixel and channel.
    score_difference: (N,) s_y(X) - s_y(baseline); completeness says each image's
        attributions sum to it.
    """

    map: tf.Tensor
    attributions: tf.Tensor
    score_difference: tf.Tensor

    def completeness_error(self):
        """(N,) |sum of attributions - score difference| / |score difference|."""
        total = tf.reduce_sum(self.attributions, axis=(1, 2, 3))
        return tf.abs(total - self.score_difference) / tf.abs(self.score_difference)


def integrated_gradients(X, y, model, baseline=None, steps=50):
    """Integrated Gradients (Sundararajan et al. 2017) of the unnormalised class scores.

    IG_i = (x_i - x'_i) * integral over a in [0, 1] of ds_y/dx_i at x' + a (x - x'), the
    integral by the trapezoid rule on `steps` equal intervals (the paper uses a Riemann sum).

    Args:
        X: (N, H, W, C) images; y: (N,) labels.
        baseline: x', shaped like X or like one image; default zeros (in the preprocessed
            space: the dataset-mean image).
        steps: intervals of the trapezoid rule; the error falls as 1 / steps^2.

    Returns:
        IntegratedGradients(map, attributions, score_difference).
    """
    X = _images(X)
    labels = _labels(y, X.shape[0])
    _positive("steps", steps)
    baseline = tf.zeros_like(X) if baseline is None else finite("baseline",
                                                                tf.cast(baseline, X.dtype))
    if tuple(baseline.shape) not in (tuple(X.shape), tuple(X.shape[1:]), (1,) + tuple(X.shape[1:])):
        raise ValueError(
            f"baseline must have the shape of X {tuple(X.shape)} or of one image, "
            f"got shape {tuple(baseline.shape)}"
        )
    baseline = tf.broadcast_to(baseline, X.shape)
    _check_ids(model, X, labels, "y")
    delta = X - baseline
    gradient = tf.function(lambda x: _score_gradient(model, x, labels))
    total = tf.zeros_like(X)
    for k in range(steps + 1):
        grad, scores = gradient(baseline + (k / steps) * delta)
        total += (0.5 if k in (0, steps) else 1.0) * grad
        if k == 0:
            start = _pick(scores, labels, "y")
    attributions = delta * total / steps
    difference = _pick(scores, labels, "y") - start  # scores at k == steps are s(X)
    return IntegratedGradients(tf.reduce_sum(attributions, -1), attributions, difference)


def _sublayers(model):
    for layer in getattr(model, "layers", ()):
        yield layer
        yield from _sublayers(layer)


def _find_layer(model, layer):
    if not isinstance(layer, str):
        return layer
    found = [sub for sub in _sublayers(model) if sub.name == layer]
    if len(found) != 1:
        where = "no layer" if not found else f"{len(found)} layers"
        raise ValueError(
            f"layer: {where} named {layer!r} in the model or its sub-models; "
            "pass the layer object instead of its name"
        )
    return found[0]


@contextlib.contextmanager
def _tapped(layer, record):
    """Calls record(output) on every output of `layer` while the block runs.

    The forward pass stays the model's own, however deeply `layer` is nested, so the tape
    sees one connected computation from input to scores; keras.Model(outer.inputs,
    inner_layer.output) would instead fail with "Graph disconnected" on nested models.
    """
    missing = object()
    own = layer.__dict__.get("call", missing)
    original = layer.call

    def call(*args, **kwargs):
        out = original(*args, **kwargs)
        record(out)
        return out

    object.__setattr__(layer, "call", call)
    try:
        yield
    finally:
        if own is missing:
            object.__delattr__(layer, "call")
        else:
            object.__setattr__(layer, "call", own)


def grad_cam(X, y, model, layer):
    """Grad-CAM (Selvaraju et al. 2017) at `layer`, which may sit inside nested sub-models.

    alpha_k = spatial mean of ds_y/dA^k; map = ReLU(sum_k alpha_k A^k), resized bilinearly to
    (H, W) and divided by its maximum per image, so it lies in [0, 1] (an all-zero map stays
    zero).

    Args:
        X: (N, H, W, C) images; y: (N,) labels.
        layer: a layer object, or the name of a layer anywhere in the model or its sub-models
            (a name must be unique); its output must be (N, h, w, K) and it must run once.

    Returns:
        (N, H, W) maps.
    """
    X = _images(X)
    labels = _labels(y, X.shape[0])
    target = _find_layer(model, layer)
    activations = []
    with tf.GradientTape() as tape:
        def record(out):
            tape.watch(out)
            activations.append(out)

        with _tapped(target, record):
            scores = _scores(model, X)
        picked = _pick(scores, labels, "y")
    if len(activations) != 1:
        raise ValueError(
            f"layer {target.name!r} ran {len(activations)} times in the model's forward pass; "
            "Grad-CAM needs a layer the model calls exactly once"
        )
    A = activations[0]
    if A.shape.rank != 4:
        raise ValueError(f"layer {target.name!r} must output (N, h, w, K), got {tuple(A.shape)}")
    alpha = tf.reduce_mean(tape.gradient(picked, A), axis=(1, 2))  # (N, K)
    cam = tf.nn.relu(tf.einsum("nhwk,nk->nhw", A, alpha))  # (N, h, w)
    cam = tf.image.resize(cam[..., None], X.shape[1:3], method="bilinear")[..., 0]
    cam = tf.cast(cam, X.dtype)
    return tf.math.divide_no_nan(cam, tf.reduce_max(cam, axis=(1, 2), keepdims=True))
