"""ImageFolder loader and the synthetic hotdog-like / shape-task sets."""

import numpy as np
import pytest
from PIL import Image

from tfcs231n.vision import augment
from tfcs231n.data import folders, synthetic


def test_image_folder_layout_and_labels(tmp_path):
    rng = np.random.default_rng(0)
    for name, n in (("bees", 2), ("ants", 3)):
        (tmp_path / name).mkdir()
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)).save(
                tmp_path / name / f"{i}.png")
    (tmp_path / "ants" / "notes.txt").write_text("ignored")
    Image.fromarray(rng.integers(0, 256, (7, 9), dtype=np.uint8)).save(tmp_path / "bees" / "g.jpg")
    paths, labels, names = folders.image_folder(tmp_path)
    assert names == ["ants", "bees"]  # sorted, as torchvision's ImageFolder
    assert labels.tolist() == [0, 0, 0, 1, 1, 1] and len(paths) == 6
    with pytest.raises(ValueError, match="differ in size"):
        folders.load_image_folder(tmp_path)
    images, labels, _ = folders.load_image_folder(tmp_path, size=(8, 6))
    assert images.shape == (6, 8, 6, 3)  # grayscale converted to RGB
    first = np.asarray(Image.open(paths[0]))
    np.testing.assert_array_equal(
        folders.load_image_folder(tmp_path / "ants" / "..", size=(10, 12))[0][0], first)


def test_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        folders.image_folder(tmp_path / "nope")
    with pytest.raises(ValueError, match="no class"):
        folders.image_folder(tmp_path)


def test_hotdog_folders_are_written_once_and_labelled_right(tmp_path):
    root = folders.make_hotdog_folders(tmp_path / "hd", n_train=12, n_test=8, image_size=32)
    assert folders.make_hotdog_folders(root) == root  # reused
    paths, labels, names = folders.image_folder(root / "train")
    assert names == list(folders.HOTDOG_CLASSES) and np.bincount(labels).tolist() == [6, 6]
    images, labels, _ = folders.load_image_folder(root / "test")
    assert images.shape == (8, 32, 32, 3)
    # The files hold the generator's test split (seed + 10000), grouped by class.
    again, again_labels, _ = folders.make_hotdog_images(8, 10_000, 32)
    order = np.argsort(again_labels, kind="stable")
    np.testing.assert_array_equal(images, again[order])
    np.testing.assert_array_equal(labels, again_labels[order])


def test_hotdog_labels_follow_triangles():
    images, labels, scenes = folders.make_hotdog_images(20, 3, 32)
    assert np.bincount(labels).tolist() == [10, 10] and images.dtype == np.uint8
    for image, label, scene in zip(images, labels, scenes):
        assert any(o.shape == "triangle" for o in scene) == (label == 0)
        for obj in scene:  # the image shows the scene's objects
            mask = synthetic.object_mask(obj, 32)
            assert (image[mask] == synthetic.COLOURS[obj.colour]).all()


def test_image_folder_dataset_with_transform(tmp_path):
    root = folders.make_hotdog_folders(tmp_path / "hd", n_train=6, n_test=2, image_size=32)
    aug = augment.Compose([augment.RandomResizedCrop(16), augment.RandomHorizontalFlip()])
    ds, names = folders.image_folder_dataset(root / "train", aug, batch_size=4, seed=1)
    batches = list(ds)
    assert [b[0].shape for b in batches] == [(4, 16, 16, 3), (2, 16, 16, 3)]
    again = list(folders.image_folder_dataset(root / "train", aug, batch_size=4, seed=1)[0])
    np.testing.assert_array_equal(batches[0][0], again[0][0])
    assert ds.options().autotune.enabled is False


def test_training_loops_iterate_without_tf_data_autotuning():
    # With autotuning on, the end of a long `for batch in dataset` loop blocked for 5-8 s on
    # about half the epochs here (TF 2.21, 2 cores): 24 DCGAN epochs lost over a minute.
    from tfcs231n.vision import finetune
    from tfcs231n.gan import training as gt

    x = np.zeros((8, 4, 4, 3), np.uint8)
    config = gt.GANConfig(batch_size=4, num_epochs=1)
    for ds in (finetune.array_batches(x, np.zeros(8), 4, shuffle=True),
               gt._dataset(np.zeros((8, 784), np.uint8), 0, 2, config)):
        assert ds.options().autotune.enabled is False
        assert len(list(ds)) == 2


def test_shape_task_controls_colour_region_and_flip():
    images, labels = folders.make_shape_task(40, 0, 32, colours=["red"], region=(0, 0, .3, .3))
    assert images.shape == (40, 32, 32, 3) and np.bincount(labels).tolist() == [10] * 4
    red = np.all(images == synthetic.COLOURS["red"], axis=-1)
    assert red.any(axis=(1, 2)).all()
    assert not red[:, 20:, :].any() and not red[:, :, 20:].any()  # stays top-left
    flipped, _ = folders.make_shape_task(40, 0, 32, flip=True)
    assert not np.array_equal(flipped, folders.make_shape_task(40, 0, 32)[0])
    with pytest.raises(ValueError, match=r"\bcolours\b.*'teal'"):
        folders.make_shape_task(4, 0, colours=["teal"])
    with pytest.raises(ValueError, match=r"\bregion\b.*\(0\.5, 0, 0\.2, 1\)"):
        folders.make_shape_task(4, 0, region=(0.5, 0, 0.2, 1))
