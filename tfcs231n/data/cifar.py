"""CIFAR-10 from the dataset authors' binary version: fixed-length records, no pickle.

The "binary version (suitable for C programs)" archive holds ``cifar-10-batches-bin/``
with ``data_batch_1.bin`` .. ``data_batch_5.bin`` (10000 images each), ``test_batch.bin``
and ``batches.meta.txt`` (class names, one a line). Each record is 3073 bytes: the label
(0-9), then 1024 red, 1024 green and 1024 blue bytes, each plane row-major 32 x 32.
Reading it is plain byte slicing, so an untrusted file can at worst give wrong pixels: the
Python version's pickles are never opened.

Checksum: the CIFAR page publishes MD5 c32a1d4ab5d03f1284b67883e8d87530 for this archive,
which `download_cifar10` checks. No SHA-256 is published by the authors, so the generic
SHA-256 check of `download` is not used (sha256=None).
"""

import hashlib
import os
import tarfile
from pathlib import Path

import numpy as np

from tfcs231n.data.download import DownloadError, data_dir, download

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR10_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # from https://www.cs.toronto.edu/~kriz/cifar.html
CIFAR10_SHA256 = None  # not published by the dataset's authors
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
FOLDER = "cifar-10-batches-bin"
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
META_FILE = "batches.meta.txt"
RECORD_BYTES = 1 + 3 * 32 * 32


def read_cifar_bin(path):
    """One binary batch file -> images uint8 (N, 32, 32, 3), labels uint8 (N,).

    Raises:
        ValueError: the size is not a whole number of 3073-byte records, or a label is
            outside 0-9.
    """
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD_BYTES:
        raise ValueError(f"{path}: {raw.size} bytes is not a whole number of "
                         f"{RECORD_BYTES}-byte CIFAR-10 records")
    records = raw.reshape(-1, RECORD_BYTES)
    labels = records[:, 0].copy()
    if labels.max() >= len(CIFAR10_CLASSES):
        bad = int(np.argmax(labels >= len(CIFAR10_CLASSES)))
        raise ValueError(f"{path}: record {bad} has label {labels[bad]}, not in 0-9")
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # planes -> HWC
    return np.ascontiguousarray(images), labels


def read_class_names(path):
    names = [line.strip() for line in Path(path).read_text(encoding="ascii").splitlines()]
    return [n for n in names if n]


def load_cifar10(root=None):
    """The extracted binary version -> ((x_train, y_train), (x_test, y_test)).

    Args:
        root: the directory holding ``cifar-10-batches-bin/`` (default
            ``data_dir("cifar10")``).

    Returns:
        As `keras.datasets.cifar10.load_data()` except that labels are (N,) rather than
        (N, 1): ``x`` uint8 (N, 32, 32, 3) RGB, ``y`` uint8 (N,) in 0-9; 50000 / 10000.
    """
    folder = Path(root if root is not None else data_dir("cifar10")) / FOLDER
    missing = [f for f in (*TRAIN_FILES, TEST_FILE) if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(f"CIFAR-10 binary files {missing} not found in {folder}; run "
                                f"download_cifar10() or extract {CIFAR10_URL} there")
    train = [read_cifar_bin(folder / f) for f in TRAIN_FILES]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return (x_train, y_train), read_cifar_bin(folder / TEST_FILE)


def extract_cifar10(archive, dest):
    """Extracts only the seven expected regular files of the archive into dest/FOLDER.

    Member names are matched exactly, so absolute paths, "..", links and devices in a
    hostile archive are never written.
    """
    wanted = {f"{FOLDER}/{name}" for name in (*TRAIN_FILES, TEST_FILE, META_FILE)}
    out = Path(dest) / FOLDER
    out.mkdir(parents=True, exist_ok=True)
    found = set()
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            name = member.name.removeprefix("./")
            if name not in wanted or not member.isreg():
                continue
            source = tar.extractfile(member)
            tmp = out / f".{os.path.basename(name)}.part"
            with source, open(tmp, "wb") as target:
                while block := source.read(1 << 20):
                    target.write(block)
            os.replace(tmp, out / os.path.basename(name))
            found.add(name)
    if found != wanted:
        raise DownloadError(f"{archive} lacks {sorted(wanted - found)}; delete it and download "
                            "again")
    return out


def _md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_cifar10(root=None, progress=True):
    """Downloads (resumably), MD5-checks and extracts the binary version; returns `root`."""
    root = Path(root if root is not None else data_dir("cifar10"))
    archive = root / "cifar-10-binary.tar.gz"
    if not (root / FOLDER / TEST_FILE).is_file():
        download(CIFAR10_URL, archive, CIFAR10_SHA256, progress=progress)
        actual = _md5(archive)
        if actual != CIFAR10_MD5:
            archive.unlink()
            raise DownloadError(f"Checksum mismatch for {CIFAR10_URL}: expected MD5 "
                                f"{CIFAR10_MD5}, got {actual}; the file was deleted")
        extract_cifar10(archive, root)
    return root
