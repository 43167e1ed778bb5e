"""Image augmentation as seeded, stateless Keras preprocessing layers (d2l 14.1, torchvision).

The rules are torchvision's (transforms v0.2 onwards, PIL path), so a d2l recipe means the
same thing here: `RandomResizedCrop` samples its box exactly as
``RandomResizedCrop.get_params`` and resizes with PIL's bilinear (triangle) filter, which
widens when shrinking; `ColorJitter` blends with black / the mean grey / the grey image and
rotates hue, in a random order per image. `torchref.augment` implements the same rules in
NumPy/PIL and tests/test_augment_parity.py compares them pixel for pixel.

Every random draw is ``tf.random.stateless_*`` of a (2,) seed, so one seed gives one image:
a layer called with ``seed=`` is a pure function; called without, it takes the next seed
of its own `keras.random.SeedGenerator` (its constructor's `seed`). Each image of a batch
draws its own parameters. Layers accept (H, W, C) or (N, H, W, C), uint8 or float pixels in
[0, max_value], and return float32 (compute dtype) in the same range; `Normalize` ends it.

Functional ops take per-image parameters; the colour ops work on float images in [0, 1], as
torchvision's tensors (`resized_crop` on any range). Hue follows torchvision's float (tensor)
path: its PIL path rounds hue to 8 bits, moving saturated colours by several levels.
With training=False flips and jitter pass images through and `RandomResizedCrop` resizes
the whole image, so one pipeline also serves as the test-time transform.

Example:
    >>> aug = Compose([RandomHorizontalFlip(), RandomResizedCrop((64, 64), scale=(0.1, 1)),
    ...                ColorJitter(0.5, 0.5, 0.5, 0.1)], seed=0)
    >>> out = aug(images)                       # in a model, or:
    >>> ds = augment_dataset(ds, aug, seed=0)   # in tf.data, one fixed seed per element
"""

import math

import keras
import numpy as np
import tensorflow as tf

_register = keras.saving.register_keras_serializable(package="tfcs231n")

LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, as PIL's convert("L")


def _fold(seed, k):
    return tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), k)


# ----------------------------------------------------------------------------- geometry


def random_resized_crop_params(seed, n, height, width, scale=(0.08, 1.0),
                               ratio=(3 / 4, 4 / 3), attempts=10):
    """torchvision's `RandomResizedCrop.get_params`, for n images at once.

    Ten attempts: area U(scale) * H * W, aspect ratio log-uniform in `ratio`,
    w = round(sqrt(area * r)), h = round(sqrt(area / r)); the first with 0 < w <= W and
    0 < h <= H wins, its top/left uniform integers. None: a central crop with the aspect
    ratio clamped into `ratio`.

    Returns:
        int32 (n, 4) boxes [top, left, h, w] in pixels, and bool (n,) "an attempt won".
    """
    f64 = tf.float64
    H, W = tf.cast(height, f64), tf.cast(width, f64)
    fraction = tf.random.stateless_uniform((n, attempts), _fold(seed, 0), scale[0], scale[1],
                                           dtype=f64)
    log_r = tf.random.stateless_uniform((n, attempts), _fold(seed, 1), math.log(ratio[0]),
                                        math.log(ratio[1]), dtype=f64)
    area, aspect = H * W * fraction, tf.exp(log_r)
    w = tf.round(tf.sqrt(area * aspect))  # tf.round and Python's round: half to even
    h = tf.round(tf.sqrt(area / aspect))
    ok = (w > 0) & (w <= W) & (h > 0) & (h <= H)  # (n, attempts)
    first = tf.argmax(tf.cast(ok, tf.int32), axis=1)  # the first True; 0 when none
    accepted = tf.reduce_any(ok, axis=1)
    w, h = tf.gather(w, first, batch_dims=1), tf.gather(h, first, batch_dims=1)
    u = tf.random.stateless_uniform((n, 2), _fold(seed, 2), dtype=f64)
    top, left = tf.floor(u[:, 0] * (H - h + 1)), tf.floor(u[:, 1] * (W - w + 1))

    lo, hi = min(ratio), max(ratio)
    in_ratio = W / H
    fw = tf.where(in_ratio < lo, W, tf.where(in_ratio > hi, tf.round(H * hi), W))
    fh = tf.where(in_ratio < lo, tf.round(W / lo), H)
    ftop, fleft = tf.floor((H - fh) / 2), tf.floor((W - fw) / 2)
    pick = lambda a, b: tf.where(accepted, a, b)  # noqa: E731
    boxes = tf.stack([pick(top, ftop), pick(left, fleft), pick(h, fh), pick(w, fw)], axis=1)
    return tf.cast(boxes, tf.int32), accepted


def bilinear_weights(start, length, in_size, out_size, dtype=tf.float32):
    """PIL's BILINEAR resampling of the pixels [start, start + length) to out_size, as a matrix.

    Output pixel o samples centre c = start + (o + 0.5) * s, s = length / out_size, with a
    triangle of half-width max(s, 1) (anti-aliasing when shrinking), normalised over the
    pixels inside the box; as PIL resizing the cropped image.

    Args:
        start, length: (n,) integer box start and size along one axis.

    Returns:
        (n, out_size, in_size) weights whose rows sum to 1.
    """
    start, length = tf.cast(start, tf.float64), tf.cast(length, tf.float64)
    s = length / out_size  # (n,)
    support = tf.maximum(s, 1.0)
    centres = start[:, None] + (tf.range(out_size, dtype=tf.float64) + 0.5) * s[:, None]
    q = tf.range(tf.cast(in_size, tf.float64), dtype=tf.float64)  # (in,) pixel indices
    d = (q + 0.5 - centres[:, :, None]) / support[:, None, None]  # (n, out, in)
    inside = (q >= start[:, None, None]) & (q < (start + length)[:, None, None])
    zero = tf.zeros_like(d)
    w = tf.where(inside, tf.maximum(zero, 1.0 - tf.abs(d)), zero)
    return tf.cast(w / tf.reduce_sum(w, axis=-1, keepdims=True), dtype)


def resized_crop(images, boxes, size):
    """Crops each image to its box and resizes it bilinearly (PIL's filter) to `size`.

    Args:
        images: (N, H, W, C) float.
        boxes: (N, 4) integer [top, left, h, w].
        size: (out_h, out_w).

    Returns:
        (N, out_h, out_w, C).
    """
    shape = tf.shape(images)
    wh = bilinear_weights(boxes[:, 0], boxes[:, 2], shape[1], size[0], images.dtype)
    ww = bilinear_weights(boxes[:, 1], boxes[:, 3], shape[2], size[1], images.dtype)
    rows = tf.einsum("nah,nhwc->nawc", wh, images)  # (N, out_h, W, C)
    return tf.einsum("nbw,nawc->nabc", ww, rows)  # (N, out_h, out_w, C)


def hflip(images):
    return tf.reverse(images, axis=[-2])


def vflip(images):
    return tf.reverse(images, axis=[-3])


# ----------------------------------------------------------------------------- colour


def grayscale(x):
    """(..., H, W, 3) -> (..., H, W) luma."""
    return tf.tensordot(x, tf.constant(LUMA, x.dtype), axes=[[-1], [0]])


def _per_image(f, x):
    return tf.reshape(tf.cast(f, x.dtype), [-1, 1, 1, 1])


def _blend(x, other, f):
    f = _per_image(f, x)
    return tf.clip_by_value(f * x + (1.0 - f) * other, 0.0, 1.0)


def adjust_brightness(x, factor):
    """Blend with black: clip(f * x). x (N, H, W, 3) in [0, 1], factor (N,)."""
    return _blend(x, tf.zeros_like(x), factor)


def adjust_contrast(x, factor):
    """Blend with the mean of the image's luma (one grey level per image)."""
    mean = tf.reduce_mean(grayscale(x), axis=[1, 2])  # (N,)
    return _blend(x, _per_image(mean, x), factor)


def adjust_saturation(x, factor):
    """Blend with the image's own luma (grey) image."""
    return _blend(x, grayscale(x)[..., None], factor)


def rgb_to_hsv(x):
    """torchvision's float RGB -> HSV, (..., 3) in [0, 1]; h is a fraction of the circle."""
    r, g, b = tf.unstack(x, axis=-1)
    maxc, minc = tf.reduce_max(x, -1), tf.reduce_min(x, -1)
    eqc = maxc == minc  # grey: hue undefined, set to 0
    cr = maxc - minc
    s = cr / tf.where(eqc, tf.ones_like(maxc), maxc)
    div = tf.where(eqc, tf.ones_like(cr), cr)
    rc, gc, bc = (maxc - r) / div, (maxc - g) / div, (maxc - b) / div
    h = tf.where(maxc == r, bc - gc, tf.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = tf.math.floormod(tf.where(eqc, tf.zeros_like(h), h) / 6.0 + 1.0, 1.0)
    return tf.stack([h, s, maxc], axis=-1)


def hsv_to_rgb(hsv):
    """HSV -> RGB by the closed form c_n = v - v s clip(min(k, 4 - k), 0, 1), k = (n + 6h)
    mod 6 with n = 5, 3, 1 for r, g, b: torchvision's six-sector table in one expression
    (and its clamps of p, q, t are no-ops for s, v in [0, 1])."""
    h, s, v = tf.unstack(hsv, axis=-1)
    n = tf.constant([5.0, 3.0, 1.0], hsv.dtype)
    k = tf.math.floormod(n + 6.0 * h[..., None], 6.0)  # (..., 3)
    ramp = tf.clip_by_value(tf.minimum(k, 4.0 - k), 0.0, 1.0)
    return v[..., None] * (1.0 - s[..., None] * ramp)


def adjust_hue(x, hue_factor):
    """Rotates hue by hue_factor (N,) in [-0.5, 0.5], a fraction of the hue circle."""
    hsv = rgb_to_hsv(x)
    h = tf.math.floormod(hsv[..., 0] + _per_image(hue_factor, x)[..., 0], 1.0)
    return hsv_to_rgb(tf.concat([h[..., None], hsv[..., 1:]], axis=-1))


ADJUSTMENTS = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
_IDENTITY = (1.0, 1.0, 1.0, 0.0)  # the factor of each adjustment that changes nothing


def color_jitter(x, order, factors, enabled=(True,) * 4):
    """Applies brightness, contrast, saturation, hue (indices 0-3) in each image's order.

    Args:
        x: (N, H, W, 3) in [0, 1].
        order: int (N, 4), a permutation of 0..3 per image.
        factors: (N, 4) [brightness, contrast, saturation, hue] factors.
        enabled: which adjustments exist at all (a disabled one is skipped, as torchvision
            skips a None factor).

    At each of the four steps every image applies one adjustment: the three blends share
    one pass (they differ only in what they blend with), and hue, the costly one, runs only
    on the images whose turn it is.
    """
    order = tf.convert_to_tensor(order)
    factors = tf.cast(factors, x.dtype)
    blend_on = tf.constant(enabled[:3] + (False,))
    for step in range(4):
        k = order[:, step]  # (N,) which adjustment each image applies now
        f = tf.gather(factors, k, batch_dims=1)  # (N,)
        gray = grayscale(x)  # (N, H, W)
        level = tf.where(k == 1, tf.reduce_mean(gray, axis=[1, 2]), tf.zeros_like(f))
        other = tf.where(tf.reshape(k == 2, [-1, 1, 1]), gray, level[:, None, None])
        blended = _blend(x, other[..., None], f)
        x_next = tf.where(tf.reshape(tf.gather(blend_on, k), [-1, 1, 1, 1]), blended, x)
        if enabled[3]:
            turn = tf.where(k == 3)  # (M, 1) images rotating hue now
            hued = adjust_hue(tf.gather_nd(x, turn), tf.gather_nd(f, turn))
            x_next = tf.tensor_scatter_nd_update(x_next, turn, hued)
        x = x_next
    return x


def jitter_range(value, name, center=1.0, bound=(0.0, math.inf)):
    """torchvision's `ColorJitter._check_input`: v -> [max(lo, c - v), c + v]; None if off."""
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value}")
        value = (max(bound[0], center - value), center + value)
    value = tuple(float(v) for v in value)
    if len(value) != 2 or not bound[0] <= value[0] <= value[1] <= bound[1]:
        raise ValueError(f"{name} range must lie in {bound} and be ordered, got {value}")
    return None if value[0] == value[1] == center else value


def color_jitter_params(seed, n, ranges):
    """`ColorJitter.get_params` per image: (order int32 (n, 4), factors float32 (n, 4))."""
    order = tf.argsort(tf.random.stateless_uniform((n, 4), _fold(seed, 0)), axis=1)
    factors = []
    for j, r in enumerate(ranges):
        lo, hi = r if r is not None else (_IDENTITY[j], _IDENTITY[j])
        factors.append(tf.random.stateless_uniform((n,), _fold(seed, j + 1), lo, hi))
    return order, tf.stack(factors, axis=1)


# ----------------------------------------------------------------------------- layers


def _seed_tensor(seed):
    seed = tf.convert_to_tensor(seed)
    if seed.shape.rank == 0:
        seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
    return tf.cast(seed, tf.int64)


class _Transform(keras.layers.Layer):
    """Batches a lone image, casts pixels to the compute dtype, supplies the seed."""

    random = True

    def __init__(self, seed=None, max_value=255.0, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.max_value = float(max_value)
        if self.max_value <= 0:
            raise ValueError(f"max_value must be positive, got {max_value}")
        self._generator = keras.random.SeedGenerator(seed) if self.random else None

    def call(self, images, training=True, seed=None):
        x = tf.convert_to_tensor(images)
        if x.shape.rank not in (3, 4):
            raise ValueError(f"{self.name}: images must be (H, W, C) or (N, H, W, C), got "
                             f"shape {x.shape}")
        single = x.shape.rank == 3
        x = tf.cast(x[None] if single else x, self.compute_dtype)
        if self.random:
            seed = self._generator.next() if seed is None else _seed_tensor(seed)
        x = self.transform(x, seed, training)
        return x[0] if single else x

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "max_value": self.max_value}


def _probability(p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    return float(p)


@_register
class RandomHorizontalFlip(_Transform):
    """Mirrors each image left-right with probability `p` (torchvision's default 0.5)."""

    axis = -2

    def __init__(self, p=0.5, **kwargs):
        super().__init__(**kwargs)
        self.p = _probability(p)

    def transform(self, x, seed, training):
        if not training:
            return x
        flip = tf.random.stateless_uniform(tf.shape(x)[:1], seed) < self.p  # (N,)
        return tf.where(flip[:, None, None, None], tf.reverse(x, [self.axis]), x)

    def get_config(self):
        return {**super().get_config(), "p": self.p}


@_register
class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirrors each image top-bottom with probability `p`."""

    axis = -3


@_register
class RandomResizedCrop(_Transform):
    """torchvision's `RandomResizedCrop`: a random box (see `random_resized_crop_params`)
    resized to `size` with PIL's bilinear filter.

    Args:
        size: (height, width) of the output, or one int for a square.
        scale: range of the box's area as a fraction of the image's.
        ratio: range of the box's width / height (sampled log-uniformly).

    With training=False the whole image is resized to `size` (no crop).
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), **kwargs):
        super().__init__(**kwargs)
        size = (size, size) if isinstance(size, int) else tuple(size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"size must be (height, width) of positive ints, got {size}")
        scale, ratio = tuple(map(float, scale)), tuple(map(float, ratio))
        if not 0 < scale[0] <= scale[1]:
            raise ValueError(f"scale must be (min, max) with 0 < min <= max, got {scale}")
        if not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f"ratio must be (min, max) with 0 < min <= max, got {ratio}")
        self.size, self.scale, self.ratio = tuple(int(s) for s in size), scale, ratio

    def transform(self, x, seed, training):
        shape = tf.shape(x)
        if training:
            boxes, _ = random_resized_crop_params(seed, shape[0], shape[1], shape[2],
                                                  self.scale, self.ratio)
        else:
            boxes = tf.tile([[0, 0, shape[1], shape[2]]], [shape[0], 1])
        return resized_crop(x, boxes, self.size)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-3], *self.size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "size": self.size, "scale": self.scale,
                "ratio": self.ratio}


@_register
class ColorJitter(_Transform):
    """torchvision's `ColorJitter`: per image, the four adjustments in a random order.

    Args:
        brightness, contrast, saturation: v >= 0 draws a factor from [max(0, 1 - v), 1 + v]
            (or give (min, max)); 0 disables.
        hue: h in [0, 0.5] draws a rotation from [-h, h], as a fraction of the hue circle.
    """

    def __init__(self, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0, **kwargs):
        super().__init__(**kwargs)
        self.brightness, self.contrast, self.saturation, self.hue = (
            brightness, contrast, saturation, hue)
        self.ranges = (jitter_range(brightness, "brightness"),
                       jitter_range(contrast, "contrast"),
                       jitter_range(saturation, "saturation"),
                       jitter_range(hue, "hue", 0.0, (-0.5, 0.5)))

    def transform(self, x, seed, training):
        if not training:
            return x
        order, factors = color_jitter_params(seed, tf.shape(x)[0], self.ranges)
        enabled = tuple(r is not None for r in self.ranges)
        x = color_jitter(x / self.max_value, order, tf.cast(factors, x.dtype), enabled)
        return x * self.max_value

    def get_config(self):
        return {**super().get_config(), "brightness": self.brightness,
                "contrast": self.contrast, "saturation": self.saturation, "hue": self.hue}


@_register
class Normalize(_Transform):
    """`ToTensor` + `Normalize`: (x / max_value - mean) / std per channel."""

    random = False

    def __init__(self, mean, std, **kwargs):
        super().__init__(**kwargs)
        self.mean, self.std = [float(m) for m in mean], [float(s) for s in std]
        if len(self.mean) != len(self.std) or min(self.std) <= 0:
            raise ValueError(f"mean and std need one entry per channel and std > 0, got "
                             f"mean={mean}, std={std}")

    def transform(self, x, seed, training):
        mean, std = tf.constant(self.mean, x.dtype), tf.constant(self.std, x.dtype)
        return (x / self.max_value - mean) / std

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std}


@_register
class Compose(_Transform):
    """Applies transforms in order; transform k gets the seed folded with k."""

    def __init__(self, transforms, **kwargs):
        super().__init__(**kwargs)
        self.transforms = [t if isinstance(t, keras.layers.Layer)
                           else keras.saving.deserialize_keras_object(t) for t in transforms]

    def transform(self, x, seed, training):
        for k, t in enumerate(self.transforms):
            x = t(x, training=training, seed=_fold(seed, k)) if getattr(t, "random", False) \
                else t(x, training=training)
        return x

    def get_config(self):
        return {**super().get_config(),
                "transforms": [keras.saving.serialize_keras_object(t) for t in self.transforms]}


def augment_dataset(ds, aug, seed, training=True):
    """Maps `aug` over a tf.data dataset of (image, label), element i with seed (seed, i), so
    the result does not depend on parallelism or on how the data are batched later."""
    def fn(i, image, label):
        return aug(image, training=training, seed=tf.stack([tf.cast(seed, tf.int64), i])), label

    return ds.enumerate().map(lambda i, el: fn(i, *el), num_parallel_calls=tf.data.AUTOTUNE)


def apply(img, aug, rows=2, cols=4, seed=0, path=None, scale=1.5):
    """d2l's `apply`: `aug` on `img` rows * cols times, as a grid.

    Args:
        img: uint8 (H, W, 3).
        path: where to write the PNG grid (None: no figure).

    Returns:
        uint8 (rows * cols, h, w, 3) augmented images (and the figure written to `path`).
    """
    batch = tf.repeat(tf.convert_to_tensor(img)[None], rows * cols, axis=0)
    out = aug(batch, training=True, seed=seed)
    images = np.clip(np.rint(np.asarray(out)), 0, 255).astype(np.uint8)
    if path is not None:
        from tfcs231n import plotting

        grid = [[(images[r * cols + c], "", None) for c in range(cols)] for r in range(rows)]
        plotting.image_rows(grid, path, size=scale)
    return images
