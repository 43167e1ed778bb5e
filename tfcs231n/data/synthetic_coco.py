"""The synthetic world in the course's COCO captioning format.

``image_features`` stands in for the course's VGG-16 fc7 features (512-d after PCA, or
4096-d): a fixed, training-free function of the pixels that encodes the colour, shape,
size and position of every object. ``write_coco_format`` writes the same files
``load_coco_data`` of the course reads, so captioning code cannot tell the difference.

Example:
    >>> base_dir = write_coco_format("/tmp/coco_synthetic", n_train=2000, n_val=200)
    >>> objects, captions = read_ground_truth(base_dir, "val")  # doctest: +SKIP
"""

import functools
import json
from pathlib import Path

import h5py
import numpy as np
from PIL import Image

from tfcs231n._io import atomic_path
from tfcs231n.data import synthetic
from tfcs231n.data.synthetic import _check_int

FEATURE_DIMS = (512, 4096)
SPLITS = ("train", "val")
META_FILE = "synthetic.json"

_GRID = 4  # position is pooled on a 4 x 4 grid
_CHUNK = 1024  # images per vectorised batch, bounds memory to ~100 MB
_MIN_STD = 0.1  # features that barely vary in the reference set are not blown up
_REFERENCE_SEED = 20141
_PROJECTION_SEED = 4096


def _bumps(values, low, high, count, width):
    """Soft one-hot code of values (N,) on ``count`` centres: (N, count).

    A linear read-out can then pick out a middle range (a circle's fill ratio lies
    between a diamond's and a square's), which one raw number would not allow.
    """
    centres = np.linspace(low, high, count, dtype=np.float32)
    return np.exp(-0.5 * ((values[:, None] - centres) / width) ** 2)


@functools.lru_cache(maxsize=1)
def _palette_lookup():
    """Maps a pixel quantised to 4 bits per channel to a colour index, or -1 for none."""
    levels = np.arange(16, dtype=np.float32) * 16 + 8  # centre of each 16-wide bin
    cells = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    palette = np.array(list(synthetic.COLOURS.values()), np.float32)  # (C, 3)
    distance = np.linalg.norm(cells[:, None, :] - palette[None], axis=-1)  # (4096, C)
    # 40 is far inside half the distance between any two palette colours.
    return np.where(distance.min(1) < 40, distance.argmin(1), -1).astype(np.int8)


def _colour_features(mask):
    """Position, size and shape statistics of one colour's pixels.

    Args:
        mask: bool (N, H, W), the pixels of one palette colour.

    Returns:
        float32 (N, F); all zeros where the colour is absent.
    """
    n, height, width = mask.shape
    side = float(max(height, width))
    m = mask.astype(np.float32)
    rows, cols = m.sum(2), m.sum(1)  # (N, H), (N, W)
    area = rows.sum(1)  # (N,)
    present = (area > 0).astype(np.float32)
    safe_area = np.maximum(area, 1.0)

    ys = np.arange(height, dtype=np.float32)
    xs = np.arange(width, dtype=np.float32)
    cy = rows @ ys / safe_area
    cx = cols @ xs / safe_area
    top, left = np.argmax(rows > 0, 1), np.argmax(cols > 0, 1)
    bottom = height - 1 - np.argmax(rows[:, ::-1] > 0, 1)
    right = width - 1 - np.argmax(cols[:, ::-1] > 0, 1)
    box_h = (bottom - top + 1).astype(np.float32)
    box_w = (right - left + 1).astype(np.float32)

    extent = np.maximum(box_h, box_w) / side  # tells small from large
    fill = area / (box_h * box_w)  # square 1, circle 0.79, triangle and diamond 0.5
    # Mass above the box's middle row: 1/4 for the upward triangle, 1/2 for the rest.
    middle = (top + bottom) / 2.0
    weight = np.clip(middle[:, None] - ys[None, :] + 0.5, 0.0, 1.0)  # (N, H)
    top_share = (rows * weight).sum(1) / safe_area

    # Fraction of each grid cell covered: (N, G, G), flattened.
    row_cell = np.eye(_GRID, dtype=np.float32)[(ys * _GRID / height).astype(int)]  # (H, G)
    col_cell = np.eye(_GRID, dtype=np.float32)[(xs * _GRID / width).astype(int)]  # (W, G)
    grid = np.einsum("hg,nhw,wk->ngk", row_cell, m, col_cell, optimize=True)
    grid /= np.outer(row_cell.sum(0), col_cell.sum(0))

    position = np.stack([cx / width, cy / height], 1)  # (N, 2) in [0, 1]
    stats = np.concatenate([
        present[:, None],
        (area / (height * width))[:, None],
        position,
        _bumps(position[:, 0], 0.1, 0.9, 5, 0.12),
        _bumps(position[:, 1], 0.1, 0.9, 5, 0.12),
        _bumps(extent, 0.15, 0.5, 8, 0.04),
        _bumps(fill, 0.35, 1.0, 8, 0.06),
        _bumps(top_share, 0.15, 0.6, 6, 0.06),
    ], axis=1)
    return np.concatenate([stats * present[:, None], grid.reshape(n, -1)], axis=1)


def _raw_features(images):
    """Concatenated per-colour statistics plus global colour means: float32 (N, D)."""
    quantised = (images >> 4).astype(np.int32)  # (N, H, W, 3)
    cell = (quantised[..., 0] << 8) | (quantised[..., 1] << 4) | quantised[..., 2]
    colour_index = _palette_lookup()[cell]  # (N, H, W)
    parts = [_colour_features(colour_index == c) for c in range(len(synthetic.COLOURS))]
    parts.append(images.mean((1, 2), dtype=np.float32) / 255.0)  # background tone
    return np.concatenate(parts, axis=1).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _standardisation():
    """Per-feature mean and std over a fixed reference set of scenes.

    Fixed constants (like a PCA's mean and scale), so every image's features depend on
    that image alone.
    """
    images, _, _ = synthetic.make_scenes(1000, _REFERENCE_SEED)
    raw = _raw_features(images)
    return raw.mean(0), np.maximum(raw.std(0), _MIN_STD)


@functools.lru_cache(maxsize=2)
def _projection(dim):
    """Fixed random map from the raw features to ``dim`` dense dimensions: (D, dim)."""
    raw_dim = _standardisation()[0].shape[0]
    rng = np.random.default_rng(_PROJECTION_SEED)
    # An orthogonal rotation keeps distances, so nothing is lost; spreading D features
    # over 512 dimensions makes them look like dense PCA features.
    rotation, _ = np.linalg.qr(rng.standard_normal((FEATURE_DIMS[0], FEATURE_DIMS[0])))
    projection = rotation[:raw_dim] * np.sqrt(FEATURE_DIMS[0] / raw_dim)  # unit variance
    if dim == FEATURE_DIMS[1]:
        # Like fc7: a wider, non-negative (ReLU) layer on top of the same content.
        expand = rng.standard_normal((FEATURE_DIMS[0], dim)) / np.sqrt(FEATURE_DIMS[0])
        projection = projection @ expand
    return projection.astype(np.float32)


def image_features(images, dim=512):
    """Deterministic stand-in for the course's VGG-16 fc7 features.

    Per palette colour: presence, area, centroid, coarse 4 x 4 occupancy and soft-binned
    box extent, fill ratio and top-half share (the shape cue), standardised with fixed
    constants and then rotated by a fixed random orthogonal matrix.

    Args:
        images: uint8 (N, H, W, 3), H and W at least 32.
        dim: 512 (like the PCA file, roughly zero mean and unit variance per dimension)
            or 4096 (like the raw fc7 file: a fixed random expansion followed by ReLU).

    Returns:
        float32 (N, dim).
    """
    if dim not in FEATURE_DIMS:
        raise ValueError(f"dim must be one of {FEATURE_DIMS}, got {dim!r}")
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be uint8 (N, H, W, 3), got {images.dtype} "
                         f"{images.shape}")
    if min(images.shape[1:3]) < synthetic.MIN_IMAGE_SIZE:
        raise ValueError(f"images must be at least {synthetic.MIN_IMAGE_SIZE} pixels on "
                         f"a side, got {images.shape[1:3]}")
    mean, std = _standardisation()
    projection = _projection(dim)
    features = np.empty((len(images), dim), np.float32)
    for start in range(0, len(images), _CHUNK):
        raw = _raw_features(images[start:start + _CHUNK])
        features[start:start + _CHUNK] = ((raw - mean) / std) @ projection
    return np.maximum(features, 0.0) if dim == FEATURE_DIMS[1] else features


def split_scenes(split, n, seed=0, image_size=64):
    """The scenes of one split as ``write_coco_format`` draws them.

    Returns:
        images uint8 (N, H, W, 3), objects (N tuples of ``SceneObject``) and masks (N
        bool arrays (K_i, H, W)), as ``synthetic.make_scenes``.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    _check_int("seed", seed, 0)
    # Each split gets its own stream, unrelated to the streams of other seeds.
    split_seed = int(np.random.SeedSequence([seed, SPLITS.index(split)]).generate_state(1)[0])
    return synthetic.make_scenes(n, split_seed, image_size, synthetic.MAX_OBJECTS)


def _write_h5(path, **datasets):
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name, array in datasets.items():
            f.create_dataset(name, data=array)


def _write_text(path, text):
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_coco_format(base_dir, n_train, n_val, seed=0, image_size=64, write_images=True):
    """Writes a synthetic data set in the layout the course's ``load_coco_data`` reads.

    Files in ``base_dir``:
        coco2014_captions.h5: train_captions int32 (num_captions, 17), train_image_idxs
            int32 (num_captions,), and the same for val; 2-3 captions per image.
        train2014_vgg16_fc7_pca.h5, val2014_vgg16_fc7_pca.h5: features float32 (N, 512).
        train2014_vgg16_fc7.h5, val2014_vgg16_fc7.h5: features float32 (N, 4096).
        coco2014_vocab.json: idx_to_word (list) and word_to_idx (dict).
        train2014_urls.txt, val2014_urls.txt: one line per image, either the PNG's path
            relative to base_dir (images/train/000000.png) or synthetic://train/000000.
        synthetic.json: the arguments, so ``read_ground_truth`` can redraw the scenes
            (not part of the course's layout; its loader ignores it).

    Every file is written under a temporary name and then renamed.

    Returns:
        ``Path(base_dir)``.
    """
    _check_int("n_train", n_train, 1)
    _check_int("n_val", n_val, 1)
    _check_int("image_size", image_size, synthetic.MIN_IMAGE_SIZE)
    base = Path(base_dir)
    base.mkdir(parents=True, exist_ok=True)
    idx_to_word, word_to_idx = synthetic.build_vocab()
    caption_arrays = {}
    for split, n in zip(SPLITS, (n_train, n_val)):
        images, objects, _ = split_scenes(split, n, seed, image_size)
        captions, image_idxs = [], []
        for i, scene in enumerate(objects):
            scene_captions = synthetic.describe_scene(scene, image_size)
            captions += scene_captions
            image_idxs += [i] * len(scene_captions)
        caption_arrays[f"{split}_captions"] = synthetic.encode_captions(captions, word_to_idx)
        caption_arrays[f"{split}_image_idxs"] = np.asarray(image_idxs, np.int32)

        _write_h5(base / f"{split}2014_vgg16_fc7_pca.h5", features=image_features(images))
        _write_h5(base / f"{split}2014_vgg16_fc7.h5", features=image_features(images, 4096))

        digits = max(6, len(str(n - 1)))
        names = [f"{i:0{digits}d}" for i in range(n)]
        if write_images:
            image_dir = base / "images" / split
            image_dir.mkdir(parents=True, exist_ok=True)
            for name, image in zip(names, images):
                with atomic_path(image_dir / f"{name}.png") as tmp:
                    Image.fromarray(image).save(tmp, format="PNG")
            urls = [f"images/{split}/{name}.png" for name in names]
        else:
            urls = [f"synthetic://{split}/{name}" for name in names]
        _write_text(base / f"{split}2014_urls.txt", "\n".join(urls) + "\n")

    _write_h5(base / "coco2014_captions.h5", **caption_arrays)
    vocab = {"idx_to_word": idx_to_word, "word_to_idx": word_to_idx}
    _write_text(base / "coco2014_vocab.json", json.dumps(vocab))
    meta = {"n_train": n_train, "n_val": n_val, "seed": seed, "image_size": image_size}
    _write_text(base / META_FILE, json.dumps(meta, indent=2))
    return base


def read_ground_truth(base_dir, split):
    """Redraws the scenes of a data set written by ``write_coco_format``.

    Returns:
        objects: list of N tuples of ``SceneObject``, aligned with the features rows.
        captions: list of N lists of reference captions (strings).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    meta = json.loads((Path(base_dir) / META_FILE).read_text())
    _, objects, _ = split_scenes(split, meta[f"n_{split}"], meta["seed"], meta["image_size"])
    captions = [synthetic.describe_scene(scene, meta["image_size"]) for scene in objects]
    return objects, captions
