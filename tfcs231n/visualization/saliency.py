"""Network visualization: saliency maps, fooling images and class visualization (the course).

SmoothGrad, Integrated Gradients and Grad-CAM (beyond the course) are in
`tfcs231n.visualization.attribution`, on the same helpers.

Model contract: `model` is a Keras model, or any callable, mapping a float image batch
(N, H, W, C), already preprocessed, to unnormalised class scores (N, num_classes). Every
gradient is taken with `tf.GradientTape` on those scores, never on softmax probabilities.
Functions keep the dtype of `X` (float64 in, float64 gradients out) and return tensors.

The course's functions keep the course's names, arguments and defaults (CS231n assignment 3,
`NetworkVisualization-TensorFlow.ipynb` / `net_visualization_tensorflow.py`, 2019-2020, and
the PyTorch `Network_Visualization.ipynb` / `net_visualization_pytorch.py`, 2021-2024).
Image-space optimisation runs a `tf.function` step inside a plain Python loop.

Example:
    >>> saliency = compute_saliency_maps(X, y, model)              # (N, H, W)
    >>> X_fool, steps = make_fooling_image(X[:1], target_y=6, model=model)
    >>> img = create_class_visualization(76, model, num_iterations=200)
"""

import keras
import numpy as np
import tensorflow as tf

from tfcs231n._checks import finite
from tfcs231n.visualization.squeezenet import SQUEEZENET_MEAN, SQUEEZENET_STD


# The course blurs the class visualization with this sigma, not blur_image's default of 1.
CLASS_VISUALIZATION_BLUR_SIGMA = 0.5


class FoolingFailed(RuntimeError):
    """make_fooling_image ran out of iterations before the model predicted the target."""

    def __init__(self, target_y, max_iters, predicted, X_last):
        super().__init__(
            f"the model still predicts class {predicted}, not target_y={target_y}, after "
            f"max_iters={max_iters} steps; raise max_iters or learning_rate"
        )
        self.target_y, self.max_iters, self.predicted = target_y, max_iters, predicted
        self.X_last = X_last  # the image after the last step, for inspection


# ----------------------------------------------------------------------------- checks


def _images(X, name="X", single=False):
    X = tf.convert_to_tensor(X)
    if not X.dtype.is_floating:
        raise ValueError(f"{name} must be a floating image batch, got dtype {X.dtype.name}")
    if X.shape.rank != 4:
        raise ValueError(f"{name} must have shape (N, H, W, C), got shape {tuple(X.shape)}")
    if single and X.shape[0] != 1:
        raise ValueError(f"{name} must hold one image, shape (1, H, W, C), got {tuple(X.shape)}")
    return finite(name, X)


def _labels(y, n, name="y"):
    y = np.asarray(y.numpy() if hasattr(y, "numpy") else y)
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class ids, got dtype {y.dtype}")
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape (N,) = ({n},), got shape {y.shape}")
    return y.astype(np.int64)


def _class_id(target_y, name="target_y"):
    if isinstance(target_y, (bool, np.bool_)) or not isinstance(target_y, (int, np.integer)):
        raise ValueError(f"{name} must be an integer class id, got {target_y!r}")
    return int(target_y)


def _number(name, value, integer=False, minimum=None, strict=False):
    """Checks a scalar argument: an int (or any real number), optionally >= or > minimum."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    ok = isinstance(value, kinds) and not isinstance(value, (bool, np.bool_))
    if ok and minimum is not None:
        ok = value > minimum if strict else value >= minimum
    if not ok:
        kind = "an integer" if integer else "a number"
        bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum}"
        raise ValueError(f"{name} must be {kind}{bound}, got {value!r}")
    return value


def _positive(name, value, integer=True):
    return _number(name, value, integer=integer, minimum=0, strict=True)


# ----------------------------------------------------------------------------- scores


def _scores(model, X):
    """The model's class scores (N, num_classes), checked against the contract."""
    scores = model(X, training=False) if isinstance(model, keras.layers.Layer) else model(X)
    scores = tf.convert_to_tensor(scores)
    if scores.shape.rank != 2 or scores.shape[0] not in (None, X.shape[0]):
        raise ValueError(
            f"model must map images {tuple(X.shape)} to scores (N, num_classes), "
            f"got shape {tuple(scores.shape)}"
        )
    return scores


def _pick(scores, labels, name):
    """scores[i, labels[i]] for each i.

    NumPy labels are checked against the number of classes here; tensor labels (a serving
    signature's input) are only known at run time, where gather itself rejects bad ids.
    """
    if not tf.is_tensor(labels):
        _in_range(labels, scores.shape[-1], name)
        labels = tf.constant(labels)
    return tf.gather(scores, labels, axis=1, batch_dims=1)  # (N,)


def _in_range(labels, num_classes, name):
    """NumPy class ids, checked against the number of classes (None: only against 0)."""
    labels = np.asarray(labels).reshape(-1)
    bad = (labels < 0) | (labels >= num_classes) if num_classes is not None else labels < 0
    if bad.any():
        raise ValueError(f"{name} has class ids outside [0, {num_classes}): {labels[bad].tolist()}")


def _check_ids(model, X, labels, name):
    """Checks class ids against the model's number of classes (one eager forward pass of
    X[:1]) before a loop runs them through a traced function, whose error would arrive
    wrapped in the trace's."""
    _in_range(labels, _scores(model, X[:1]).shape[-1], name)


def _score_gradient(model, X, labels, name="y"):
    """Gradient of sum_i s_{labels[i]}(X_i) w.r.t. X, and the scores (N, num_classes)."""
    with tf.GradientTape() as tape:
        tape.watch(X)
        scores = _scores(model, X)
        picked = _pick(scores, labels, name)
    return tape.gradient(picked, X), scores


def _saliency(model, X, labels):
    grad, _ = _score_gradient(model, X, labels)
    return tf.reduce_max(tf.abs(grad), axis=-1)  # (N, H, W)


# ----------------------------------------------------------------------------- course


def compute_saliency_maps(X, y, model):
    """Saliency maps (Simonyan et al. 2014), as the course defines them.

    The absolute gradient of each image's correct-class score (unnormalised) with respect to
    its pixels, maximised over the colour channels.

    Args:
        X: (N, H, W, C) preprocessed images.
        y: (N,) integer labels.
        model: images -> scores (N, num_classes).

    Returns:
        (N, H, W) saliency.
    """
    X = _images(X)
    return _saliency(model, X, _labels(y, X.shape[0]))


def _fooling_update(X, target_y, model, learning_rate):
    """One normalised ascent step on s_target: X + lr * g / ||g||_2; also the scores at X."""
    grad, scores = _score_gradient(model, X, np.array([target_y]), "target_y")
    # A zero gradient (every unit dead) makes no step instead of a NaN image.
    return X + learning_rate * tf.math.divide_no_nan(grad, tf.norm(grad)), scores


def fooling_step(X, target_y, model, learning_rate=1):
    """One step of make_fooling_image: X + learning_rate * g / ||g||_2, g = d s_target / dX.

    Args:
        X: (1, H, W, C) image.
        target_y: the class to push X towards.

    Returns:
        (1, H, W, C) the updated image.
    """
    X = _images(X, single=True)
    _positive("learning_rate", learning_rate, integer=False)
    return _fooling_update(X, _class_id(target_y), model, learning_rate)[0]


class FoolingResult:
    """What `make_fooling_image` returns: unpack it, ``X_fooling, steps = ...``.

    Not a tuple on purpose: the course's ``X_fooling = make_fooling_image(...)`` followed by
    ``model(X_fooling)`` or ``X_fooling[0]`` would otherwise run on the pair; here it raises
    a TypeError that points to `tfcs231n.course.net_visualization_tensorflow`, whose
    `make_fooling_image` returns the image alone.
    """

    __slots__ = ("image", "steps")

    def __init__(self, image, steps):
        self.image, self.steps = image, steps

    def __iter__(self):
        return iter((self.image, self.steps))

    def _as_image(self, *args, **kwargs):
        raise TypeError(
            "make_fooling_image returns (X_fooling, steps): unpack it, or use "
            "tfcs231n.course.net_visualization_tensorflow.make_fooling_image (the course's "
            "call, which returns the image alone)"
        )

    __getitem__ = __array__ = __tf_tensor__ = _as_image


def make_fooling_image(X, target_y, model, learning_rate=1, max_iters=100):
    """An image close to X that the model classifies as target_y (the course's fooling image).

    Gradient ascent on the unnormalised target score with the course's normalised step
    dX = learning_rate * g / ||g||_2 (norm over the whole image), stopping as soon as the
    model predicts target_y. X itself is not modified.

    Args:
        X: (1, H, W, C) preprocessed image.
        target_y: the class to fool the model into.
        learning_rate: the course's 1.
        max_iters: the course's hint of 100.

    Returns:
        A `FoolingResult` that unpacks as (X_fooling (1, H, W, C), the number of steps
        taken; 0 if X is already target_y).

    Raises:
        FoolingFailed: the model is not fooled after max_iters steps.
    """
    X = _images(X, single=True)
    target_y = _class_id(target_y)
    _positive("learning_rate", learning_rate, integer=False)
    _positive("max_iters", max_iters)
    _check_ids(model, X, target_y, "target_y")
    step = tf.function(lambda x: _fooling_update(x, target_y, model, learning_rate))
    X_fooling = X
    for i in range(max_iters + 1):
        X_next, scores = step(X_fooling)  # scores belong to X_fooling, before the step
        predicted = int(tf.argmax(scores[0]))
        if predicted == target_y:
            return FoolingResult(X_fooling, i)
        if i == max_iters:
            raise FoolingFailed(target_y, max_iters, predicted, X_fooling)
        X_fooling = X_next


def jitter(X, ox, oy):
    """Rolls images ox pixels along W and oy along H, wrapping around (the course's jitter).

    Args:
        X: (N, H, W, C); ox, oy: integers, negative to roll back.
    """
    X = _images(X)
    _number("ox", ox, integer=True), _number("oy", oy, integer=True)
    return _roll(X, int(ox), int(oy))


def _roll(X, ox, oy):
    return tf.roll(X, shift=[oy, ox], axis=[1, 2])


def gaussian_kernel1d(sigma, truncate=4.0):
    """scipy.ndimage.gaussian_filter1d's weights: radius int(truncate * sigma + 0.5).

    Returns:
        float64 array of 2 * radius + 1 weights exp(-x^2 / (2 sigma^2)), summing to 1.
    """
    _positive("sigma", sigma, integer=False)
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-0.5 * x**2 / float(sigma) ** 2)
    return weights / weights.sum()


def _reflect_indices(n, radius):
    """Indices extending 0..n-1 by `radius` on each side, 'reflect' (d c b a | a b c d | d c b a).

    Half-sample symmetric with period 2n, so a radius wider than the image keeps reflecting,
    as scipy does.
    """
    m = np.mod(np.arange(-radius, n + radius), 2 * n)
    return np.where(m < n, m, 2 * n - 1 - m)


def _blur_axis(X, weights, axis):
    """Correlates axis 1 (H) or 2 (W) of (N, H, W, C) with `weights`, reflect boundary."""
    radius = len(weights) // 2
    padded = tf.gather(X, _reflect_indices(X.shape[axis], radius), axis=axis)
    shape = (len(weights), 1) if axis == 1 else (1, len(weights))
    kernel = np.tile(weights.reshape(shape + (1, 1)), (1, 1, X.shape[-1], 1))  # (kh, kw, C, 1)
    kernel = tf.constant(kernel, dtype=X.dtype)
    return tf.nn.depthwise_conv2d(padded, kernel, strides=[1, 1, 1, 1], padding="VALID")


def blur_image(X, sigma=1):
    """Gaussian blur along H and W, as the course's two scipy gaussian_filter1d calls.

    Same kernel (truncate=4.0, radius int(4 sigma + 0.5)) and boundary ('reflect',
    half-sample symmetric) as scipy; a separable depthwise convolution in TensorFlow.

    Args:
        X: (N, H, W, C) images.
        sigma: the standard deviation in pixels (the course's default 1; the class
            visualization uses 0.5).
    """
    X = _images(X)
    return _blur(X, gaussian_kernel1d(sigma))


def _blur(X, weights):
    return _blur_axis(_blur_axis(X, weights, axis=1), weights, axis=2)


def _class_visualization_update(X, model, target_y, l2_reg, learning_rate):
    """X + lr * d/dX [s_target(X) - l2_reg * ||X||_2^2]: plain gradient ascent, no normalising."""
    with tf.GradientTape() as tape:
        tape.watch(X)
        score = _pick(_scores(model, X), np.array([target_y]), "target_y")[0]
        objective = score - l2_reg * tf.reduce_sum(tf.square(X))
    return X + learning_rate * tape.gradient(objective, X)


def class_visualization_update_step(X, model, target_y, l2_reg, learning_rate):
    """One class-visualization step (the course's update).

    The course maximises s_y(I) - R(I) with R(I) = l2_reg * ||I||_2^2 by gradient ascent:
    X <- X + learning_rate * (ds_y/dX - 2 * l2_reg * X). The gradient is not normalised (only
    the fooling image's step is).

    Returns:
        (1, H, W, C) the updated image.
    """
    X = _images(X, single=True)
    _number("l2_reg", l2_reg, minimum=0)
    _number("learning_rate", learning_rate)
    return _class_visualization_update(X, model, _class_id(target_y), l2_reg, learning_rate)


def create_class_visualization(target_y, model, image_size=224, l2_reg=1e-3, learning_rate=25,
                               num_iterations=100, blur_every=10, max_jitter=16,
                               show_every=None, seed=0, callback=None,
                               mean=SQUEEZENET_MEAN, std=SQUEEZENET_STD):
    """An image the model scores highly as target_y (the course's class visualization).

    The course's loop: start from a uniformly random image in [0, 1) preprocessed with
    `mean`/`std`; each iteration jitter by (ox, oy) drawn from [0, max_jitter), take
    class_visualization_update_step, undo the jitter, clamp every channel to the valid
    preprocessed range [-mean/std, (1 - mean)/std], and blur with sigma 0.5 when
    t % blur_every == 0. One seeded generator draws the start and every jitter, so a seed
    gives one image. (The PyTorch notebook starts from randn and draws jitter from
    [0, max_jitter]; the TensorFlow notebook's choices are used here.)

    Args:
        target_y: the class to visualise.
        image_size: int or (H, W).
        show_every: call `callback(t, X)` at the course's display points (t == 0, every
            show_every-th iteration, and the last); with a callback and no show_every, every
            iteration.
        seed: seeds the start image and the jitter.
        mean, std: per-channel preprocessing of the model (default SqueezeNet's).

    Returns:
        (1, H, W, 3) float32 image, preprocessed.
    """
    target_y = _class_id(target_y)
    height, width = (image_size, image_size) if np.ndim(image_size) == 0 else image_size
    _positive("image_size", height), _positive("image_size", width)
    _positive("num_iterations", num_iterations)
    _positive("blur_every", blur_every)
    _number("max_jitter", max_jitter, integer=True, minimum=0)
    _number("l2_reg", l2_reg, minimum=0)
    _number("learning_rate", learning_rate)
    if show_every is not None:
        _positive("show_every", show_every)
    mean, std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
    lo, hi = (-mean / std).astype(np.float32), ((1.0 - mean) / std).astype(np.float32)

    rng = np.random.default_rng(seed)
    X = tf.constant(((rng.random((1, height, width, mean.size)) - mean) / std), tf.float32)
    _check_ids(model, X, target_y, "target_y")
    update = tf.function(
        lambda x: _class_visualization_update(x, model, target_y, l2_reg, learning_rate)
    )
    # The loop's own images need none of the public functions' argument checks (the
    # finiteness check would cost two host syncs per call).
    blur_weights = gaussian_kernel1d(CLASS_VISUALIZATION_BLUR_SIGMA)
    for t in range(num_iterations):
        ox, oy = (int(v) for v in rng.integers(0, max_jitter, 2)) if max_jitter else (0, 0)
        X = _roll(update(_roll(X, ox, oy)), -ox, -oy)
        X = tf.clip_by_value(X, lo, hi)
        if t % blur_every == 0:
            X = _blur(X, blur_weights)
        show = show_every is None or t == 0 or (t + 1) % show_every == 0 or t == num_iterations - 1
        if callback is not None and show:
            callback(t, X)
    return X


# ----------------------------------------------------------------------------- serving


def export_classifier(model, path, image_size):
    """Writes a SavedModel of the classifier with preprocessing inside.

    Signatures:
        serving_default: `images` uint8 (None, S, S, 3) -> `probabilities` (None, C) and
            `scores` (None, C), the unnormalised scores the course's techniques use.
        saliency: `images` uint8 (None, S, S, 3), `labels` int32 (None,) -> `saliency`
            (None, S, S), as `compute_saliency_maps` on the preprocessed images.

    Load with ``tf.saved_model.load(path).signatures[name]``.
    """
    from tfcs231n.visualization.squeezenet import preprocess_image

    images = tf.TensorSpec([None, image_size, image_size, 3], tf.uint8, name="images")
    labels = tf.TensorSpec([None], tf.int32, name="labels")

    @tf.function(input_signature=[images])
    def classify(images):
        scores = model(preprocess_image(images), training=False)
        return {"probabilities": tf.nn.softmax(scores), "scores": scores}

    @tf.function(input_signature=[images, labels])
    def saliency(images, labels):
        return {"saliency": _saliency(model, preprocess_image(images), labels)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", classify)
    archive.add_endpoint("saliency", saliency)
    archive.write_out(str(path), verbose=False)
    return path
