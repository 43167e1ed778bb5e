"""The course's `cs231n/coco_utils.py`: load, sample and decode the captioning data.

The files are read by `tfcs231n.data.coco` (which checks them); subsampling draws from
NumPy's global generator, as the course does, so ``np.random.seed`` fixes it. Offline,
when the course's `coco_captioning` directory has not been downloaded, the synthetic
world written in the same file layout stands in (`tfcs231n.data.synthetic_captioning_dir`).
"""

from pathlib import Path

import numpy as np

from tfcs231n.data import coco, synthetic_captioning_dir
from tfcs231n.data.download import data_dir

decode_captions = coco.decode_captions  # the course's rules exactly

# None: the course's download (`tfcs231n caption download`) if present, else synthetic.
BASE_DIR = None


def _default_dir(pca_features):
    real = Path(data_dir("coco_captioning"))
    if all((real / name).is_file() for name in coco.coco_files(pca_features)):
        return real
    path = synthetic_captioning_dir()
    print(f"coco_utils: no COCO download in {real}; using the synthetic captioning world "
          f"in {path} (`tfcs231n caption download` fetches the course's files)")
    return path


def load_coco_data(base_dir=BASE_DIR, max_train=None, pca_features=True):
    """The course's data dict (see `tfcs231n.data.coco.load_coco_data`).

    Args:
        base_dir: the `coco_captioning` directory; None picks the default above.
        max_train: keep this many training captions drawn with replacement with
            ``np.random.randint``, as the course does.
        pca_features: 512-d PCA features (True) or 4096-d fc7.

    Image URLs that are paths relative to `base_dir` (the synthetic world's PNGs) become
    ``file://`` URLs, so `image_utils.image_from_url` opens them.
    """
    base = Path(_default_dir(pca_features) if base_dir is None else base_dir)
    data = coco.load_coco_data(base, pca_features=pca_features)
    for split in coco.SPLITS:
        urls = data[f"{split}_urls"]
        local = np.char.find(urls.astype(str), "://") < 0
        if local.any():
            urls = urls.astype(object)
            urls[local] = [(base / u).resolve().as_uri() for u in urls[local]]
            data[f"{split}_urls"] = urls.astype(str)
    if max_train is not None:
        num_train = data["train_captions"].shape[0]
        mask = np.random.randint(num_train, size=max_train)
        data["train_captions"] = data["train_captions"][mask]
        data["train_image_idxs"] = data["train_image_idxs"][mask]
    return data


def sample_coco_minibatch(data, batch_size=100, split="train"):
    """`batch_size` captions of `split` drawn with ``np.random.choice``, as the course does.

    Returns:
        (captions (B, T) int, image_features (B, D), urls (B,)).
    """
    split_size = data["%s_captions" % split].shape[0]
    mask = np.random.choice(split_size, batch_size)
    captions = data["%s_captions" % split][mask]
    image_idxs = data["%s_image_idxs" % split][mask]
    return (captions, data["%s_features" % split][image_idxs],
            data["%s_urls" % split][image_idxs])
