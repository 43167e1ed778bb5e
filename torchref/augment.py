"""Reference image augmentation: torchvision's rules in NumPy and PIL, for `tfcs231n.vision.augment`.

Images are uint8 (H, W, 3) NumPy arrays, as a PIL image would hold them. What follows
torchvision's PIL path (transforms v0.2 onwards):

* `random_resized_crop_params`: `RandomResizedCrop.get_params`, attempt for attempt;
* `resized_crop`: ``img.crop(box).resize(size, Image.BILINEAR)`` (PIL's triangle filter,
  widened when shrinking, so it anti-aliases);
* `adjust_brightness` / `adjust_contrast` / `adjust_saturation`: `PIL.ImageEnhance`, i.e. a
  blend with black, with the mean of the 'L' (ITU-R 601-2 luma) image, and with the 'L'
  image, PIL's uint8 truncation included;
* `color_jitter_params`: `ColorJitter.get_params` (a random order of the four, then factors).

`adjust_hue` departs from PIL on purpose: torchvision's PIL path rounds hue to 8 bits
(256 steps round the circle), which moves a saturated colour by up to ~6 levels, so it is
no reference for a float implementation. It follows torchvision's tensor path instead
(float RGB -> HSV, rotate h, -> RGB). The `*_float` functions are that tensor path for all
four adjustments, used to check a whole jitter without PIL's rounding between steps.
"""

import math

import numpy as np
from PIL import Image, ImageEnhance

# ITU-R 601-2 luma, as PIL's convert("L").
LUMA = np.array([0.299, 0.587, 0.114])


def random_resized_crop_params(rng, height, width, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    """torchvision's `RandomResizedCrop.get_params` with a NumPy generator.

    Returns:
        (top, left, h, w) in pixels, and whether an attempt was accepted (False: the
        central-crop fallback was used).
    """
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return (top, left, h, w), True
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return ((height - h) // 2, (width - w) // 2, h, w), False


def resized_crop(img, top, left, h, w, size):
    """Crops the box and resizes it to `size` = (height, width) with PIL's BILINEAR."""
    pil = Image.fromarray(np.asarray(img, np.uint8))
    pil = pil.crop((left, top, left + w, top + h)).resize((size[1], size[0]), Image.BILINEAR)
    return np.asarray(pil)


def hflip(img):
    return np.ascontiguousarray(np.asarray(img)[:, ::-1])


def vflip(img):
    return np.ascontiguousarray(np.asarray(img)[::-1])


def _enhance(enhancer, img, factor):
    return np.asarray(enhancer(Image.fromarray(np.asarray(img, np.uint8))).enhance(factor))


def adjust_brightness(img, factor):
    return _enhance(ImageEnhance.Brightness, img, factor)


def adjust_contrast(img, factor):
    return _enhance(ImageEnhance.Contrast, img, factor)


def adjust_saturation(img, factor):
    return _enhance(ImageEnhance.Color, img, factor)


# ----------------------------------------------------------------------------- float path


def rgb_to_hsv(rgb):
    """torchvision's `_rgb2hsv` on float (..., 3) in [0, 1]: h, s, v in [0, 1]."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    maxc, minc = rgb.max(-1), rgb.min(-1)
    eqc = maxc == minc
    cr = maxc - minc
    s = cr / np.where(eqc, 1.0, maxc)
    div = np.where(eqc, 1.0, cr)
    rc, gc, bc = (maxc - r) / div, (maxc - g) / div, (maxc - b) / div
    h = np.where(maxc == r, bc - gc,
                 np.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = np.where(eqc, 0.0, h)
    return np.stack([np.fmod(h / 6.0 + 1.0, 1.0), s, maxc], -1)


def hsv_to_rgb(hsv):
    """torchvision's `_hsv2rgb` on float (..., 3)."""
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int64) % 6
    p = np.clip(v * (1.0 - s), 0, 1)
    q = np.clip(v * (1.0 - s * f), 0, 1)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0, 1)
    table = np.stack([np.stack(c, -1) for c in
                      [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]], -2)
    return np.take_along_axis(table, i[..., None, None], -2)[..., 0, :]


def _blend(a, b, factor):
    return np.clip(factor * a + (1.0 - factor) * b, 0.0, 1.0)


def grayscale_float(x):
    return x @ LUMA  # (..., H, W)


def adjust_brightness_float(x, factor):
    return _blend(x, 0.0, factor)


def adjust_contrast_float(x, factor):
    return _blend(x, grayscale_float(x).mean(), factor)


def adjust_saturation_float(x, factor):
    return _blend(x, grayscale_float(x)[..., None], factor)


def adjust_hue_float(x, hue_factor):
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor must be in [-0.5, 0.5], got {hue_factor}")
    hsv = rgb_to_hsv(x)
    hsv[..., 0] = np.mod(hsv[..., 0] + hue_factor, 1.0)
    return hsv_to_rgb(hsv)


def _uint8_path(fn):
    def wrapped(img, factor):
        x = np.asarray(img, np.float64) / 255.0
        return np.clip(np.rint(fn(x, factor) * 255.0), 0, 255).astype(np.uint8)
    return wrapped


adjust_hue = _uint8_path(adjust_hue_float)

FLOAT_ADJUSTMENTS = (adjust_brightness_float, adjust_contrast_float,
                     adjust_saturation_float, adjust_hue_float)


def color_jitter_float(img, order, factors):
    """The four adjustments in `order` (indices 0 b, 1 c, 2 s, 3 h; None factor: skipped),
    in float without rounding between steps; uint8 in and out."""
    x = np.asarray(img, np.float64) / 255.0
    for k in order:
        if factors[k] is not None:
            x = FLOAT_ADJUSTMENTS[k](x, factors[k])
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def jitter_range(value, center=1.0, bound=(0.0, math.inf)):
    """torchvision's `ColorJitter._check_input`: a number v -> [max(lo, c - v), c + v]."""
    if isinstance(value, (int, float)):
        value = (max(bound[0], center - value), center + value)
    return None if value[0] == value[1] == center else tuple(value)


def color_jitter_params(rng, brightness=0, contrast=0, saturation=0, hue=0):
    """`ColorJitter.get_params`: (order, [b, c, s, h] factors, None where disabled)."""
    order = rng.permutation(4)
    ranges = (jitter_range(brightness), jitter_range(contrast), jitter_range(saturation),
              jitter_range(hue, 0.0, (-0.5, 0.5)))
    return order, [None if r is None else rng.uniform(*r) for r in ranges]


def normalize(img, mean, std):
    """`ToTensor` then `Normalize`: (img / 255 - mean) / std, channels last."""
    return (np.asarray(img, np.float64) / 255.0 - np.asarray(mean)) / np.asarray(std)
