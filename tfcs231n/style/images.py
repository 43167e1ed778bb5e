"""Images in and out of style transfer: files, arrays and shipped photos as uint8 RGB, the
content at each coarse-to-fine scale, and colour preservation of a stylised result."""

import os
from pathlib import Path

import numpy as np

from tfcs231n._checks import finite


def course_images_dir():
    """The course's images (tubingen.jpg, ...): $TFCS231N_COURSE_IMAGES, else
    ``../shared/data/course-images`` beside the repository; None when absent. Never
    shipped with the package."""
    path = os.environ.get("TFCS231N_COURSE_IMAGES")
    if not path:
        path = Path(__file__).resolve().parents[3] / "shared" / "data" / "course-images"
    path = Path(path)
    return path if path.is_dir() else None


def sample_image(name):
    """An offline photo shipped in the scikit-image wheel (chelsea, coffee, astronaut, ...),
    as uint8 (H, W, 3)."""
    import skimage.data

    loader = getattr(skimage.data, name, None)
    if loader is None:
        raise ValueError(f"skimage.data has no image {name!r}")
    return _to_rgb(np.asarray(loader()), f"skimage.data.{name}")


def _to_rgb(array, what):
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4):
        raise ValueError(f"{what} must be (H, W), (H, W, 1|3|4), got shape {array.shape}")
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    if array.shape[-1] == 4:  # composite on white, as a viewer shows a transparent image
        alpha = array[..., 3:].astype(np.float64) / (255.0 if array.dtype == np.uint8 else 1.0)
        array = alpha * array[..., :3] + (1 - alpha) * (255.0 if array.dtype == np.uint8 else 1.0)
    if array.dtype != np.uint8:
        # np.rint/astype would turn NaN into black pixels without a word
        array = finite(what, np.asarray(array, np.float64))
        array = array * 255.0 if array.max() <= 1.0 else array
        array = np.clip(np.rint(array), 0, 255)
    return array.astype(np.uint8)


def load_image(source, size=None):
    """An image as uint8 RGB (H, W, 3), its shorter side resized to `size` when given.

    The resize is the course's (`scipy.misc.imresize` by a scale factor): bilinear, both
    sides scaled by size / shorter side and truncated to whole pixels, so the course's
    checks on a loaded image (e.g. its total-variation value) come out the same.

    Args:
        source: a file path, a PIL image, or an array (H, W), (H, W, 1), (H, W, 3) or
            (H, W, 4) (uint8, or floats in [0, 1] or [0, 255]). Grayscale and RGBA are
            converted (alpha composited on white).

    Raises:
        ValueError: unreadable or non-image file, or a bad array shape.
    """
    from PIL import Image, UnidentifiedImageError

    if size is not None and (not isinstance(size, (int, np.integer)) or size < 1):
        raise ValueError(f"size must be a positive number of pixels, got {size!r}")
    if isinstance(source, (str, os.PathLike)):
        try:
            with Image.open(source) as im:
                im = im.convert("RGBA") if im.mode in ("RGBA", "LA", "P") else im.convert("RGB")
                array = np.asarray(im)
        except (FileNotFoundError, IsADirectoryError, UnidentifiedImageError, OSError) as e:
            raise ValueError(f"cannot read image {source}: {e}") from e
        what = str(source)
    elif isinstance(source, Image.Image):
        array, what = np.asarray(source.convert("RGBA")), "the PIL image"
    else:
        array, what = np.asarray(source), "the image array"
    array = _to_rgb(array, what)
    if size is not None:
        h, w = array.shape[:2]
        scale = float(size) / min(h, w)
        new = (max(1, int(w * scale)), max(1, int(h * scale)))
        array = np.asarray(Image.fromarray(array).resize(new, Image.BILINEAR))
    return array


def content_pyramid(pixels, scales):
    """The content image at each scale of a coarse-to-fine run, coarsest first.

    Args:
        pixels: uint8 (H, W, 3).
        scales: number of levels; level k (k = scales-1 .. 0) has sides round(H / 2**k),
            round(W / 2**k) (at least 1).

    Returns:
        A list of `scales` arrays (h_k, w_k, 3): bicubic float32 resizes in [0, 255] (bicubic
        may overshoot slightly), then `pixels` itself as the last, finest level.
    """
    import tensorflow as tf  # only coarse-to-fine runs need it; loading images does not

    h, w = pixels.shape[:2]
    levels = [np.asarray(tf.image.resize(pixels[None], (max(1, round(h / 2 ** k)),
                                                        max(1, round(w / 2 ** k))),
                                         "bicubic")[0])
              for k in reversed(range(1, scales))]
    return [*levels, pixels]


def preserve_color(stylised, content):
    """Keeps the stylised luminance and the content's colour: YIQ chrominance swap
    (Gatys et al. 2017, "Controlling perceptual factors", colour preservation by luminance-only
    transfer, applied here after optimisation). uint8 (H, W, 3) both; sizes must match."""
    rgb2yiq = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322],
                        [0.211, -0.523, 0.312]])
    s = np.asarray(stylised, np.float64) @ rgb2yiq.T
    c = np.asarray(content, np.float64) @ rgb2yiq.T
    out = np.concatenate([s[..., :1], c[..., 1:]], axis=-1) @ np.linalg.inv(rgb2yiq).T
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
