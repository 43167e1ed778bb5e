"""Neural style transfer, feature inversion and texture synthesis (Gatys et al. 2016), NHWC.

The course's losses under the course's names, written once; d2l's and the TF tutorial's
variants are a `LossForm` (how sums are reduced, how the Gram matrix is normalised, which
total variation), not a second copy of the math:

    form          content / style     Gram divided by   total variation
    course        sum of squares      H*W*C             sum of squared neighbour diffs
    d2l           mean of squares     H*W*C             0.5 (mean|dy| + mean|dx|)
    tf-tutorial   mean of squares     H*W               sum of |neighbour diffs|

`style_transfer` optimises an image with a `tf.function` step inside a plain Python loop
(Adam with the course's schedule, or L-BFGS), through any backbone of
`tfcs231n.style_backbones`. Feature inversion is style weights 0 with a random start,
texture synthesis is content weight 0. Named set-ups live in `tfcs231n.style_presets`.

Example:
    >>> from tfcs231n.style_presets import PRESETS
    >>> result = style_transfer(content_pixels, style_pixels, **PRESETS["hed"])
    >>> result.pixels      # (H, W, 3) uint8
    >>> result.history     # {"content": [...], "style": [...], "tv": [...], "total": [...]}
"""

import dataclasses
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from tfcs231n import style_backbones
from tfcs231n.style_backbones import (course_images_dir, load_image, preserve_color,
                                      sample_image)

__all__ = [
    "LOSS_FORMS", "LossForm", "Schedule", "StepDecay", "StyleLosses", "StyleResult",
    "content_loss", "course_images_dir", "gram_matrix", "load_image", "optimize",
    "preserve_color", "sample_image", "style_loss", "style_transfer", "tv_loss",
]

# ----------------------------------------------------------------------------- losses


@dataclasses.dataclass(frozen=True)
class LossForm:
    """How the three losses reduce. reduction: "sum" or "mean" (content and style);
    gram_normalize: "hwc", "hw" or "none"; tv: "squared_sum", "abs_mean" or "abs_sum"."""

    reduction: str = "sum"
    gram_normalize: str = "hwc"
    tv: str = "squared_sum"

    def __post_init__(self):
        for field, allowed in (("reduction", _REDUCE), ("gram_normalize", _GRAM_NORM),
                               ("tv", _TV_KINDS)):
            if getattr(self, field) not in allowed:
                raise ValueError(f"{field} must be one of {sorted(allowed)}, "
                                 f"got {getattr(self, field)!r}")


_REDUCE = {"sum": tf.reduce_sum, "mean": tf.reduce_mean}
_GRAM_NORM = ("hwc", "hw", "none")
_TV_KINDS = ("squared_sum", "abs_mean", "abs_sum")
LOSS_FORMS = {
    "course": LossForm(),
    "d2l": LossForm("mean", "hwc", "abs_mean"),
    "tf-tutorial": LossForm("mean", "hw", "abs_sum"),
}


def content_loss(content_weight, content_current, content_original, reduction="sum"):
    """w * sum((F - P)^2) (reduction "sum", the course) or w * mean(...) ("mean", d2l).

    Args:
        content_weight: scalar weight w.
        content_current, content_original: (N, H, W, C) features of the image being made
            and of the content image.

    Returns:
        A scalar tensor.
    """
    if tuple(content_current.shape) != tuple(content_original.shape):
        raise ValueError(f"content_current has shape {tuple(content_current.shape)} but "
                         f"content_original has {tuple(content_original.shape)}")
    diff = content_current - content_original
    return content_weight * _REDUCE[reduction](tf.square(diff))


def gram_matrix(features, normalize=True):
    """Gram matrices of feature maps.

    Args:
        features: (N, H, W, C).
        normalize: True or "hwc" divides by H*W*C (the course, d2l); "hw" by H*W (the TF
            tutorial); False or "none" not at all.

    Returns:
        (N, C, C) with G[n, c, d] = sum over positions of F[n, ., ., c] F[n, ., ., d].
    """
    features = tf.convert_to_tensor(features)
    if features.shape.rank != 4:
        raise ValueError(f"features must be (N, H, W, C), got shape {tuple(features.shape)}")
    shape = tf.shape(features)
    n, h, w, c = shape[0], shape[1], shape[2], shape[3]
    flat = tf.reshape(features, (n, h * w, c))  # (N, HW, C)
    gram = tf.matmul(flat, flat, transpose_a=True)  # (N, C, C)
    mode = {True: "hwc", False: "none"}.get(normalize, normalize)
    if mode not in _GRAM_NORM:
        raise ValueError(f"normalize must be True, False, 'hwc', 'hw' or 'none', got {normalize!r}")
    if mode == "none":
        return gram
    size = h * w * c if mode == "hwc" else h * w
    return gram / tf.cast(size, gram.dtype)


def style_loss(feats, style_layers, style_targets, style_weights, reduction="sum",
               normalize=True):
    """sum over l of w_l * sum((G_l - A_l)^2) (or the mean, with reduction "mean").

    Args:
        feats: the current image's features, indexable by layer (a list of every layer's
            maps, as the course's `extract_features` returns, or a dict index -> map).
        style_layers: layer indices, length L.
        style_targets: L Gram matrices (N, C_l, C_l) of the style image at those layers.
        style_weights: L scalars.
        normalize: the Gram normalisation (see `gram_matrix`).

    Returns:
        A scalar tensor.
    """
    if not len(style_layers) == len(style_targets) == len(style_weights):
        raise ValueError(f"style_layers, style_targets and style_weights must have one entry "
                         f"per layer, got lengths {len(style_layers)}, {len(style_targets)} "
                         f"and {len(style_weights)}")
    loss = 0.0
    for layer, target, weight in zip(style_layers, style_targets, style_weights):
        gram = gram_matrix(feats[layer], normalize)
        loss += weight * _REDUCE[reduction](tf.square(gram - target))
    return loss


def tv_loss(img, tv_weight, kind="squared_sum"):
    """Total-variation loss of images (N, H, W, C).

    kind "squared_sum" (the course): w * (sum dy^2 + sum dx^2); "abs_mean" (d2l):
    w * 0.5 * (mean|dy| + mean|dx|); "abs_sum" (`tf.image.total_variation`):
    w * (sum|dy| + sum|dx|). dy, dx: differences of vertical and horizontal neighbours.
    """
    if kind not in _TV_KINDS:
        raise ValueError(f"kind must be one of {_TV_KINDS}, got {kind!r}")
    if len(img.shape) != 4:
        raise ValueError(f"img must be (N, H, W, C), got shape {tuple(img.shape)}")
    dy = img[:, 1:, :, :] - img[:, :-1, :, :]  # (N, H-1, W, C)
    dx = img[:, :, 1:, :] - img[:, :, :-1, :]  # (N, H, W-1, C)
    if kind == "squared_sum":
        return tv_weight * (tf.reduce_sum(tf.square(dy)) + tf.reduce_sum(tf.square(dx)))
    if kind == "abs_sum":
        return tv_weight * (tf.reduce_sum(tf.abs(dy)) + tf.reduce_sum(tf.abs(dx)))
    return tv_weight * 0.5 * (tf.reduce_mean(tf.abs(dy)) + tf.reduce_mean(tf.abs(dx)))


# ----------------------------------------------------------------------------- optimisation


@keras.saving.register_keras_serializable(package="tfcs231n")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`initial_lr` for iterations 0 .. decay_at-1, then `decayed_lr` (Adam keeps its moments).

    Note: the course's TF notebook evaluates a PiecewiseConstantDecay once, at step 0, and
    hands the resulting number to Adam, so its learning rate stays 3.0 for all 200 steps.
    Here the optimiser calls the schedule with its iteration count every step, so the rate
    really drops at iteration `decay_at`, as the course's PyTorch version does (which also
    starts a fresh Adam there; we keep the moments).
    """

    def __init__(self, initial_lr, decayed_lr, decay_at):
        self.initial_lr, self.decayed_lr, self.decay_at = initial_lr, decayed_lr, int(decay_at)

    def __call__(self, step):
        return tf.where(step < self.decay_at, self.initial_lr, self.decayed_lr)

    def get_config(self):
        return {"initial_lr": self.initial_lr, "decayed_lr": self.decayed_lr,
                "decay_at": self.decay_at}


@dataclasses.dataclass(frozen=True)
class Schedule:
    """The optimiser. Defaults are the course's: Adam, lr 3.0 -> 0.1 at iteration 180, 200
    iterations (Keras's Adam defaults otherwise). optimizer "lbfgs" uses SciPy's L-BFGS-B
    (the original paper's optimiser; the clip range becomes its bounds)."""

    learning_rate: float = 3.0
    decayed_lr: float = 0.1
    decay_lr_at: int = 180
    num_iterations: int = 200
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7
    optimizer: str = "adam"

    def __post_init__(self):
        if self.optimizer not in ("adam", "lbfgs"):
            raise ValueError(f"optimizer must be 'adam' or 'lbfgs', got {self.optimizer!r}")
        if self.num_iterations < 0:
            raise ValueError(f"num_iterations must be >= 0, got {self.num_iterations}")

    def adam(self):
        lr = StepDecay(self.learning_rate, self.decayed_lr, self.decay_lr_at)
        return keras.optimizers.Adam(lr, beta_1=self.beta_1, beta_2=self.beta_2,
                                     epsilon=self.epsilon)


@dataclasses.dataclass
class StyleResult:
    """image: (1, H, W, 3) in the backbone's variable space; pixels: uint8 (H, W, 3);
    history: per-iteration "content", "style", "tv", "total" losses (before each step)."""

    image: np.ndarray
    pixels: np.ndarray
    history: dict
    steps: int
    interrupted: bool = False
    seconds: float = 0.0


class StyleLosses:
    """The three weighted losses of one (content, style) pair through one backbone.

    Targets (content features, style Grams) are computed once here; `__call__` is pure
    TF and differentiable w.r.t. the image, so steps, L-BFGS and parity tests share it.
    """

    def __init__(self, backbone, content, style, content_layer, content_weight, style_layers,
                 style_weights, tv_weight, loss_form="course", style_mask=None):
        self.form = LOSS_FORMS[loss_form] if isinstance(loss_form, str) else loss_form
        style_layers, style_weights = tuple(style_layers), tuple(style_weights)
        _check_layer_args(backbone, content_layer, style_layers, style_weights)
        self.backbone, self.content_layer = backbone, int(content_layer)
        self.style_layers, self.style_weights = style_layers, style_weights
        self.content_weight, self.tv_weight = content_weight, tv_weight
        self.layers = (self.content_layer, *style_layers)
        self.style_mask = style_mask
        self.content_target = backbone.features(content, [self.content_layer])[0]
        feats = dict(zip(style_layers, backbone.features(style, style_layers)))
        self.style_targets = [gram_matrix(feats[i], self.form.gram_normalize)
                              for i in style_layers]

    def _masked(self, feats):
        """Spatial control: style statistics only where the mask (H, W) in [0, 1] is on."""
        if self.style_mask is None:
            return feats
        out = dict(feats)
        for i in self.style_layers:
            size = tf.shape(feats[i])[1:3]
            m = tf.image.resize(tf.cast(self.style_mask, feats[i].dtype)[None, :, :, None], size)
            out[i] = feats[i] * m
        return out

    def __call__(self, image):
        """Dict of scalar tensors "content", "style", "tv", "total" for image (1, H, W, 3)."""
        maps = self.backbone.features(image, self.layers)
        feats = self._masked(dict(zip(self.layers, maps)))
        c = content_loss(self.content_weight, maps[0], self.content_target, self.form.reduction)
        s = style_loss(feats, self.style_layers, self.style_targets, self.style_weights,
                       self.form.reduction, self.form.gram_normalize)
        t = tv_loss(image, self.tv_weight, self.form.tv)
        s = tf.cast(s, c.dtype)
        return {"content": c, "style": s, "tv": t, "total": c + s + t}


def make_adam_step(losses, optimizer, clip=None, jit_compile=False):
    """A compiled step: losses of `image` (before the update), one Adam update, clip."""

    def step(image):
        with tf.GradientTape() as tape:
            values = losses(image)
        grad = tape.gradient(values["total"], image)
        optimizer.apply_gradients([(grad, image)])
        if clip is not None:
            image.assign(tf.clip_by_value(image, clip[0], clip[1]))
        return values

    # autograph=False: the step has no tensor-dependent Python control flow to convert.
    return tf.function(step, jit_compile=jit_compile, autograph=False)


def _progress(step, total, values, start):
    rate = (step + 1) / max(time.perf_counter() - start, 1e-9)
    sys.stderr.write(f"\rstep {step + 1}/{total}  content {values['content']:.3e}  style "
                     f"{values['style']:.3e}  tv {values['tv']:.3e}  ({rate:.2f} it/s) ")
    sys.stderr.flush()


def optimize(losses, image, schedule, clip=None, snapshot_every=0, on_snapshot=None,
             progress=False, jit_compile=False):
    """Runs `schedule` on the variable `image` (1, H, W, 3); Ctrl-C stops it early.

    Returns:
        (history dict, steps done, interrupted flag). `image` holds the latest image.
    """
    history = {k: [] for k in ("content", "style", "tv", "total")}
    done, interrupted, start = 0, False, time.perf_counter()

    def record(values):
        for k in history:
            history[k].append(float(values[k]))

    try:
        if schedule.optimizer == "lbfgs":
            done = _lbfgs(losses, image, schedule, clip, record, snapshot_every, on_snapshot)
        else:
            step = make_adam_step(losses, schedule.adam(), clip, jit_compile)
            for t in range(schedule.num_iterations):
                record(step(image))
                done = t + 1
                if progress:
                    _progress(t, schedule.num_iterations, {k: v[-1] for k, v in history.items()},
                              start)
                if snapshot_every and on_snapshot and done % snapshot_every == 0:
                    on_snapshot(done, image.numpy())
    except KeyboardInterrupt:
        interrupted = True  # the variable keeps the last completed step's image
    if progress:
        sys.stderr.write("\n")
    return history, done, interrupted


def _lbfgs(losses, image, schedule, clip, record, snapshot_every=0, on_snapshot=None):
    """SciPy L-BFGS-B on the image; one history entry per iteration."""
    from scipy.optimize import minimize  # optional dependency: only L-BFGS needs it

    shape, dtype = image.shape, image.dtype

    @tf.function(autograph=False)
    def value_and_grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            values = losses(x)
        return values, tape.gradient(values["total"], x)

    last, before = {}, {}

    def fun(flat):
        values, grad = value_and_grad(tf.constant(flat.reshape(shape), dtype))
        last.update(values)
        if not before:  # SciPy evaluates the start first
            before.update(values)
        return float(values["total"]), grad.numpy().astype(np.float64).ravel()

    def callback(xk):
        # As for Adam, entry i holds the losses before iteration i; the variable follows
        # every iterate, so Ctrl-C leaves the latest one.
        record(before)
        before.update(last)
        steps.append(1)
        image.assign(xk.reshape(shape).astype(image.dtype.as_numpy_dtype))
        if snapshot_every and on_snapshot and len(steps) % snapshot_every == 0:
            on_snapshot(len(steps), image.numpy())

    bounds = [clip] * int(np.prod(shape)) if clip is not None else None
    steps = []
    result = minimize(fun, image.numpy().astype(np.float64).ravel(), jac=True,
                      method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": schedule.num_iterations}, callback=callback)
    image.assign(result.x.reshape(shape).astype(image.dtype.as_numpy_dtype))
    return len(steps)


def _check_layer_args(backbone, content_layer, style_layers, style_weights):
    if len(style_layers) != len(style_weights):
        raise ValueError(f"style_layers and style_weights must have the same length, got "
                         f"{len(style_layers)} and {len(style_weights)}")
    backbone.check_layers([content_layer], "content_layer")
    backbone.check_layers(style_layers, "style layer")


def _check_size(backbone, layers, what, side, where=""):
    need = backbone.min_size(layers)
    if side < need:
        raise ValueError(f"the {what} is {side} px on its shorter side{where}; {backbone.name} "
                         f"needs at least {need} px to reach layer {max(layers)}")


def _mask(style_mask):
    mask = np.asarray(style_mask, np.float32)
    if mask.ndim != 2:
        raise ValueError(f"style_mask must be (H, W), got shape {mask.shape}")
    if not np.all((mask >= 0) & (mask <= 1)):  # also False for NaN
        raise ValueError(f"style_mask must hold values in [0, 1], got {np.nanmin(mask)} to "
                         f"{np.nanmax(mask)} ({np.count_nonzero(np.isnan(mask))} NaN)")
    return mask


def style_transfer(content_image, style_image, image_size, style_size, content_layer,
                   content_weight, style_layers, style_weights, tv_weight, init_random=False,
                   *, backbone="vgg16-hed", weights=None, loss_form="course", schedule=None,
                   preserve_colors=False, style_mask=None, scales=1, seed=0, snapshot_every=0,
                   on_snapshot=None, progress=False, jit_compile=False):
    """The course's `style_transfer`, returning the image and its loss history.

    Args:
        content_image, style_image: paths, PIL images or arrays (see `load_image`).
        image_size, style_size: shorter side of the content (output) and style images, px.
        content_layer: layer index (the backbone's indexing, see `style_backbones`).
        content_weight, tv_weight: scalars; style_weights: one per entry of style_layers.
        init_random: start from uniform noise in [0, 1) (the course's) instead of the content.
        backbone: "vgg16-hed", "squeezenet", "vgg19" or a `style_backbones.Backbone`.
        weights: the backbone's weights file where it needs one.
        loss_form: a key of `LOSS_FORMS` or a `LossForm`.
        schedule: a `Schedule` (default: the course's).
        preserve_colors: keep the content's colours (`preserve_color`).
        style_mask: (H, W) in [0, 1], resized to each style layer: where the image's style
            statistics are taken (its Grams still divide by the whole map's size).
        scales: coarse-to-fine: run the schedule at image_size / 2**k for k = scales-1 .. 0,
            upsampling the result each time.
        seed: seeds the random start.
        snapshot_every, on_snapshot: call ``on_snapshot(step, uint8 pixels)`` every k steps.
        progress: print the three losses as it runs.
        jit_compile: compile the Adam step with XLA (one compile per image size).

    Returns:
        A `StyleResult`; after Ctrl-C, the latest image with ``interrupted=True``.
    """
    if not isinstance(scales, int) or scales < 1:
        raise ValueError(f"scales must be a positive integer, got {scales!r}")
    mask = None if style_mask is None else _mask(style_mask)
    if isinstance(backbone, str):
        backbone = style_backbones.get_backbone(backbone, weights)
    schedule = schedule or Schedule()
    content_px = load_image(content_image, image_size)
    style_px = load_image(style_image, style_size)
    h, w = content_px.shape[:2]
    sizes = [(max(1, round(h / 2 ** k)), max(1, round(w / 2 ** k)))  # coarse to fine
             for k in reversed(range(scales))]
    _check_layer_args(backbone, content_layer, tuple(style_layers), tuple(style_weights))
    _check_size(backbone, [content_layer, *style_layers], "content image", min(sizes[0]),
                f" at the coarsest of {scales} scales" if scales > 1 else "")
    _check_size(backbone, style_layers, "style image", min(style_px.shape[:2]))
    style = tf.constant(backbone.from_pixels(style_px[None]))
    image, history, steps, interrupted, start = None, None, 0, False, time.perf_counter()
    for k, size in zip(reversed(range(scales)), sizes):
        content = tf.constant(backbone.from_pixels(
            load_image(content_px, None) if k == 0 else
            np.asarray(tf.image.resize(content_px[None], size, "bicubic")[0]))[None])
        losses = StyleLosses(backbone, content, style, content_layer, content_weight,
                             style_layers, style_weights, tv_weight, loss_form, mask)
        if image is not None:
            start_image = tf.image.resize(image, size, "bicubic")
        elif init_random:
            rng = np.random.default_rng(seed)
            start_image = rng.uniform(0.0, 1.0, content.shape).astype(np.float32)
        else:
            start_image = content
        image = tf.Variable(start_image, dtype=content.dtype)

        def snapshot(step, value, _offset=steps):
            on_snapshot(_offset + step, backbone.to_pixels(value)[0])

        part, done, interrupted = optimize(losses, image, schedule, backbone.clip,
                                           snapshot_every, on_snapshot and snapshot, progress,
                                           jit_compile)
        history = part if history is None else {k: history[k] + part[k] for k in history}
        steps += done
        image = tf.convert_to_tensor(image)
        if interrupted:
            break
    pixels = backbone.to_pixels(image.numpy())[0]
    if preserve_colors:
        pixels = preserve_color(pixels, content_px if pixels.shape == content_px.shape else
                                np.asarray(tf.image.resize(content_px[None], pixels.shape[:2])[0]))
    return StyleResult(image.numpy(), pixels, history, steps, interrupted,
                       time.perf_counter() - start)
