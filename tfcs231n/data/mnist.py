"""Real MNIST from its published files, and `load_digits`, the one door for digit data.

Two layouts are read, both returning `keras.datasets.mnist.load_data()`'s arrays:

- Keras's single ``mnist.npz`` (keys x_train, y_train, x_test, y_test);
- the original IDX quartet ``train-images-idx3-ubyte[.gz]`` ... ``t10k-labels-idx1-ubyte[.gz]``.

Missing files are downloaded through `tfcs231n.data.download.download` (checksummed,
resumable); offline, the error names the URL and where to put the file by hand.

Example:
    >>> (x_train, y_train), (x_test, y_test) = load_digits("synthetic", n_train=600)
    >>> x_train.shape, x_train.dtype  # doctest: +SKIP
    ((600, 28, 28), dtype('uint8'))
"""

import gzip
import os
from pathlib import Path

import numpy as np

from tfcs231n.data.download import DownloadError, data_dir, download

# Keras's copy; SHA-256 from keras/src/datasets/mnist.py (its `file_hash`).
NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

# The mirror TensorFlow Datasets uses for LeCun's files (yann.lecun.com now often refuses
# downloads); SHA-256s as published with TFDS's url_checksums and many independent loaders.
IDX_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
IDX_FILES = {
    "x_train": ("train-images-idx3-ubyte.gz",
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "y_train": ("train-labels-idx1-ubyte.gz",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "x_test": ("t10k-images-idx3-ubyte.gz",
               "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "y_test": ("t10k-labels-idx1-ubyte.gz",
               "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}

_IDX_MAGIC = {1: 0x00000801, 3: 0x00000803}  # unsigned-byte IDX files of rank 1 and 3


def load_mnist(path=None, download_missing=True):
    """Real MNIST as ``((x_train, y_train), (x_test, y_test))``.

    Args:
        path: a ``mnist.npz`` file, or a directory holding ``mnist.npz`` or the IDX quartet
            (gzipped or not). None: ``data_dir("mnist")``.
        download_missing: fetch ``mnist.npz`` into the directory when neither layout is
            there.

    Returns:
        ``x`` uint8 (N, 28, 28) in 0..255, ``y`` uint8 (N,) in 0..9; N = 60000 / 10000.

    Raises:
        FileNotFoundError: nothing readable there and `download_missing` is False.
        DownloadError: the download failed (offline: the message says where to put the file).
        ValueError: a file is not MNIST (bad IDX magic, wrong shapes, or labels out of range).
    """
    path = data_dir("mnist") if path is None else Path(os.fspath(path))
    if path.is_file():
        return _load_npz(path)
    if (path / "mnist.npz").is_file():
        return _load_npz(path / "mnist.npz")
    found = {key: _idx_path(path, name) for key, (name, _) in IDX_FILES.items()}
    if all(found.values()):
        arrays = {key: read_idx(p) for key, p in found.items()}
        return _checked(arrays, str(path))
    if not download_missing:
        raise FileNotFoundError(
            f"No MNIST in {path}: expected mnist.npz or the four IDX files "
            f"{[name for name, _ in IDX_FILES.values()]}")
    try:
        return _load_npz(download(NPZ_URL, path / "mnist.npz", NPZ_SHA256))
    except DownloadError as e:
        raise DownloadError(
            f"{e}. Alternatively put the four IDX files from {IDX_URL} into {path}, or use "
            f"the offline synthetic digits (`--data synthetic` on the command line, "
            f"load_digits('synthetic') in Python)") from e


def download_mnist_idx(directory=None):
    """Fetches the four gzipped IDX files (checksummed) into `directory`; returns it."""
    directory = data_dir("mnist") if directory is None else Path(os.fspath(directory))
    for name, sha256 in IDX_FILES.values():
        download(IDX_URL + name, directory / name, sha256)
    return directory


def read_idx(path):
    """One unsigned-byte IDX file (``.gz`` or raw) as a uint8 array of its stored shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError(f"{path} is not an IDX file: only {len(data)} bytes")
    magic = int.from_bytes(data[:4], "big")
    rank = magic & 0xFF
    if _IDX_MAGIC.get(rank) != magic:
        raise ValueError(f"{path} is not an unsigned-byte IDX file of rank 1 or 3 "
                         f"(magic number {magic:#010x})")
    header = 4 + 4 * rank
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank))
    if len(data) != header + int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} ({int(np.prod(shape))} bytes) "
                         f"but {len(data) - header} bytes follow")
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


def load_digits(source="synthetic", seed=0, n_train=60000, n_test=10000):
    """Digits for the GAN and MNIST notebooks, CLI and demo, whatever is available.

    Args:
        source: "synthetic" (offline, `load_synthetic_digits`), "mnist" (real MNIST from the
            data directory, downloaded if missing), or a path as for `load_mnist`.
        seed, n_train, n_test: for "synthetic"; real MNIST is truncated to the first
            `n_train` / `n_test` images instead.

    Returns:
        ``((x_train, y_train), (x_test, y_test))`` in MNIST's convention.
    """
    if source == "synthetic":
        from tfcs231n.data.digits import load_synthetic_digits

        return load_synthetic_digits(seed=seed, n_train=n_train, n_test=n_test)
    (x_train, y_train), (x_test, y_test) = load_mnist(None if source == "mnist" else source)
    return (x_train[:n_train], y_train[:n_train]), (x_test[:n_test], y_test[:n_test])


def _idx_path(directory, gz_name):
    for name in (gz_name, gz_name[: -len(".gz")]):
        if (directory / name).is_file():
            return directory / name
    return None


def _load_npz(path):
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {key: f[key] for key in IDX_FILES}
    except KeyError as e:
        raise ValueError(f"{path} is not Keras's mnist.npz: missing array {e}") from e
    return _checked(arrays, str(path))


def _checked(arrays, where):
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
            raise ValueError(f"{where}: x_{split} {x.shape} / y_{split} {y.shape} are not "
                             f"MNIST's (N, 28, 28) / (N,)")
        if len(y) and y.max() > 9:
            raise ValueError(f"{where}: y_{split} has label {int(y.max())} outside 0..9")
    cast = {k: np.asarray(v, np.uint8) for k, v in arrays.items()}
    return (cast["x_train"], cast["y_train"]), (cast["x_test"], cast["y_test"])
