"""tfcs231n.data.imagenet: the course's npz format, read without trusting its pickle."""

import os

import numpy as np
import pytest

from tfcs231n.data.imagenet import load_imagenet_val


def _write(path, label_map):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (4, 8, 9, 3), dtype=np.uint8)
    y = np.array([3, 1, 4, 1])
    np.savez(path, X=X, y=y, label_map=np.array(label_map, dtype=object))
    return X, y


def test_reads_the_course_format(tmp_path):
    path = tmp_path / "imagenet_val_25.npz"
    X, y = _write(path, {1: "goldfish", 3: "shark", 4: "hen"})
    got_X, got_y, names = load_imagenet_val(path=path)
    np.testing.assert_array_equal(got_X, X)
    np.testing.assert_array_equal(got_y, y)
    assert names == {1: "goldfish", 3: "shark", 4: "hen"}
    assert len(load_imagenet_val(num=2, path=path)[0]) == 2


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_refuses_a_label_map_pickle_that_would_run_code(tmp_path):
    path = tmp_path / "evil.npz"
    _write(path, {1: "goldfish"})
    evil = tmp_path / "evil2.npz"
    arrays = dict(np.load(path, allow_pickle=True))
    arrays["label_map"] = np.array(_Evil(), dtype=object)
    np.savez(evil, **arrays)
    with pytest.raises(ValueError, match=r"\b(posix|os)\.system\b"):
        load_imagenet_val(path=evil)


def test_missing_and_corrupt_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="download_imagenet_val"):
        load_imagenet_val(path=tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"bad\.npz.*\bimagenet_val_25\.npz\b"):
        load_imagenet_val(path=bad)
    with pytest.raises(ValueError, match=r"\bnum\b.*\b0\b"):
        _write(tmp_path / "ok.npz", {1: "a"})
        load_imagenet_val(num=0, path=tmp_path / "ok.npz")
