"""CIFAR-10 binary reader on small files of the real format, written in tmp_path."""

import io
import tarfile

import numpy as np
import pytest

from tfcs231n.data import cifar
from tfcs231n.data.download import DownloadError


def _records(n, seed):
    """n records with known pixels: returns (bytes, images HWC, labels)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    # The format: label byte, then the R plane, G plane, B plane, each row-major 32 x 32.
    planes = images.transpose(0, 3, 1, 2).reshape(n, -1)
    return np.concatenate([labels[:, None], planes], axis=1).tobytes(), images, labels


def _archive(path, extra=()):
    with tarfile.open(path, "w:gz") as tar:
        files = {name: _records(3, i)[0] for i, name in
                 enumerate((*cifar.TRAIN_FILES, cifar.TEST_FILE))}
        files[cifar.META_FILE] = "\n".join(cifar.CIFAR10_CLASSES).encode() + b"\n\n"
        for name, data in [*files.items(), *extra]:
            info = tarfile.TarInfo(name if name.startswith(("/", "..")) else
                                   f"{cifar.FOLDER}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_reads_records_in_the_documented_layout(tmp_path):
    data, images, labels = _records(5, 0)
    path = tmp_path / "batch.bin"
    path.write_bytes(data)
    x, y = cifar.read_cifar_bin(path)
    assert x.shape == (5, 32, 32, 3) and x.dtype == np.uint8
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    # The first pixel's red value is byte 1 of the file, its green byte 1 + 1024.
    raw = np.frombuffer(data, np.uint8)
    assert x[0, 0, 0, 0] == raw[1] and x[0, 0, 0, 1] == raw[1 + 1024]
    assert x[0, 0, 1, 2] == raw[1 + 2048 + 1]


def test_rejects_truncated_files_and_bad_labels(tmp_path):
    data, _, _ = _records(2, 1)
    (tmp_path / "short.bin").write_bytes(data[:-1])
    with pytest.raises(ValueError, match=r"short\.bin.*\b3073\b"):
        cifar.read_cifar_bin(tmp_path / "short.bin")
    bad = bytearray(data)
    bad[cifar.RECORD_BYTES] = 10
    (tmp_path / "label.bin").write_bytes(bytes(bad))
    with pytest.raises(ValueError, match=r"\brecord 1\b.*\blabel\b.*\b10\b"):
        cifar.read_cifar_bin(tmp_path / "label.bin")


def test_extract_and_load_only_the_expected_members(tmp_path):
    archive = _archive(tmp_path / "c.tar.gz", extra=[("../evil.bin", b"x"),
                                                     ("/abs.bin", b"y"),
                                                     ("readme.html", b"z")])
    out = cifar.extract_cifar10(archive, tmp_path / "root")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*cifar.TRAIN_FILES, cifar.TEST_FILE, cifar.META_FILE])
    assert not (tmp_path / "evil.bin").exists()
    (x_train, y_train), (x_test, y_test) = cifar.load_cifar10(tmp_path / "root")
    assert x_train.shape == (15, 32, 32, 3) and y_train.shape == (15,)
    np.testing.assert_array_equal(x_test, _records(3, 5)[1])
    np.testing.assert_array_equal(x_train[3:6], _records(3, 1)[1])
    assert cifar.read_class_names(out / cifar.META_FILE) == list(cifar.CIFAR10_CLASSES)


def test_missing_files_name_the_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="cifar-10-binary"):
        cifar.load_cifar10(tmp_path)


def test_download_checks_md5(tmp_path, monkeypatch):
    good = _archive(tmp_path / "good.tar.gz")

    def fake_download(url, path, sha256=None, progress=True):
        assert url == cifar.CIFAR10_URL and sha256 is None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(good.read_bytes())
        return path

    monkeypatch.setattr(cifar, "download", fake_download)
    with pytest.raises(DownloadError, match="MD5"):
        cifar.download_cifar10(tmp_path / "a", progress=False)
    assert not (tmp_path / "a" / "cifar-10-binary.tar.gz").exists()  # bad file deleted
    monkeypatch.setattr(cifar, "CIFAR10_MD5", cifar._md5(good))
    root = cifar.download_cifar10(tmp_path / "b", progress=False)
    assert cifar.load_cifar10(root)[1][0].shape == (3, 32, 32, 3)
