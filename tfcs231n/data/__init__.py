"""Data: the course's real data sets and the built-in synthetic world that stands in offline.

`captioning_data` is the one door for captioning code (CLI, notebooks, demo): "synthetic"
builds (once, cached) the synthetic world in the course's COCO layout, anything else is a
directory holding the real files.
"""

import json
import os

from tfcs231n.data.coco import load_coco_data
from tfcs231n.data.download import data_dir

# The synthetic captioning world the CLI, notebooks and demo share; small enough to build
# in seconds on 2 cores, large enough that a trained LSTM generalises to its val split.
SYNTHETIC_CAPTIONING = dict(n_train=4000, n_val=500, seed=0, image_size=64)


def without_autotuning(dataset):
    """`dataset` with tf.data's autotuning off; AUTOTUNE parallelism becomes the core count.

    With autotuning on, deleting an iterator that ran for a while (every `for batch in
    dataset` loop ends that way) can block for seconds: on TF 2.21 / 2 CPU cores, 5-8 s at
    the end of about half the epochs of a 15-second epoch loop, and none with it off. Our
    pipelines are small in-memory ones with fixed buffers, so the tuner has nothing to gain.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def synthetic_captioning_dir(n_train=None, n_val=None, seed=None, image_size=None):
    """Writes the synthetic captioning world once under the data directory; returns its path.

    A directory whose recorded arguments differ is rewritten, so a cached copy never stands
    in for a different request.
    """
    from tfcs231n.data import synthetic_coco

    args = dict(SYNTHETIC_CAPTIONING)
    args.update({k: v for k, v in dict(n_train=n_train, n_val=n_val, seed=seed,
                                       image_size=image_size).items() if v is not None})
    name = "synthetic_coco-{n_train}-{n_val}-{seed}-{image_size}".format(**args)
    path = data_dir(name)
    meta = path / synthetic_coco.META_FILE
    if meta.is_file():
        with open(meta, encoding="utf-8") as f:
            recorded = json.load(f)
        if all(recorded.get(k) == v for k, v in args.items()):
            return path
    return synthetic_coco.write_coco_format(path, **args)


def captioning_data(source="synthetic", max_train=None, pca_features=True, seed=0):
    """The course's captioning dict from the synthetic world or a COCO directory.

    Args:
        source: "synthetic", or the directory of the course's `coco_captioning` files.
        max_train: subsample this many training captions (seeded), as the course does.
        pca_features: 512-d PCA features (True) or 4096-d fc7 (False).
        seed: for the max_train subsample.
    """
    base_dir = synthetic_captioning_dir() if source == "synthetic" else os.fspath(source)
    return load_coco_data(base_dir, max_train=max_train, pca_features=pca_features, seed=seed)
