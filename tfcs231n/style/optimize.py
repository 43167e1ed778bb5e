"""Style transfer, feature inversion and texture synthesis: the image optimisation.

`style_transfer` optimises an image with a `tf.function` step inside a plain Python loop
(Adam with the course's schedule, or L-BFGS), through any backbone of
`tfcs231n.style.backbones`, on the losses of `tfcs231n.style.losses`. Feature inversion is
style weights 0 with a random start, texture synthesis is content weight 0. Named set-ups
live in `tfcs231n.style.presets`.

Example:
    >>> from tfcs231n.style.presets import PRESETS
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

from tfcs231n.style import backbones as style_backbones
from tfcs231n.style.images import load_image, preserve_color
from tfcs231n.style.losses import StyleLosses, _check_layer_args



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
