"""The course's `cs231n/data_utils.py` loaders that assignment 3 uses.

`load_imagenet_val` reads the course's `imagenet_val_25.npz` (`tfcs231n.data.imagenet`);
`load_tiny_imagenet` reads the TinyImageNet directory layout the course's loader reads.
Offline there is neither; `tfcs231n.visualization.synthetic_classifier` has a labelled
stand-in (the synthetic world's shapes) for the visualization notebook.
"""

import os

import numpy as np
from PIL import Image

from tfcs231n.data import imagenet


def load_imagenet_val(num=None, path=None):
    """(X uint8 (N, 224, 224, 3), y int (N,), class_names dict id -> name)."""
    return imagenet.load_imagenet_val(num=num, path=path)


def _read_image(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def load_tiny_imagenet(path, dtype=np.float32, subtract_mean=True):
    """TinyImageNet (or a directory in its layout), as the course's loader returns it.

    Layout: wnids.txt; words.txt (wnid TAB names); train/<wnid>/images/*.JPEG;
    val/val_annotations.txt (file TAB wnid) and val/images/; optional test/images/.

    Returns:
        dict class_names (list of name lists, by label), X_train (N, 3, 64, 64), y_train,
        X_val, y_val, X_test, y_test (None: unlabelled), mean_image; images channel-first
        as in the course, mean-subtracted when `subtract_mean`.
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"TinyImageNet directory {path} does not exist")
    with open(os.path.join(path, "wnids.txt")) as f:
        wnids = [line.strip() for line in f if line.strip()]
    wnid_to_label = {wnid: i for i, wnid in enumerate(wnids)}
    words = {}
    with open(os.path.join(path, "words.txt")) as f:
        for line in f:
            wnid, names = line.rstrip("\n").split("\t")
            words[wnid] = [w.strip() for w in names.split(",")]
    class_names = [words[wnid] for wnid in wnids]

    def stack(files):
        images = [_read_image(f) for f in files]
        return np.stack(images).transpose(0, 3, 1, 2).astype(dtype)  # (N, 3, H, W)

    X_train, y_train = [], []
    for wnid in wnids:
        folder = os.path.join(path, "train", wnid, "images")
        files = sorted(os.listdir(folder))
        X_train.append(stack([os.path.join(folder, f) for f in files]))
        y_train.append(np.full(len(files), wnid_to_label[wnid], dtype=np.int64))
    X_train, y_train = np.concatenate(X_train), np.concatenate(y_train)

    with open(os.path.join(path, "val", "val_annotations.txt")) as f:
        pairs = [line.split("\t")[:2] for line in f if line.strip()]
    X_val = stack([os.path.join(path, "val", "images", name) for name, _ in pairs])
    y_val = np.array([wnid_to_label[wnid] for _, wnid in pairs], dtype=np.int64)

    X_test, y_test = None, None
    test_dir = os.path.join(path, "test", "images")
    if os.path.isdir(test_dir):
        X_test = stack([os.path.join(test_dir, f) for f in sorted(os.listdir(test_dir))])

    mean_image = X_train.mean(axis=0)
    if subtract_mean:
        X_train = X_train - mean_image[None]
        X_val = X_val - mean_image[None]
        if X_test is not None:
            X_test = X_test - mean_image[None]
    return {"class_names": class_names, "X_train": X_train, "y_train": y_train,
            "X_val": X_val, "y_val": y_val, "X_test": X_test, "y_test": y_test,
            "mean_image": mean_image}
