"""ImageFolder-layout data (d2l's hotdog, the transfer-learning tutorial's hymenoptera) and
offline stand-ins drawn from the synthetic world.

Layout, as torchvision's ``ImageFolder``: ``root/<class>/<image>``; classes are the
sub-directories in sorted order, label = index. d2l's hotdog set has ``train/`` and
``test/`` roots with classes ``hotdog`` and ``not-hotdog``.

Offline stand-ins:

* `make_hotdog_folders`: a two-class folder set in the hotdog layout; "hotdog" scenes
  hold a triangle among their 1-3 objects, "not-hotdog" scenes none.
* `make_shape_task`: single objects labelled by shape (4 classes) with control over
  colours, position and flips, for the augmentation experiment (train on a narrow
  world, test on a shifted / flipped / recoloured one).
"""

import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from tfcs231n.data import synthetic, without_autotuning
from tfcs231n.data.download import data_dir

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
HOTDOG_CLASSES = ("hotdog", "not-hotdog")  # sorted, as ImageFolder orders them
_COMPLETE = ".complete"


def find_classes(root):
    """Sorted class sub-directories of `root` -> (names, name -> index)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no image folder {root}")
    names = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not names:
        raise ValueError(f"{root} has no class sub-directories (expected root/<class>/<img>)")
    return names, {n: i for i, n in enumerate(names)}


def image_folder(root):
    """Lists an ImageFolder: (paths sorted within each class, int64 labels, class names)."""
    names, index = find_classes(root)
    paths, labels = [], []
    for name in names:
        files = sorted(p for p in (Path(root) / name).rglob("*")
                       if p.suffix.lower() in IMAGE_SUFFIXES)
        paths += [str(p) for p in files]
        labels += [index[name]] * len(files)
    if not paths:
        raise ValueError(f"{root} holds no images with suffix {IMAGE_SUFFIXES}")
    return paths, np.array(labels, np.int64), names


def load_image_folder(root, size=None):
    """Reads a whole ImageFolder into memory as RGB uint8.

    Args:
        size: (height, width) to resize every image to (PIL bilinear); None requires all
            images to share one size.

    Returns:
        images uint8 (N, H, W, 3), labels int64 (N,), class names.
    """
    paths, labels, names = image_folder(root)
    images = []
    for path in paths:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if size is not None:
                im = im.resize((size[1], size[0]), Image.BILINEAR)
            images.append(np.asarray(im))
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise ValueError(f"images in {root} differ in size {sorted(shapes)[:3]}; pass size=")
    return np.stack(images), labels, names


def image_folder_dataset(root, transform=None, batch_size=32, shuffle=False, seed=0):
    """An ImageFolder as a tf.data pipeline: decode, transform per image, batch.

    Args:
        transform: a layer or function of (image uint8 (H, W, 3), seed (2,)) -> fixed-size
            image, e.g. an `augment.Compose` (it is called with ``seed=(seed, i)`` for the
            i-th file, so the epoch's augmentations are reproducible). None: images must
            share one size.
        shuffle: shuffle files once per epoch (reshuffled each iteration, seeded).

    Returns:
        (dataset of (images, labels) batches, class names).
    """
    import tensorflow as tf

    paths, labels, names = image_folder(root)
    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    if shuffle:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)

    def load(i, path, label):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        if transform is not None:
            image = transform(image, seed=tf.stack([tf.cast(seed, tf.int64), i]))
        return image, label

    ds = ds.enumerate().map(lambda i, el: load(i, *el), num_parallel_calls=tf.data.AUTOTUNE)
    return without_autotuning(ds.batch(batch_size).prefetch(2)), names


# ----------------------------------------------------------------------------- synthetic


def _render_scene(objects, image_size, rng):
    return synthetic.render(objects, image_size, rng)[0]


def make_hotdog_images(n, seed, image_size=64):
    """n scenes, half with a triangle ("hotdog", label 0) and half without (label 1).

    Returns:
        images uint8 (n, S, S, 3), labels int64 (n,) indexing `HOTDOG_CLASSES`, and the
        scenes (tuples of `synthetic.SceneObject`).
    """
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 2).astype(np.int64)
    images = np.empty((n, image_size, image_size, 3), np.uint8)
    scenes = []
    for i, label in enumerate(labels):
        while True:  # rejection: about half the scenes hold a triangle
            scene = synthetic.random_scene(rng, image_size)
            if any(o.shape == "triangle" for o in scene) == (label == 0):
                break
        images[i] = _render_scene(scene, image_size, rng)
        scenes.append(scene)
    return images, labels, scenes


def make_hotdog_folders(root=None, n_train=200, n_test=200, image_size=64, seed=0):
    """Writes the two-class hotdog-like set as PNGs in d2l's layout, once.

    ``root/train/{hotdog,not-hotdog}/NNNN.png`` and ``root/test/...``. Default root:
    ``data_dir("hotdog_synthetic")/<sizes and seed>``. An existing complete set is reused.

    Returns:
        The root as a `pathlib.Path`.
    """
    root = Path(root) if root is not None else data_dir("hotdog_synthetic") / \
        f"s{image_size}-n{n_train}-{n_test}-seed{seed}"
    if (root / _COMPLETE).is_file():
        return root
    tmp = root.with_name(root.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for split, n, split_seed in (("train", n_train, seed), ("test", n_test, seed + 10_000)):
        images, labels, _ = make_hotdog_images(n, split_seed, image_size)
        for name in HOTDOG_CLASSES:
            (tmp / split / name).mkdir(parents=True, exist_ok=True)
        for i, (image, label) in enumerate(zip(images, labels)):
            Image.fromarray(image).save(tmp / split / HOTDOG_CLASSES[label] / f"{i:04d}.png")
    (tmp / _COMPLETE).touch()
    shutil.rmtree(root, ignore_errors=True)
    os.replace(tmp, root)  # readers see the whole set or none of it
    return root


SHAPE_CLASSES = synthetic.SHAPES  # circle, square, triangle, diamond


def make_shape_task(n, seed, image_size=32, colours=None, region=(0.0, 0.0, 1.0, 1.0),
                    flip=False):
    """One object per image, labelled by its shape (4 classes), from a chosen world.

    Args:
        colours: colour names allowed (default: all of `synthetic.COLOURS`).
        region: (x0, y0, x1, y1) fractions of the image inside which the object's centre
            is drawn (clamped so the object stays in the frame).
        flip: mirror each image left-right and top-bottom with probability 1/2 each
            (a triangle then points down).

    Returns:
        images uint8 (n, S, S, 3), labels int64 (n,) indexing `SHAPE_CLASSES`.
    """
    colours = list(colours or synthetic.COLOURS)
    unknown = set(colours) - set(synthetic.COLOURS)
    if unknown:
        raise ValueError(f"unknown colours {sorted(unknown)}; use {list(synthetic.COLOURS)}")
    x0, y0, x1, y1 = region
    if not 0 <= x0 < x1 <= 1 or not 0 <= y0 < y1 <= 1:
        raise ValueError(f"region must be (x0, y0, x1, y1) fractions with x0 < x1, y0 < y1, "
                         f"got {region}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(SHAPE_CLASSES)).astype(np.int64)
    images = np.empty((n, image_size, image_size, 3), np.uint8)
    for i, label in enumerate(labels):
        size = synthetic.SIZES[rng.integers(2)]
        radius = synthetic._RADIUS_FRACTION[size] * image_size * rng.uniform(0.9, 1.1)
        lo, hi = radius + 1, image_size - 2 - radius
        cx = np.clip(rng.uniform(x0, x1) * image_size, lo, hi)
        cy = np.clip(rng.uniform(y0, y1) * image_size, lo, hi)
        obj = synthetic.SceneObject(SHAPE_CLASSES[label], colours[rng.integers(len(colours))],
                                    size, (float(cx), float(cy)), float(radius))
        image = _render_scene([obj], image_size, rng)
        if flip:
            image = image[:, ::-1] if rng.random() < 0.5 else image
            image = image[::-1] if rng.random() < 0.5 else image
        images[i] = image
    return images, labels
