"""The course's data loaders: load_tiny_imagenet on a directory in its layout, and
image_from_url for file:// and an unreachable http URL."""

import numpy as np
from PIL import Image

from tfcs231n.course.data_utils import load_tiny_imagenet
from tfcs231n.course.image_utils import image_from_url


def _write(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(path)


def test_load_tiny_imagenet_layout(tmp_path):
    (tmp_path / "wnids.txt").write_text("n1\nn2\n")
    (tmp_path / "words.txt").write_text("n1\tcat, kitty\nn2\tdog\n")
    for wnid, value in (("n1", 10), ("n2", 30)):
        for i in range(2):
            _write(tmp_path / "train" / wnid / "images" / f"{wnid}_{i}.JPEG", value)
    _write(tmp_path / "val" / "images" / "v0.JPEG", 30)
    (tmp_path / "val" / "val_annotations.txt").write_text("v0.JPEG\tn2\t0\t0\t8\t8\n")
    data = load_tiny_imagenet(tmp_path, subtract_mean=True)
    assert data["class_names"] == [["cat", "kitty"], ["dog"]]
    assert data["X_train"].shape == (4, 3, 8, 8) and list(data["y_train"]) == [0, 0, 1, 1]
    assert list(data["y_val"]) == [1] and data["X_test"] is None
    np.testing.assert_allclose(data["mean_image"], 20.0)
    np.testing.assert_allclose(data["X_val"], 10.0)  # 30 minus the mean


def test_image_from_url_file_and_offline(tmp_path, closed_port, capsys):
    _write(tmp_path / "a.png", 7)
    img = image_from_url((tmp_path / "a.png").as_uri())
    assert img.shape == (8, 8, 3) and (img == 7).all()
    assert image_from_url(f"http://127.0.0.1:{closed_port}/x.jpg") is None
    assert "URL Error" in capsys.readouterr().out
