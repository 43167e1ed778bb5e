"""`tfcs231n._io.atomic_path`: whole files or none, for every writer that caches or saves."""

import pytest

from tfcs231n._io import atomic_path


def test_the_file_appears_only_when_the_block_finishes(tmp_path):
    target = tmp_path / "sub" / "grid.png"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.suffix == ".png" and tmp != target
        tmp.write_text("new")
        assert not target.exists()
    assert target.read_text() == "new" and [p.name for p in target.parent.iterdir()] == [
        "grid.png"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "model.weights.h5"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            assert tmp.name.endswith(".weights.h5")  # Keras checks the name
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == [
        "model.weights.h5"]
