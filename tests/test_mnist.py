"""Real-MNIST loaders, on small files of the real formats written in tmp_path."""

import gzip

import numpy as np
import pytest

from tfcs231n.data import mnist
from tfcs231n.data.download import DownloadError


def _fake_mnist(n_train=12, n_test=5, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def _write_idx(path, array, compress=True):
    # IDX: 2 zero bytes, type 0x08 (unsigned byte), rank, then big-endian int32 sizes.
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in array.shape)
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def _assert_same(loaded, arrays):
    (x_train, y_train), (x_test, y_test) = loaded
    for key, actual in zip(("x_train", "y_train", "x_test", "y_test"),
                           (x_train, y_train, x_test, y_test)):
        assert actual.dtype == np.uint8
        np.testing.assert_array_equal(actual, arrays[key])


@pytest.mark.parametrize("compress", [True, False])
def test_reads_idx_quartet(tmp_path, compress):
    arrays = _fake_mnist()
    for key, (name, _) in mnist.IDX_FILES.items():
        _write_idx(tmp_path / (name if compress else name[:-3]), arrays[key], compress)
    _assert_same(mnist.load_mnist(tmp_path, download_missing=False), arrays)


def test_reads_keras_npz_file_and_directory(tmp_path):
    arrays = _fake_mnist(seed=1)
    np.savez(tmp_path / "mnist.npz", **arrays)
    _assert_same(mnist.load_mnist(tmp_path / "mnist.npz"), arrays)
    _assert_same(mnist.load_mnist(tmp_path), arrays)


def test_load_digits_truncates_real_data(tmp_path):
    arrays = _fake_mnist()
    np.savez(tmp_path / "mnist.npz", **arrays)
    (x_train, y_train), (x_test, _) = mnist.load_digits(tmp_path, n_train=7, n_test=3)
    np.testing.assert_array_equal(x_train, arrays["x_train"][:7])
    np.testing.assert_array_equal(y_train, arrays["y_train"][:7])
    assert x_test.shape == (3, 28, 28)


def test_load_digits_synthetic():
    (x_train, y_train), (x_test, y_test) = mnist.load_digits("synthetic", n_train=20, n_test=10)
    assert x_train.shape == (20, 28, 28) and y_test.shape == (10,)


def test_bad_idx_magic_and_truncated_file(tmp_path):
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(bytes([0, 0, 0x0D, 3]) + b"\0" * 12)  # float IDX, not unsigned byte
    with pytest.raises(ValueError, match="magic"):
        mnist.read_idx(bad)
    short = tmp_path / "short"
    _write_idx(short, np.zeros((2, 28, 28), np.uint8), compress=False)
    short.write_bytes(short.read_bytes()[:-5])
    with pytest.raises(ValueError, match="bytes follow"):
        mnist.read_idx(short)


def test_wrong_shapes_rejected(tmp_path):
    arrays = _fake_mnist()
    arrays["x_test"] = arrays["x_test"][:, :27]
    np.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(ValueError, match="x_test"):
        mnist.load_mnist(tmp_path)


def test_missing_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="mnist.npz"):
        mnist.load_mnist(tmp_path, download_missing=False)


def test_offline_error_is_clear(tmp_path, monkeypatch):
    def offline(url, path, sha256=None, **kwargs):
        raise DownloadError(f"Could not download {url}: no network; download it by hand "
                            f"to {path}")

    monkeypatch.setattr(mnist, "download", offline)
    with pytest.raises(DownloadError, match="synthetic") as info:
        mnist.load_mnist(tmp_path)
    assert mnist.NPZ_URL in str(info.value) and str(tmp_path) in str(info.value)


def test_published_checksums_are_sha256():
    for digest in [mnist.NPZ_SHA256] + [d for _, d in mnist.IDX_FILES.values()]:
        assert len(digest) == 64 and int(digest, 16) >= 0
