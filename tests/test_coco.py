import json
import zipfile

import h5py
import numpy as np
import pytest

from tfcs231n.data import coco
from tfcs231n.data.coco import (
    decode_captions,
    download_coco,
    load_coco_data,
    sample_coco_minibatch,
)

WORDS = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "cat", "dog", "on", "the", "mat"]
T = 6
# 4 train images with 8 captions, 2 val images with 4 captions.
TRAIN_IDXS = np.array([0, 0, 1, 1, 2, 2, 3, 3], dtype=np.int32)
VAL_IDXS = np.array([0, 0, 1, 1], dtype=np.int32)


def _captions(n, offset):
    # Row i reads "<START> w w <END> <NULL> <NULL>" with w = 4 + (i + offset) % 6.
    rows = np.zeros((n, T), dtype=np.int32)
    rows[:, 0], rows[:, 3] = 1, 2
    rows[:, 1] = rows[:, 2] = 4 + (np.arange(n) + offset) % 6
    return rows


def make_coco_dir(root, train_captions=None, val_idxs=None, vocab=None):
    """Write a tiny course-layout coco_captioning directory and return its path."""
    root.mkdir(parents=True, exist_ok=True)
    with h5py.File(root / "coco2014_captions.h5", "w") as f:
        f["train_captions"] = _captions(8, 0) if train_captions is None else train_captions
        f["train_image_idxs"] = TRAIN_IDXS
        f["val_captions"] = _captions(4, 3)
        f["val_image_idxs"] = VAL_IDXS if val_idxs is None else val_idxs
    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("val", 2)):
        for name, dim in ((f"{split}2014_vgg16_fc7_pca.h5", 512),
                          (f"{split}2014_vgg16_fc7.h5", 4096)):
            with h5py.File(root / name, "w") as f:
                f["features"] = rng.standard_normal((n, dim)).astype(np.float32)
        urls = [f"http://example.org/{split}/{i}.jpg" for i in range(n)]
        (root / f"{split}2014_urls.txt").write_text("\n".join(urls) + "\n")
    if vocab is None:
        vocab = {"idx_to_word": WORDS, "word_to_idx": {w: i for i, w in enumerate(WORDS)}}
    (root / "coco2014_vocab.json").write_text(json.dumps(vocab))
    return root


@pytest.fixture
def coco_dir(tmp_path):
    return make_coco_dir(tmp_path / "coco_captioning")


def test_load_keys_shapes_dtypes(coco_dir):
    data = load_coco_data(coco_dir)
    assert set(data) == {
        "train_captions", "train_image_idxs", "val_captions", "val_image_idxs",
        "train_features", "val_features", "idx_to_word", "word_to_idx",
        "train_urls", "val_urls",
    }
    assert data["train_captions"].shape == (8, T)
    assert data["train_captions"].dtype == np.int32
    assert data["val_captions"].shape == (4, T)
    np.testing.assert_array_equal(data["train_image_idxs"], TRAIN_IDXS)
    assert data["train_features"].shape == (4, 512)
    assert data["val_features"].shape == (2, 512)
    assert data["train_features"].dtype == np.float32
    assert data["idx_to_word"] == WORDS
    assert data["word_to_idx"]["cat"] == 5
    assert data["train_urls"].shape == (4,)
    assert data["val_urls"][1] == "http://example.org/val/1.jpg"


def test_load_raw_features(coco_dir):
    data = load_coco_data(coco_dir, pca_features=False)
    assert data["train_features"].shape == (4, 4096)
    assert data["val_features"].shape == (2, 4096)


def test_base_dir_defaults_to_data_dir(coco_dir, monkeypatch):
    monkeypatch.setenv("TFCS231N_DATA", str(coco_dir.parent))
    assert load_coco_data()["train_captions"].shape == (8, T)


def test_max_train_is_seeded_and_keeps_pairs(coco_dir):
    full = load_coco_data(coco_dir)
    first = load_coco_data(coco_dir, max_train=5, seed=3)
    again = load_coco_data(coco_dir, max_train=5, seed=3)
    other = load_coco_data(coco_dir, max_train=5, seed=4)
    assert first["train_captions"].shape == (5, T)
    assert first["train_image_idxs"].shape == (5,)
    np.testing.assert_array_equal(first["train_captions"], again["train_captions"])
    assert not np.array_equal(first["train_captions"], other["train_captions"])
    pairs = {(tuple(c), i) for c, i in zip(full["train_captions"], full["train_image_idxs"])}
    for caption, idx in zip(first["train_captions"], first["train_image_idxs"]):
        assert (tuple(caption), idx) in pairs
    assert first["val_captions"].shape == (4, T)  # only training data is subsampled


@pytest.mark.parametrize("max_train", [0, -1, 2.5, True])
def test_bad_max_train(coco_dir, max_train):
    with pytest.raises(ValueError, match=rf"\bmax_train\b.*{max_train!r}"):
        load_coco_data(coco_dir, max_train=max_train)


def test_sample_minibatch(coco_dir):
    data = load_coco_data(coco_dir)
    captions, features, urls = sample_coco_minibatch(data, batch_size=3, rng=0)
    assert captions.shape == (3, T) and features.shape == (3, 512) and urls.shape == (3,)
    for caption, feature, url in zip(captions, features, urls):
        image = int(url.rsplit("/", 1)[1].split(".")[0])  # the test URLs end in <image>.jpg
        np.testing.assert_array_equal(feature, data["train_features"][image])
        rows = data["train_captions"][data["train_image_idxs"] == image]
        assert (rows == caption).all(axis=1).any()  # the caption belongs to that image
    again = sample_coco_minibatch(data, batch_size=3, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(captions, again[0])

    val_captions, val_features, _ = sample_coco_minibatch(data, 2, split="val", rng=1)
    assert val_captions.shape == (2, T) and val_features.shape == (2, 512)
    with pytest.raises(ValueError, match=r"\bsplit\b.*'test'"):
        sample_coco_minibatch(data, split="test")
    with pytest.raises(ValueError, match=r"\bbatch_size\b.*\b0\b"):
        sample_coco_minibatch(data, batch_size=0)


def test_decode_captions_course_semantics():
    captions = np.array([
        [1, 8, 5, 2, 0, 0],  # plain caption, <NULL> padding dropped
        [1, 5, 2, 6, 7, 0],  # words after <END> are not decoded
        [1, 0, 6, 0, 9, 0],  # <NULL> inside is skipped, no <END>: runs to the end
        [0, 0, 0, 0, 0, 0],  # all padding
    ])
    assert decode_captions(captions, WORDS) == [
        "<START> the cat <END>",
        "<START> cat <END>",
        "<START> dog mat",
        "",
    ]
    assert decode_captions(captions[0], WORDS) == "<START> the cat <END>"
    assert decode_captions([3, 4, 2], WORDS) == "<UNK> a <END>"
    with pytest.raises(ValueError, match=r"\b10\b"):
        decode_captions([1, 10], WORDS)
    with pytest.raises(ValueError, match=r"\bshape\b.*\(1, 2, 3\)"):
        decode_captions(np.zeros((1, 2, 3), dtype=int), WORDS)


def test_missing_directory(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as info:
        load_coco_data(missing)
    assert str(missing) in str(info.value)
    assert "tfcs231n caption download" in str(info.value)
    assert "download_coco()" in str(info.value)


@pytest.mark.parametrize("name, pca", [
    ("val2014_urls.txt", True),
    ("coco2014_vocab.json", True),
    ("train2014_vgg16_fc7_pca.h5", True),
    ("val2014_vgg16_fc7.h5", False),
])
def test_missing_file(coco_dir, name, pca):
    (coco_dir / name).unlink()
    with pytest.raises(FileNotFoundError) as info:
        load_coco_data(coco_dir, pca_features=pca)
    assert str(coco_dir / name) in str(info.value)
    assert "tfcs231n caption download" in str(info.value)


def test_raw_features_not_needed_for_pca(coco_dir):
    (coco_dir / "train2014_vgg16_fc7.h5").unlink()
    load_coco_data(coco_dir, pca_features=True)


@pytest.mark.parametrize("name", ["coco2014_captions.h5", "val2014_vgg16_fc7_pca.h5"])
def test_truncated_h5(coco_dir, name):
    path = coco_dir / name
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(OSError, match="truncated or corrupt") as info:
        load_coco_data(coco_dir)
    assert str(path) in str(info.value)


def test_caption_id_outside_vocab(tmp_path):
    captions = _captions(8, 0)
    captions[2, 4] = len(WORDS)
    root = make_coco_dir(tmp_path / "c", train_captions=captions)
    with pytest.raises(ValueError, match=r"\btrain_captions\b.*\b10\b"):
        load_coco_data(root)


def test_inconsistent_vocab(tmp_path):
    word_to_idx = {w: i for i, w in enumerate(WORDS)}
    word_to_idx["cat"], word_to_idx["dog"] = 6, 5
    root = make_coco_dir(tmp_path / "c",
                         vocab={"idx_to_word": WORDS, "word_to_idx": word_to_idx})
    with pytest.raises(ValueError, match="idx_to_word.*word_to_idx"):
        load_coco_data(root)


def test_vocab_missing_key(tmp_path):
    root = make_coco_dir(tmp_path / "c", vocab={"idx_to_word": WORDS})
    with pytest.raises(ValueError, match="coco2014_vocab.json"):
        load_coco_data(root)


def test_image_index_out_of_range(tmp_path):
    root = make_coco_dir(tmp_path / "c", val_idxs=np.array([0, 0, 1, 2], dtype=np.int32))
    with pytest.raises(ValueError, match=r"\bval_image_idxs\b.*\bval_features\b.*\b2\b"):
        load_coco_data(root)


def test_download_coco_unpacks_course_layout(tmp_path, www, monkeypatch, capsys):
    root, url = www
    source = make_coco_dir(tmp_path / "src" / "coco_captioning")
    with zipfile.ZipFile(root / "coco_captioning.zip", "w") as zf:
        for path in source.iterdir():  # the course's archive nests coco_captioning/
            zf.write(path, f"coco_captioning/{path.name}")
    monkeypatch.setattr(coco, "COCO_URL", url + "/coco_captioning.zip")

    target = tmp_path / "data" / "coco_captioning"
    assert download_coco(target, progress=False) == target
    assert "SHA-256" in capsys.readouterr().out
    assert not (tmp_path / "data" / "coco_captioning.zip").exists()
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["coco_captioning"]
    data = load_coco_data(target)
    np.testing.assert_array_equal(data["train_image_idxs"], TRAIN_IDXS)

    (root / "coco_captioning.zip").unlink()
    download_coco(target, progress=False)  # complete already: no request is made
