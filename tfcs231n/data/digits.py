"""MNIST-like handwritten-style digits rendered offline from the fonts that ship with Matplotlib.

`load_synthetic_digits` returns exactly what `keras.datasets.mnist.load_data()` returns:
``((x_train, y_train), (x_test, y_test))`` with ``x`` uint8 of shape (N, 28, 28) in 0..255
(white digit on black) and ``y`` uint8 of shape (N,) in 0..9. It stands in for MNIST when
the real files are missing (GANs, the MNIST CNN) and is a pure function of its arguments.

How a digit is made (MNIST's own recipe where it has one): every digit of every font is
rendered once at 4x resolution and at several stroke widths, cropped to its bounding box,
scaled so its longer side is 20 px and placed with its centre of mass at the centre of the
canvas (as MNIST was normalised), then box-filtered down to 1x. Each sample warps one such
template with a random affine map (rotation, shear, anisotropic scale, shift) plus a smooth
random displacement field (a cheap stand-in for the wobble of handwriting), sampled
bilinearly for a whole batch at once in NumPy. Ink intensity varies per image and mild
noise roughens the strokes; the background stays exactly 0 like MNIST's.

Example:
    >>> (x_train, y_train), (x_test, y_test) = load_synthetic_digits(n_train=600, n_test=100)
    >>> x_train.shape, x_train.dtype, y_train[:5]  # doctest: +SKIP
    ((600, 28, 28), dtype('uint8'), array([7, 2, 0, 4, 9], dtype=uint8))
"""

from pathlib import Path

import numpy as np

from tfcs231n._io import atomic_path
from tfcs231n.data.download import data_dir

# Bump whenever the output for a given seed changes; it is part of the cache key.
VERSION = "1"

IMAGE_SIZE = 28
NUM_CLASSES = 10

# Fonts from matplotlib's mpl-data, so every install renders the same glyphs. Symbol-only
# and display fonts are left out; the Computer Modern fonts carry their digits at ASCII.
FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf", "STIXGeneral.ttf",
    "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmb10.ttf", "cmti10.ttf",
)
_SUPERSAMPLE = 4  # glyphs are rendered at 4x and box-filtered down, for smooth edges
_STROKES = (0, 1, 2, 4)  # PIL stroke widths at 4x, i.e. 0 .. 1 px of extra ink per side at 1x
_BOX = 20  # MNIST fits each digit's longer side into a 20 px box
_CANVAS = 40  # template side at 1x: room for the affine map to reach outside the 28x28

# Affine jitter, chosen so a 6 never becomes a 9 and every digit stays inside the frame.
_ROTATION_DEG = 12.0
_SHEAR = 0.25
_SCALE = (0.8, 1.1)
_ASPECT = 0.12  # log-uniform stretch of x against y, +-12 %
_SHIFT_PX = 1.5
_WOBBLE_PX = 0.9  # amplitude of the smooth displacement field
_WOBBLE_GRID = 4  # control points per side of that field
_CHUNK = 4096  # samples warped per NumPy batch (bounds memory to a few tens of MB)


def load_synthetic_digits(seed=0, n_train=60000, n_test=10000):
    """MNIST-shaped synthetic digits, generated once per argument set and cached as .npz.

    Args:
        seed: non-negative int; the same seed gives the same arrays on every call.
        n_train: number of training images (MNIST: 60000).
        n_test: number of test images (MNIST: 10000).

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: ``x`` uint8 (N, 28, 28) in 0..255,
        white digit on black; ``y`` uint8 (N,) in 0..9, every class equally often (up to
        N mod 10). The test split is drawn from its own stream, so it does not change
        with ``n_train``.
    """
    seed, n_train, n_test = _check_int("seed", seed, 0), _check_int(
        "n_train", n_train, 0), _check_int("n_test", n_test, 0)
    path = data_dir("digits") / f"digits-v{VERSION}-seed{seed}-{n_train}-{n_test}.npz"
    if path.is_file():
        try:
            with np.load(path) as f:
                return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
        except (OSError, ValueError, KeyError):
            pass  # an unreadable cache is rebuilt below
    templates = glyph_templates()
    x_train, y_train = render_digits(n_train, np.random.default_rng([seed, 0]), templates)
    x_test, y_test = render_digits(n_test, np.random.default_rng([seed, 1]), templates)
    _save_atomic(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return (x_train, y_train), (x_test, y_test)


def render_digits(n, rng, templates=None):
    """Draws `n` digits from `rng` (a `np.random.Generator`).

    Returns:
        ``(x, y)``: uint8 (n, 28, 28) and uint8 (n,), classes balanced and shuffled.
    """
    n = _check_int("n", n, 0)
    templates = glyph_templates() if templates is None else templates  # (F, S, 10, C, C)
    n_fonts, n_strokes = templates.shape[:2]
    labels = rng.permutation(np.arange(n) % NUM_CLASSES).astype(np.uint8)
    font = rng.integers(0, n_fonts, n)
    stroke = rng.integers(0, n_strokes, n)
    flat = templates.reshape(-1, _CANVAS * _CANVAS)
    index = (font * n_strokes + stroke) * NUM_CLASSES + labels  # row of `flat` per sample
    images = np.empty((n, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        images[start:stop] = _warp(flat, index[start:stop], rng)
    return images, labels


def glyph_templates():
    """Every font x stroke x digit, MNIST-normalised: float32 (F, S, 10, 40, 40) in [0, 1].

    Computed once per process (about a second) and memoised.
    """
    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = np.stack([
            np.stack([np.stack([_render_glyph(font, str(d), w) for d in range(NUM_CLASSES)])
                      for w in _STROKES])
            for font in _font_paths()])
    return _TEMPLATES


_TEMPLATES = None


def _font_paths():
    import matplotlib

    root = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    missing = [f for f in FONTS if not (root / f).is_file()]
    if missing:
        raise FileNotFoundError(f"matplotlib's fonts {missing} are missing under {root}")
    return [root / f for f in FONTS]


def _render_glyph(font_path, char, stroke):
    """One digit, longer side 20 px, centre of mass at the canvas centre; (40, 40) floats."""
    from PIL import Image, ImageDraw, ImageFont

    s = _SUPERSAMPLE
    font = ImageFont.truetype(str(font_path), size=24 * s)
    big = Image.new("L", (64 * s, 64 * s), 0)
    ImageDraw.Draw(big).text((16 * s, 8 * s), char, fill=255, font=font,
                             stroke_width=stroke, stroke_fill=255)
    glyph = big.crop(big.getbbox())
    ratio = _BOX * s / max(glyph.size)
    glyph = glyph.resize((max(1, round(glyph.width * ratio)), max(1, round(glyph.height * ratio))),
                         Image.LANCZOS)
    ink = np.asarray(glyph, np.float64)
    rows, cols = np.indices(ink.shape)
    centre_y, centre_x = (ink * rows).sum() / ink.sum(), (ink * cols).sum() / ink.sum()
    canvas = Image.new("L", (_CANVAS * s, _CANVAS * s), 0)
    # Snap the paste offset to the supersampling grid so the 1x centre of mass lands at
    # the canvas centre to within a quarter pixel.
    left = round((_CANVAS * s / 2 - centre_x) / s) * s
    top = round((_CANVAS * s / 2 - centre_y) / s) * s
    canvas.paste(glyph, (left, top))
    small = canvas.resize((_CANVAS, _CANVAS), Image.BOX)
    return np.asarray(small, np.float32) / 255.0


def _warp(flat, index, rng):
    """Bilinearly samples templates `flat[index]` through random affine maps; uint8 (B, 28, 28)."""
    b = len(index)
    theta = np.deg2rad(rng.uniform(-_ROTATION_DEG, _ROTATION_DEG, b))
    shear = rng.uniform(-_SHEAR, _SHEAR, b)
    scale = rng.uniform(*_SCALE, b)
    aspect = np.exp(rng.uniform(-_ASPECT, _ASPECT, b))
    shift = rng.uniform(-_SHIFT_PX, _SHIFT_PX, (b, 2))
    wobble = rng.normal(0.0, _WOBBLE_PX, (b, 2, _WOBBLE_GRID * _WOBBLE_GRID))
    intensity = rng.uniform(0.8, 1.0, b)
    gain = rng.uniform(1.0, 1.6, b)  # >1 saturates stroke centres, as MNIST's scanner did
    noise = rng.normal(0.0, 0.06, (b, IMAGE_SIZE, IMAGE_SIZE))

    # Forward map template -> image is shift + R(theta) @ Shear @ diag(scale*aspect, scale/aspect);
    # we need its inverse to know where each output pixel reads from.
    cos, sin = np.cos(theta), np.sin(theta)
    fwd = np.empty((b, 2, 2))
    sx, sy = scale * aspect, scale / aspect
    # R @ [[1, shear], [0, 1]] @ diag(sx, sy), written out per sample: (B, 2, 2) as [[x], [y]].
    fwd[:, 0, 0], fwd[:, 0, 1] = cos * sx, (cos * shear - sin) * sy
    fwd[:, 1, 0], fwd[:, 1, 1] = sin * sx, (sin * shear + cos) * sy
    inv = np.linalg.inv(fwd)  # (B, 2, 2)

    centre_out = (IMAGE_SIZE - 1) / 2.0
    centre_in = (_CANVAS - 1) / 2.0
    grid = np.arange(IMAGE_SIZE, dtype=np.float64) - centre_out
    xs, ys = np.meshgrid(grid, grid)  # (28, 28): x along columns, y along rows
    pts = np.stack([xs.ravel(), ys.ravel()])  # (2, 784)
    field = wobble @ _wobble_basis()  # (B, 2, 784): smooth displacement in pixels
    rel = pts[None] - shift[:, :, None] + field  # (B, 2, 784)
    src = np.einsum("bij,bjp->bip", inv, rel) + centre_in  # (B, 2, 784) template coords
    ink = _bilinear(flat, index, src[:, 0], src[:, 1])  # (B, 784)

    ink = ink.reshape(b, IMAGE_SIZE, IMAGE_SIZE)
    ink = np.minimum(ink * gain[:, None, None], 1.0)
    ink = ink * (1.0 + noise) * intensity[:, None, None]
    ink[ink < 0.02] = 0.0  # keep the background exactly black, like MNIST's
    return np.clip(np.rint(ink * 255.0), 0, 255).astype(np.uint8)


def _bilinear(flat, index, x, y):
    """Samples row `index[b]` of `flat` (each a 40x40 image) at float (x, y); 0 outside."""
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    base = (index * (_CANVAS * _CANVAS))[:, None]
    data = flat.reshape(-1)
    out = np.zeros(x.shape, np.float64)
    for dy, wy in ((0, 1.0 - fy), (1, fy)):
        for dx, wx in ((0, 1.0 - fx), (1, fx)):
            xi, yi = x0 + dx, y0 + dy
            inside = (xi >= 0) & (xi < _CANVAS) & (yi >= 0) & (yi < _CANVAS)
            pos = base + np.clip(yi, 0, _CANVAS - 1) * _CANVAS + np.clip(xi, 0, _CANVAS - 1)
            out += np.where(inside, data[pos], 0.0) * wx * wy
    return out


def _wobble_basis():
    """(G*G, 784) bilinear interpolation weights from a GxG control grid to the 28x28 image."""
    coords = np.linspace(0.0, _WOBBLE_GRID - 1, IMAGE_SIZE)
    hat = np.maximum(0.0, 1.0 - np.abs(coords[None, :] - np.arange(_WOBBLE_GRID)[:, None]))
    return np.einsum("iy,jx->ijyx", hat, hat).reshape(_WOBBLE_GRID ** 2, IMAGE_SIZE ** 2)


def _save_atomic(path, **arrays):
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)
