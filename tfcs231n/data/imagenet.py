"""The course's 25 ImageNet validation images (`imagenet_val_25.npz`).

The file holds `X` uint8 (25, 224, 224, 3), `y` int (25,) and `label_map`, a dict
class id -> name saved as a pickled object array. `np.load(allow_pickle=True)` would run
whatever a tampered file's pickle asks for, so `label_map` is read with an unpickler that
accepts only the NumPy and builtin types an object array of a dict needs.
"""

import io
import os
import pickle
import zipfile

import numpy as np

from tfcs231n.data.download import data_dir, download

# The address the course's get_datasets.sh fetches. No digest is published for it; see
# download_imagenet_val.
IMAGENET_VAL_URL = "http://cs231n.stanford.edu/imagenet_val_25.npz"
IMAGENET_VAL_SHA256 = None
FILENAME = "imagenet_val_25.npz"

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("builtins", "dict"), ("builtins", "int"), ("builtins", "str"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _read_label_map(path):
    with zipfile.ZipFile(path) as archive, archive.open("label_map.npy") as f:
        version = np.lib.format.read_magic(f)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise ValueError(f"{path}: unsupported .npy version {version} for label_map")
        shape, _, dtype = read_header(f)
        if dtype != object or shape != ():
            raise ValueError(f"{path}: label_map must be a pickled dict, got {dtype} {shape}")
        label_map = _RestrictedUnpickler(io.BytesIO(f.read()), encoding="latin1").load()
    label_map = label_map.item() if isinstance(label_map, np.ndarray) else label_map
    if not isinstance(label_map, dict):
        raise ValueError(f"{path}: label_map is a {type(label_map).__name__}, not a dict")
    return {int(k): str(v) for k, v in label_map.items()}


def load_imagenet_val(num=None, path=None):
    """The course's ImageNet sample: (X uint8 (N, 224, 224, 3), y int (N,), class_names).

    Args:
        num: keep the first `num` images (None: all 25).
        path: the .npz file (default: in the data directory; see `download_imagenet_val`).

    Returns:
        X, y and class_names (dict class id -> name), as the course's loader does.
    """
    path = os.fspath(path or data_dir() / FILENAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} not found; download it with "
            "tfcs231n.data.imagenet.download_imagenet_val() (needs internet)"
        )
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a valid imagenet_val_25.npz: not an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as f:
            X, y = f["X"], f["y"]
        class_names = _read_label_map(path)
    except (zipfile.BadZipFile, KeyError, EOFError, pickle.UnpicklingError) as e:
        raise ValueError(f"{path} is not a valid imagenet_val_25.npz: {e}") from e
    if X.ndim != 4 or X.shape[-1] != 3 or len(X) != len(y):
        raise ValueError(f"{path}: X has shape {X.shape} and y {y.shape}; expected "
                         "(N, H, W, 3) and (N,)")
    if num is not None:
        if not isinstance(num, int) or num < 1:
            raise ValueError(f"num must be a positive integer, got {num!r}")
        X, y = X[:num], y[:num]
    return X, y, class_names


def download_imagenet_val(path=None, progress=True):
    """Downloads the course's imagenet_val_25.npz (no published SHA-256: the digest of what
    arrived is printed so it can be pinned in IMAGENET_VAL_SHA256)."""
    from tfcs231n.data.download import sha256sum

    path = path or data_dir() / FILENAME
    download(IMAGENET_VAL_URL, path, IMAGENET_VAL_SHA256, progress=progress)
    if IMAGENET_VAL_SHA256 is None:
        print(f"sha256 of {path}: {sha256sum(path)}")
    return path
