import json

import h5py
import numpy as np
import pytest
from PIL import Image

from tfcs231n.data import synthetic
from tfcs231n.data.synthetic import SceneObject
from tfcs231n.data.synthetic_coco import (image_features, read_ground_truth, split_scenes,
                                          write_coco_format)


@pytest.fixture(scope="module")
def scenes():
    return synthetic.make_scenes(300, seed=7)


def _decode(row, idx_to_word):
    words = [idx_to_word[i] for i in row]
    assert words[0] == "<START>"
    return " ".join(words[1:words.index("<END>")])


# Scenes and masks ----------------------------------------------------------------------


def test_make_scenes_is_deterministic_in_the_seed():
    images_a, objects_a, masks_a = synthetic.make_scenes(20, seed=3)
    images_b, objects_b, masks_b = synthetic.make_scenes(20, seed=3)
    images_c, objects_c, _ = synthetic.make_scenes(20, seed=4)
    np.testing.assert_array_equal(images_a, images_b)
    assert objects_a == objects_b
    for actual, desired in zip(masks_a, masks_b):
        np.testing.assert_array_equal(actual, desired)
    assert not np.array_equal(images_a, images_c)
    assert objects_a != objects_c


def test_make_scenes_shapes_and_dtypes(scenes):
    images, objects, masks = scenes
    assert images.shape == (300, 64, 64, 3) and images.dtype == np.uint8
    assert len(objects) == len(masks) == 300
    for scene, scene_masks in zip(objects, masks):
        assert 1 <= len(scene) <= 3
        assert scene_masks.shape == (len(scene), 64, 64) and scene_masks.dtype == bool
        assert len({obj.colour for obj in scene}) == len(scene)
    assert {len(scene) for scene in objects} == {1, 2, 3}
    assert {obj.shape for scene in objects for obj in scene} == set(synthetic.SHAPES)
    assert {obj.colour for scene in objects for obj in scene} == set(synthetic.COLOURS)


def test_image_size_scales_the_scene():
    images, objects, masks = synthetic.make_scenes(5, seed=0, image_size=40, max_objects=1)
    assert images.shape == (5, 40, 40, 3)
    assert all(len(scene) == 1 and m.shape == (1, 40, 40) for scene, m in zip(objects, masks))


def test_masks_lie_exactly_on_the_object_pixels(scenes):
    images, objects, masks = scenes
    for image, scene, scene_masks in zip(images, objects, masks):
        assert scene_masks.sum(0).max() == 1  # objects never overlap
        for obj, mask in zip(scene, scene_masks):
            is_colour = np.all(image == synthetic.COLOURS[obj.colour], axis=-1)
            np.testing.assert_array_equal(is_colour, mask)
            assert mask.sum() > 10
        border = np.ones((64, 64), bool)
        border[1:-1, 1:-1] = False
        assert not (scene_masks.any(0) & border).any()


def test_object_box_matches_size_and_radius(scenes):
    _, objects, masks = scenes
    for scene, scene_masks in zip(objects, masks):
        for obj, mask in zip(scene, scene_masks):
            ys, xs = np.nonzero(mask)
            extent = max(xs.max() - xs.min(), ys.max() - ys.min()) + 1
            assert abs(extent - 2 * obj.radius) <= 2
            assert (extent < 18) == (obj.size == "small")
            assert abs(xs.mean() - obj.centre[0]) <= 1


@pytest.mark.parametrize("shape, pixels", [
    ("square", 11 * 11), ("circle", 81), ("diamond", 61), ("triangle", 61)])
def test_render_known_pixel_counts(shape, pixels):
    # Integer centre: square 11 x 11; circle of radius 5 holds 81 lattice points; diamond
    # 2 r^2 + 2 r + 1; the triangle's rows are 1, 1, 3, 3, 5, 5, 7, 7, 9, 9, 11 wide.
    obj = SceneObject(shape, "green", "small", (20.0, 30.0), 5.0)
    image, masks = synthetic.render([obj], 48)
    assert masks.shape == (1, 48, 48)
    assert masks.sum() == pixels
    assert image[~masks[0]].tolist() == [[215, 215, 215]] * (48 * 48 - pixels)


def test_classification_set():
    images, labels, masks, names = synthetic.make_classification_set(96, seed=1)
    assert images.shape == (96, 64, 64, 3) and images.dtype == np.uint8
    assert labels.shape == (96,) and labels.dtype == np.int64
    assert masks.shape == (96, 64, 64) and masks.dtype == bool
    assert len(names) == 24 and names[0] == "red circle" and len(set(names)) == 24
    np.testing.assert_array_equal(np.bincount(labels, minlength=24), np.full(24, 4))
    for image, label, mask in zip(images, labels, masks):
        colour = synthetic.COLOURS[names[label].split()[0]]
        np.testing.assert_array_equal(np.all(image == colour, axis=-1), mask)
    assert SceneObject("diamond", "blue", "large", (30.0, 30.0), 9.0).label == \
        names.index("blue diamond")
    again = synthetic.make_classification_set(96, seed=1)
    np.testing.assert_array_equal(again[0], images)
    np.testing.assert_array_equal(again[1], labels)
    assert not np.array_equal(synthetic.make_classification_set(96, seed=2)[0], images)


# Captions and vocabulary -----------------------------------------------------------------


def test_relation_known_answers():
    def at(x, y):
        return SceneObject("circle", "red", "small", (x, y), 5.0)

    assert synthetic.relation(at(10, 30), at(40, 35)) == "left of"
    assert synthetic.relation(at(40, 35), at(10, 30)) == "right of"
    assert synthetic.relation(at(30, 10), at(35, 50)) == "above"
    assert synthetic.relation(at(35, 50), at(30, 10)) == "below"


def test_captions_are_short_and_use_only_vocabulary_words(scenes):
    _, word_to_idx = synthetic.build_vocab()
    counts = set()
    for scene in scenes[1]:
        captions = synthetic.describe_scene(scene, 64)
        counts.add(len(captions))
        assert len(set(captions)) == len(captions) >= 2
        for caption in captions:
            words = caption.split()
            assert 3 <= len(words) <= synthetic.MAX_CAPTION_WORDS
            assert all(word in word_to_idx for word in words)
            assert caption == caption.lower()
            assert "a orange" not in caption
    assert counts == {2, 3}


def test_captions_name_every_object_and_the_subject_size(scenes):
    for scene in scenes[1]:
        captions = synthetic.describe_scene(scene, 64)
        for caption in captions:
            for obj in scene:
                assert f"{obj.colour} {obj.shape}" in caption
        # Each caption starts with "a/an <size> <colour> <shape>" of its subject.
        by_colour = {obj.colour: obj for obj in scene}
        subjects = [by_colour[caption.split()[2]] for caption in captions]
        for caption, subject in zip(captions, subjects):
            assert caption.split()[1:4] == [subject.size, subject.colour, subject.shape]
        assert set(subjects) == set(scene)


def test_caption_relations_match_positions(scenes):
    pattern = ("left of", "right of", "above", "below")
    checked = 0
    for scene in scenes[1]:
        if len(scene) != 2:
            continue
        a, b = scene
        caption = synthetic.describe_scene(scene, 64)[0]
        dx, dy = b.centre[0] - a.centre[0], b.centre[1] - a.centre[1]
        if abs(dx) > abs(dy):
            desired = "left of" if dx > 0 else "right of"
        else:
            desired = "above" if dy > 0 else "below"
        found = [rel for rel in pattern if f" {rel} " in caption]
        assert found == [desired], caption
        checked += 1
    assert checked > 50


def test_single_object_caption_gives_the_region():
    corner = SceneObject("square", "orange", "large", (12.0, 50.0), 10.0)
    middle = SceneObject("circle", "blue", "small", (32.0, 30.0), 6.0)
    assert synthetic.describe_scene([corner], 64) == [
        "a large orange square", "a large orange square near the bottom left"]
    assert synthetic.describe_scene([middle], 64)[1] == "a small blue circle near the centre"


def test_vocab_follows_the_course_convention():
    idx_to_word, word_to_idx = synthetic.build_vocab()
    assert idx_to_word[:4] == ["<NULL>", "<START>", "<END>", "<UNK>"]
    assert idx_to_word[4:] == sorted(idx_to_word[4:])
    assert len(set(idx_to_word)) == len(idx_to_word)
    assert all(word_to_idx[word] == i for i, word in enumerate(idx_to_word))
    assert {"red", "circle", "large", "left", "above"} <= set(word_to_idx)


def test_encode_captions_round_trip(scenes):
    idx_to_word, word_to_idx = synthetic.build_vocab()
    captions = [c for scene in scenes[1][:50] for c in synthetic.describe_scene(scene, 64)]
    encoded = synthetic.encode_captions(captions, word_to_idx)
    assert encoded.shape == (len(captions), 17) and encoded.dtype == np.int32
    assert [_decode(row, idx_to_word) for row in encoded] == captions
    lengths = np.array([len(c.split()) for c in captions])
    np.testing.assert_array_equal(encoded[np.arange(len(captions)), lengths + 1], 2)
    np.testing.assert_array_equal((encoded == 0).sum(1), 17 - 2 - lengths)

    unknown = synthetic.encode_captions(["a zebra"], word_to_idx, max_length=5)
    np.testing.assert_array_equal(unknown, [[1, word_to_idx["a"], 3, 2, 0]])


# Image features --------------------------------------------------------------------------


def test_features_shapes_dtypes_and_determinism(scenes):
    images = scenes[0][:64]
    pca = image_features(images)
    fc7 = image_features(images, dim=4096)
    assert pca.shape == (64, 512) and pca.dtype == np.float32
    assert fc7.shape == (64, 4096) and fc7.dtype == np.float32
    assert fc7.min() >= 0 and (fc7 > 0).mean() > 0.2
    np.testing.assert_array_equal(image_features(images), pca)
    # A pure function of each image: the batch around it does not matter.
    np.testing.assert_allclose(image_features(images[5:6])[0], pca[5], rtol=1e-5, atol=1e-5)
    assert not np.allclose(pca[0], pca[1])


def test_features_look_standardised(scenes):
    features = image_features(scenes[0])
    assert np.abs(features.mean(0)).mean() < 0.15
    assert 0.6 < features.std() < 1.4


def _probe_accuracy(train_x, train_y, test_x, test_y):
    """Least-squares one-vs-rest linear classifier, numpy only."""
    def with_bias(x):
        return np.concatenate([x, np.ones((len(x), 1), x.dtype)], axis=1)

    classes = np.unique(train_y)
    targets = (train_y[:, None] == classes).astype(np.float64)
    weights, *_ = np.linalg.lstsq(with_bias(train_x).astype(np.float64), targets, rcond=None)
    predicted = classes[np.argmax(with_bias(test_x) @ weights, axis=1)]
    return np.mean(predicted == test_y)


def test_linear_probe_reads_colour_shape_size_and_position():
    images, objects, _ = synthetic.make_scenes(2500, seed=11, max_objects=1)
    features = image_features(images)
    objects = [scene[0] for scene in objects]
    attributes = {
        "colour": np.array([o.colour for o in objects]),
        "shape": np.array([o.shape for o in objects]),
        "size": np.array([o.size for o in objects]),
        "left half": np.array([o.centre[0] < 32 for o in objects]),
        "top half": np.array([o.centre[1] < 32 for o in objects]),
    }
    for name, values in attributes.items():
        accuracy = _probe_accuracy(features[:2000], values[:2000], features[2000:],
                                   values[2000:])
        assert accuracy >= 0.9, (name, accuracy)


def test_features_of_blank_images_differ_from_scenes(scenes):
    blank = np.full((1, 64, 64, 3), 215, np.uint8)
    features = image_features(np.concatenate([blank, scenes[0][:1]]))
    assert np.linalg.norm(features[0] - features[1]) > 1.0


# COCO files ------------------------------------------------------------------------------


def test_write_coco_format_layout(tmp_path):
    base = write_coco_format(tmp_path / "coco", n_train=24, n_val=10, seed=5)
    names = sorted(p.name for p in base.iterdir())
    assert names == sorted([
        "coco2014_captions.h5", "coco2014_vocab.json", "images", "synthetic.json",
        "train2014_urls.txt", "train2014_vgg16_fc7.h5", "train2014_vgg16_fc7_pca.h5",
        "val2014_urls.txt", "val2014_vgg16_fc7.h5", "val2014_vgg16_fc7_pca.h5"])

    vocab = json.loads((base / "coco2014_vocab.json").read_text())
    assert set(vocab) == {"idx_to_word", "word_to_idx"}
    assert vocab["idx_to_word"] == synthetic.build_vocab()[0]

    with h5py.File(base / "coco2014_captions.h5", "r") as f:
        data = {k: np.asarray(v) for k, v in f.items()}
    assert set(data) == {"train_captions", "train_image_idxs", "val_captions",
                         "val_image_idxs"}
    for split, n in (("train", 24), ("val", 10)):
        captions, idxs = data[f"{split}_captions"], data[f"{split}_image_idxs"]
        assert captions.dtype == np.int32 and idxs.dtype == np.int32
        assert captions.shape == (len(idxs), 17) and len(idxs) >= 2 * n
        assert idxs.min() == 0 and idxs.max() == n - 1
        assert captions.min() >= 0 and captions.max() < len(vocab["idx_to_word"])
        for suffix, dim in (("_pca", 512), ("", 4096)):
            with h5py.File(base / f"{split}2014_vgg16_fc7{suffix}.h5", "r") as f:
                assert list(f) == ["features"]
                assert f["features"].shape == (n, dim)
                assert f["features"].dtype == np.float32
        urls = (base / f"{split}2014_urls.txt").read_text().splitlines()
        assert urls[0] == f"images/{split}/000000.png" and len(urls) == n

        images, _, _ = split_scenes(split, n, seed=5)
        np.testing.assert_array_equal(np.asarray(Image.open(base / urls[3])), images[3])
        objects, references = read_ground_truth(base, split)
        decoded = [_decode(row, vocab["idx_to_word"]) for row in captions]
        assert decoded == [c for refs in references for c in refs]
        for i, caption in zip(idxs, decoded):
            assert caption in references[i]
        assert len(objects) == n
    assert not list(base.rglob(".*tmp*"))  # no temporary files left behind


def test_write_coco_format_without_images(tmp_path):
    base = write_coco_format(tmp_path, n_train=3, n_val=2, seed=0, write_images=False)
    assert not (base / "images").exists()
    assert (base / "val2014_urls.txt").read_text().splitlines() == [
        "synthetic://val/000000", "synthetic://val/000001"]


def test_splits_differ_and_are_deterministic():
    train, _, _ = split_scenes("train", 8, seed=0)
    val, _, _ = split_scenes("val", 8, seed=0)
    assert not np.array_equal(train, val)
    np.testing.assert_array_equal(split_scenes("train", 8, seed=0)[0], train)
    assert not np.array_equal(split_scenes("train", 8, seed=1)[0], train)


# Argument checks -------------------------------------------------------------------------


@pytest.mark.parametrize("call, name", [
    (lambda: synthetic.make_scenes(0, seed=0), "n"),
    (lambda: synthetic.make_scenes(5, seed=-1), "seed"),
    (lambda: synthetic.make_scenes(5, seed=0, image_size=16), "image_size"),
    (lambda: synthetic.make_scenes(5, seed=0, max_objects=4), "max_objects"),
    (lambda: synthetic.make_scenes(5, seed=0, max_objects=0), "max_objects"),
    (lambda: synthetic.make_classification_set(-3, seed=0), "n"),
    (lambda: synthetic.make_classification_set(3, seed=0, image_size=8), "image_size"),
    (lambda: synthetic.random_scene(np.random.default_rng(0), image_size=31), "image_size"),
    (lambda: SceneObject("hexagon", "red", "small", (5.0, 5.0), 3.0), "shape"),
    (lambda: SceneObject("circle", "pink", "small", (5.0, 5.0), 3.0), "colour"),
    (lambda: SceneObject("circle", "red", "huge", (5.0, 5.0), 3.0), "size"),
    (lambda: SceneObject("circle", "red", "small", (5.0, 5.0), 0.0), "radius"),
    (lambda: synthetic.describe_scene([], 64), "objects"),
    (lambda: synthetic.encode_captions(["a b"], {}, max_length=2), "max_length"),
    (lambda: synthetic.encode_captions(["w " * 16], synthetic.build_vocab()[1]), "captions"),
    (lambda: image_features(np.zeros((2, 64, 64, 3), np.float32)), "images"),
    (lambda: image_features(np.zeros((2, 64, 64), np.uint8)), "images"),
    (lambda: image_features(np.zeros((2, 16, 16, 3), np.uint8)), "images"),
    (lambda: image_features(np.zeros((2, 64, 64, 3), np.uint8), dim=100), "dim"),
    (lambda: split_scenes("test", 5), "split"),
    (lambda: write_coco_format("/nonexistent/never", n_train=0, n_val=1), "n_train"),
    (lambda: write_coco_format("/nonexistent/never", n_train=1, n_val=0), "n_val"),
])
def test_bad_arguments_raise_value_error_naming_them(call, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        call()
