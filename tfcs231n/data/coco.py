"""The CS231n COCO 2014 captioning data: loading, sampling, decoding, downloading.

Reads the layout of the course's `coco_captioning.zip` exactly as the course's
`cs231n/coco_utils.py` does and returns the same dictionary, but checks that the files
agree with each other, so a bad download fails here with a message rather than later
with an IndexError inside a training loop.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import h5py
import numpy as np

from tfcs231n.data.download import data_dir, download, extract_zip, sha256sum

# The address the course's get_datasets.sh / get_coco_captioning.sh fetches.
COCO_URL = "http://cs231n.stanford.edu/coco_captioning.zip"
# Unknown: neither the course nor any public source we searched publishes a digest of
# this archive. download_coco() prints the digest it computes so it can be pinned here.
COCO_SHA256 = None

CAPTIONS_FILE = "coco2014_captions.h5"
VOCAB_FILE = "coco2014_vocab.json"
SPLITS = ("train", "val")

_DOWNLOAD_HINT = (
    "download it with `tfcs231n caption download` or tfcs231n.data.coco.download_coco()"
)


def feature_file(split, pca_features=True):
    """Name of the VGG-16 fc7 feature file of `split`: 512-d PCA or raw 4096-d."""
    return f"{split}2014_vgg16_fc7{'_pca' if pca_features else ''}.h5"


def url_file(split):
    """Name of the text file holding one Flickr URL per image of `split`."""
    return f"{split}2014_urls.txt"


def coco_files(pca_features=True):
    """Names of the files `load_coco_data` reads, in the order it reads them."""
    return (
        [CAPTIONS_FILE]
        + [feature_file(split, pca_features) for split in SPLITS]
        + [VOCAB_FILE]
        + [url_file(split) for split in SPLITS]
    )


def load_coco_data(base_dir=None, max_train=None, pca_features=True, seed=None):
    """Load the course's COCO captioning data.

    Args:
        base_dir: directory holding the unpacked `coco_captioning` files; None means
            `data_dir("coco_captioning")`.
        max_train: if given, keep this many training captions drawn uniformly *with
            replacement*, as the course does, but from a generator seeded with `seed`
            (the course uses the global NumPy state).
        pca_features: load the 512-d PCA features instead of the raw 4096-d fc7 ones.
        seed: seed for the `max_train` subsample.

    Returns:
        The course's dict: "train_captions" / "val_captions" (N, T) int word ids,
        "train_image_idxs" / "val_image_idxs" (N,) int rows of the features,
        "train_features" / "val_features" (num_images, D) float32 with D = 512 or 4096,
        "idx_to_word" list of V words, "word_to_idx" dict word -> id,
        "train_urls" / "val_urls" (num_images,) str arrays; plus any further datasets
        stored in the captions file, as the course keeps them too.

    Raises:
        FileNotFoundError: `base_dir` or one of its files is missing.
        OSError: an HDF5 file is truncated or corrupt.
        ValueError: the files disagree (caption ids outside the vocabulary, an
            inconsistent vocabulary, image indices outside the features).
    """
    if max_train is not None and not _is_positive_int(max_train):
        raise ValueError(f"max_train must be None or a positive int, got {max_train!r}")
    base = Path(data_dir("coco_captioning") if base_dir is None else base_dir)
    if not base.is_dir():
        raise FileNotFoundError(
            f"COCO captioning directory {base} does not exist; {_DOWNLOAD_HINT}"
        )
    for name in coco_files(pca_features):
        if not (base / name).is_file():
            raise FileNotFoundError(f"COCO captioning file {base / name} is missing; "
                                    f"{_DOWNLOAD_HINT}")

    data = _read_h5(base / CAPTIONS_FILE)
    for split in SPLITS:
        _check_split(data, split, base / CAPTIONS_FILE)
        path = base / feature_file(split, pca_features)
        features = _read_h5(path, "features")["features"]
        if features.ndim != 2:
            raise ValueError(f"{path}: 'features' must be 2-D (num_images, D), "
                             f"got shape {features.shape}")
        data[f"{split}_features"] = features

    data.update(_read_vocab(base / VOCAB_FILE))
    for split in SPLITS:
        with open(base / url_file(split), encoding="utf-8") as f:
            data[f"{split}_urls"] = np.asarray([line.strip() for line in f])
        _check_agreement(data, split, base)

    if max_train is not None:
        rng = np.random.default_rng(seed)
        mask = rng.integers(data["train_captions"].shape[0], size=max_train)
        data["train_captions"] = data["train_captions"][mask]
        data["train_image_idxs"] = data["train_image_idxs"][mask]
    return data


def sample_coco_minibatch(data, batch_size=100, split="train", rng=None):
    """Draw `batch_size` captions of `split` uniformly with replacement, as the course does.

    Args:
        data: dict from `load_coco_data`.
        batch_size: number of captions B.
        split: "train" or "val".
        rng: None, an int seed, or a `np.random.Generator`.

    Returns:
        (captions (B, T) int, image_features (B, D) float, urls (B,) str).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if not _is_positive_int(batch_size):
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    for key in (f"{split}_captions", f"{split}_image_idxs", f"{split}_features",
                f"{split}_urls"):
        if key not in data:
            raise KeyError(f"data has no {key!r}; pass the dict from load_coco_data()")
    rng = np.random.default_rng(rng)
    mask = rng.integers(data[f"{split}_captions"].shape[0], size=batch_size)
    captions = data[f"{split}_captions"][mask]
    image_idxs = data[f"{split}_image_idxs"][mask]
    return captions, data[f"{split}_features"][image_idxs], data[f"{split}_urls"][image_idxs]


def decode_captions(captions, idx_to_word):
    """Turn word ids into strings with the course's rules.

    "<NULL>" words are dropped, decoding stops after the first "<END>", and "<START>" /
    "<END>" themselves stay in the string, exactly as the course's decode_captions.

    Args:
        captions: (N, T) or (T,) integer word ids (array, list or tensor).
        idx_to_word: list of V words.

    Returns:
        A list of N strings, or one string for a (T,) input.
    """
    captions = np.asarray(captions)
    if captions.ndim not in (1, 2):
        raise ValueError(f"captions must have shape (N, T) or (T,), got {captions.shape}")
    if captions.size and not np.issubdtype(captions.dtype, np.integer):
        raise ValueError(f"captions must hold integer word ids, got dtype {captions.dtype}")
    if captions.size and (captions.min() < 0 or captions.max() >= len(idx_to_word)):
        bad = captions.min() if captions.min() < 0 else captions.max()
        raise ValueError(f"caption word id {bad} is outside the vocabulary of "
                         f"{len(idx_to_word)} words")
    decoded = []
    for row in np.atleast_2d(captions):
        words = []
        for idx in row:
            word = idx_to_word[idx]
            if word != "<NULL>":
                words.append(word)
            if word == "<END>":
                break
        decoded.append(" ".join(words))
    return decoded[0] if captions.ndim == 1 else decoded


def download_coco(base_dir=None, progress=True):
    """Download the course's `coco_captioning.zip` and unpack it into `base_dir`.

    Does nothing when every file (PCA and raw features) is already there. The archive
    (about 1 GB) is kept beside `base_dir` only until it is unpacked, and a partial
    download resumes on the next call. Verified against `COCO_SHA256` when that is set;
    otherwise the computed digest is printed so it can be pinned.

    Args:
        base_dir: target directory; None means `data_dir("coco_captioning")`.
        progress: show a progress line while downloading.

    Returns:
        `base_dir` as a `pathlib.Path`.

    Raises:
        DownloadError: the download failed or the checksum does not match.
    """
    base = Path(data_dir("coco_captioning") if base_dir is None else base_dir)
    needed = sorted(set(coco_files(True)) | set(coco_files(False)))
    if all((base / name).is_file() for name in needed):
        return base
    base.parent.mkdir(parents=True, exist_ok=True)
    archive = base.parent / "coco_captioning.zip"
    download(COCO_URL, archive, COCO_SHA256, progress=progress)
    if COCO_SHA256 is None:
        print(f"SHA-256 of {archive}: {sha256sum(archive)} "
              "(no published digest to check it against)")

    # Unpack next to base_dir, then move files in, so an interrupted unpack leaves no
    # half-written file under base_dir.
    staging = Path(tempfile.mkdtemp(prefix=".coco-unpack-", dir=base.parent))
    try:
        extract_zip(archive, staging)
        found = [p.parent for p in staging.rglob(CAPTIONS_FILE)]
        if len(found) != 1:
            raise ValueError(f"{archive} does not hold exactly one {CAPTIONS_FILE}; "
                             f"delete it and download again")
        base.mkdir(parents=True, exist_ok=True)
        for item in found[0].iterdir():
            if item.is_file():
                os.replace(item, base / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    archive.unlink()
    missing = [name for name in needed if not (base / name).is_file()]
    if missing:
        raise ValueError(f"{COCO_URL} unpacked without {', '.join(missing)}")
    return base


def _is_positive_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


def _read_h5(path, name=None):
    """Read every dataset (or only `name`) of an HDF5 file into NumPy arrays."""
    try:
        with h5py.File(path, "r") as f:
            if name is not None and name not in f:
                raise ValueError(f"{path} has no dataset {name!r} "
                                 f"(found {sorted(f.keys())}); {_DOWNLOAD_HINT}")
            names = [name] if name is not None else list(f.keys())
            return {key: np.asarray(f[key]) for key in names}
    except OSError as e:
        raise OSError(f"Cannot read {path}: the HDF5 file is truncated or corrupt ({e}); "
                      f"delete it and {_DOWNLOAD_HINT}") from e


def _read_vocab(path):
    try:
        with open(path, encoding="utf-8") as f:
            vocab = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e}); {_DOWNLOAD_HINT}") from e
    idx_to_word = vocab.get("idx_to_word") if isinstance(vocab, dict) else None
    word_to_idx = vocab.get("word_to_idx") if isinstance(vocab, dict) else None
    if not isinstance(idx_to_word, list) or not isinstance(word_to_idx, dict):
        raise ValueError(f"{path} must hold a list 'idx_to_word' and a dict 'word_to_idx'")
    if len(idx_to_word) != len(word_to_idx) or any(
        word_to_idx.get(word) != i for i, word in enumerate(idx_to_word)
    ):
        raise ValueError(f"{path}: idx_to_word ({len(idx_to_word)} words) and word_to_idx "
                         f"({len(word_to_idx)} words) do not map ids and words alike")
    return dict(vocab)


def _check_split(data, split, path):
    """Shapes of one split's captions and image indices in the captions file."""
    captions, idxs = data.get(f"{split}_captions"), data.get(f"{split}_image_idxs")
    if captions is None or idxs is None:
        raise ValueError(f"{path} lacks {split}_captions or {split}_image_idxs "
                         f"(found {sorted(data)})")
    if captions.ndim != 2 or not np.issubdtype(captions.dtype, np.integer):
        raise ValueError(f"{path}: {split}_captions must be integer (N, T), "
                         f"got {captions.dtype} {captions.shape}")
    if idxs.shape != captions.shape[:1] or not np.issubdtype(idxs.dtype, np.integer):
        raise ValueError(f"{path}: {split}_image_idxs must be integer (N,) with "
                         f"N = {captions.shape[0]}, got {idxs.dtype} {idxs.shape}")


def _check_agreement(data, split, base):
    """Caption ids must be in the vocabulary; image indices must address features and URLs."""
    captions, idxs = data[f"{split}_captions"], data[f"{split}_image_idxs"]
    vocab_size = len(data["idx_to_word"])
    if captions.size and (captions.min() < 0 or captions.max() >= vocab_size):
        raise ValueError(
            f"{base / CAPTIONS_FILE}: {split}_captions holds word ids in "
            f"[{captions.min()}, {captions.max()}] but {base / VOCAB_FILE} has only "
            f"{vocab_size} words"
        )
    num_images = data[f"{split}_features"].shape[0]
    if idxs.size and (idxs.min() < 0 or idxs.max() >= num_images):
        raise ValueError(
            f"{base / CAPTIONS_FILE}: {split}_image_idxs spans [{idxs.min()}, {idxs.max()}] "
            f"but {split}_features has {num_images} images"
        )
    if len(data[f"{split}_urls"]) < num_images:
        raise ValueError(f"{base / url_file(split)} lists {len(data[f'{split}_urls'])} URLs "
                         f"for {num_images} images")
