"""The course's `cs231n/image_utils.py`: SqueezeNet pre/de-processing, loading images.

`load_image` resizes bilinearly, as the course's `scipy.misc.imresize` did; the native
`tfcs231n.style.images.load_image` resizes bicubically (a sharper image, so a different
total variation from the course's check).
"""

import io
import os
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
from PIL import Image

from tfcs231n.style import images
from tfcs231n.visualization.squeezenet import SQUEEZENET_MEAN, SQUEEZENET_STD
from tfcs231n.visualization.squeezenet import deprocess_image as _deprocess

__all__ = ["SQUEEZENET_MEAN", "SQUEEZENET_STD", "preprocess_image", "deprocess_image",
           "image_from_url", "load_image"]


def preprocess_image(img):
    """uint8 RGB (H, W, 3) -> float32 ``(img / 255 - MEAN) / STD``."""
    return (np.asarray(img).astype(np.float32) / 255.0 - SQUEEZENET_MEAN) / SQUEEZENET_STD


def deprocess_image(img, rescale=False):
    """Inverse of `preprocess_image` -> uint8; `rescale` stretches to [0, 255].

    Rounds where the course truncates (see `tfcs231n.visualization.squeezenet`)."""
    return _deprocess(img, rescale=rescale)


def image_from_url(url):
    """The image at a ``file://`` or ``http(s)://`` URL (or a local path), uint8 (H, W, 3).

    As in the course, a URL that cannot be fetched prints why and returns None (the
    course's notebooks skip such images); offline, the message says so.
    """
    parsed = urllib.parse.urlparse(str(url))
    try:
        if parsed.scheme in ("", "file"):
            path = urllib.request.url2pathname(parsed.path) if parsed.scheme else str(url)
            with open(path, "rb") as f:
                raw = f.read()
        else:
            with urllib.request.urlopen(url, timeout=10) as response:
                raw = response.read()
    except urllib.error.HTTPError as e:
        print("HTTP Error: ", e.code, url)
        return None
    except urllib.error.URLError as e:
        print("URL Error: ", e.reason, url, "(no network? offline, only file:// URLs open)")
        return None
    except OSError as e:
        print("Cannot read", url, ":", e)
        return None
    with Image.open(io.BytesIO(raw)) as im:
        return np.asarray(im.convert("RGB"))


def load_image(filename, size=None):
    """An image file as uint8 RGB (H, W, 3); with `size`, both sides scaled so the shorter
    becomes `size` (truncated to whole pixels), bilinear as in the course."""
    return images.load_image(os.fspath(filename), size)
