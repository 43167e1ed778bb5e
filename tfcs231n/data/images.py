"""Reading an image the way every command does: a file, or ``skimage:NAME`` for a photo
shipped inside the scikit-image wheel (offline)."""

import os

# The images of skimage.data that ship in the wheel (no download) and are 2-D photos or
# drawings; the others (eagle, lily, ...) need the network, or are 3-D stacks or masks.
SKIMAGE_NAMES = ("astronaut", "brick", "camera", "cat", "cell", "checkerboard", "chelsea",
                 "clock", "coffee", "coins", "colorwheel", "grass", "gravel",
                 "hubble_deep_field", "immunohistochemistry", "logo", "microaneurysms",
                 "moon", "page", "retina", "rocket", "text")
PREFIX = "skimage:"


def skimage_image(name):
    """The scikit-image sample `name` as uint8 RGB (H, W, 3).

    Raises:
        ValueError: `name` is not one of SKIMAGE_NAMES; the message lists them.
    """
    if name not in SKIMAGE_NAMES:
        raise ValueError(f"no scikit-image sample {name!r}; use skimage:NAME with NAME one "
                         f"of: {', '.join(SKIMAGE_NAMES)}")
    from tfcs231n.style.images import sample_image

    return sample_image(name)


def read_image(source, size=None):
    """An image as uint8 RGB (H, W, 3): grayscale and RGBA converted (alpha over white).

    Args:
        source: a file path, or ``"skimage:NAME"`` (see SKIMAGE_NAMES).
        size: resize the shorter side to this many pixels (None: as stored).

    Raises:
        ValueError: an unreadable or missing file, or an unknown sample name.
    """
    from tfcs231n.style.images import load_image

    if isinstance(source, str) and source.startswith(PREFIX):
        return load_image(skimage_image(source[len(PREFIX):]), size)
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(f"source must be a file path or 'skimage:NAME', got {source!r}")
    return load_image(source, size)
