"""Weight files for SqueezeNet: torchvision .pth, the course's TF checkpoints, .weights.h5.

Every file is written here from a random state dict; nothing touches the internet (the
download tests use 127.0.0.1 only).
"""

import dataclasses
import hashlib
import sys
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch

from tfcs231n.parity import engine as parity
from tfcs231n import interop
from tfcs231n.visualization import squeezenet as sq
from tfcs231n.visualization import weights as sqw
from tfcs231n.data.download import DownloadError
from torchref import squeezenet as ref

SEED = 7
TOL = parity.TOLERANCES["float32"]


@pytest.fixture(scope="module")
def state():
    return {k: v.astype(np.float32) for k, v in ref.random_state_dict(seed=SEED).items()}


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(SEED).standard_normal((2, 49, 61, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def torch_scores(state, images):
    model = ref.load_arrays(ref.SqueezeNet().float(), state).eval()  # whatever the default dtype
    with torch.no_grad():
        return model(torch.from_numpy(images).permute(0, 3, 1, 2)).numpy()


def _save_pth(state, path):
    torch.save({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()}, path)
    return path


@pytest.fixture(scope="module")
def pth(state, tmp_path_factory):
    return _save_pth(state, tmp_path_factory.mktemp("pth") / "squeezenet1_1-random.pth")


def _assert_scores(model, images, desired):
    row = parity.compare_arrays("scores", model(images).numpy(), desired, TOL)
    assert row.ok, parity.format_table([parity.ParityReport("scores", "float32", [row])])


# ----------------------------------------------------------------------------- .pth / .h5


def test_pth_and_converted_h5_both_give_the_torch_scores(pth, tmp_path, images, torch_scores):
    h5 = sq.convert_squeezenet(pth, tmp_path / "converted.weights.h5")
    from_h5, from_pth = sq.SqueezeNet(weights=h5), sq.SqueezeNet(weights=pth)
    _assert_scores(from_pth, images, torch_scores)
    _assert_scores(from_h5, images, torch_scores)
    for a, b in zip(from_h5.weights, from_pth.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def test_h5_needs_no_torch(pth, tmp_path, images, torch_scores, monkeypatch):
    h5 = sq.convert_squeezenet(pth, tmp_path / "converted.weights.h5")
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    _assert_scores(sq.SqueezeNet(weights=h5), images, torch_scores)
    with pytest.raises(ImportError, match="needs PyTorch"):
        sq.SqueezeNet(weights=pth)


def test_missing_and_unexpected_keys_name_the_layer(state, tmp_path):
    broken = {k: v for k, v in state.items() if k != "features.3.squeeze.weight"}
    broken["features.3.extra.weight"] = np.zeros(3, np.float32)
    path = _save_pth(broken, tmp_path / "broken.pth")
    with pytest.raises(ValueError, match=r"missing features\.3\.squeeze\.weight "
                                         r"\(features_3/squeeze/kernel\)") as info:
        sq.SqueezeNet(weights=path)
    assert "unexpected features.3.extra.weight" in str(info.value)


def test_wrong_shape_names_the_layer_and_both_shapes(state, tmp_path):
    broken = dict(state, **{"features.6.expand3x3.weight": np.zeros((128, 32, 1, 1), np.float32)})
    path = _save_pth(broken, tmp_path / "broken.pth")
    with pytest.raises(ValueError, match=r"features\.6\.expand3x3\.weight "
                                         r"\(features_6/expand3x3/kernel\): "
                                         r"expected \(128, 32, 3, 3\), got \(128, 32, 1, 1\)"):
        sq.SqueezeNet(weights=path)


def test_other_class_counts_skip_or_load_the_classifier(state, pth, tmp_path, images):
    full = sq.SqueezeNet(weights=pth)
    tuned = sq.SqueezeNet(num_classes=10, weights=pth)  # ImageNet file, 10-class head
    np.testing.assert_array_equal(sq.extract_features(images, tuned)[-1].numpy(),
                                  sq.extract_features(images, full)[-1].numpy())
    assert tuned.output.shape == (None, 10)
    assert not np.allclose(tuned.get_layer("classifier_1").kernel.numpy()[..., :10],
                           full.get_layer("classifier_1").kernel.numpy()[..., :10])

    # A 10-class file: a 10-class model loads its head, through .pth and .h5 alike.
    ten = {k: v for k, v in state.items() if not k.startswith("classifier")}
    ten["classifier.1.weight"] = np.ones((10, 512, 1, 1), np.float32)
    ten["classifier.1.bias"] = np.arange(10, dtype=np.float32)
    ten_pth = _save_pth(ten, tmp_path / "ten.pth")
    ten_h5 = sq.convert_squeezenet(ten_pth, tmp_path / "ten.weights.h5")
    for path in (ten_pth, ten_h5):
        model = sq.SqueezeNet(num_classes=10, weights=path)
        np.testing.assert_array_equal(model.get_layer("classifier_1").bias.numpy(), np.arange(10))
    with pytest.raises(ValueError, match=r"misshapen classifier\.1\.weight"):  # 1000 insist
        sq.SqueezeNet(weights=ten_pth)


def test_missing_file_and_bad_h5(tmp_path):
    with pytest.raises(FileNotFoundError):
        sq.SqueezeNet(weights=tmp_path / "nothing.pth")
    with pytest.raises(FileNotFoundError):
        sq.SqueezeNet(weights=tmp_path / "squeezenet.ckpt")
    bad = tmp_path / "other.weights.h5"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save_weights(bad)
    with pytest.raises(ValueError, match=r"\bother\.weights\.h5\b.*\bSqueezeNet 1\.1\b"):
        sq.SqueezeNet(weights=bad)
    garbage = tmp_path / "garbage.weights.h5"
    garbage.write_bytes(b"not an HDF5 file")
    with pytest.raises(ValueError, match=rf"{garbage}.*\bHDF5\b"):
        sq.SqueezeNet(weights=garbage)
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        sq.convert_squeezenet(tmp_path / "x.pth", tmp_path / "x.h5")


def test_a_pth_that_is_not_a_state_dict_is_a_value_error(tmp_path):
    torch = pytest.importorskip("torch")
    from torchref import squeezenet as ref

    truncated = tmp_path / "truncated.pth"
    torch.save(ref.SqueezeNet(10).state_dict(), truncated)
    truncated.write_bytes(truncated.read_bytes()[:1000])
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a pickle")
    whole_model = tmp_path / "model.pth"  # torch.save(model): weights_only refuses it
    torch.save(ref.SqueezeNet(10), whole_model)
    for path in (truncated, garbage, whole_model):
        with pytest.raises(ValueError, match=r"\bPyTorch\b") as info:
            sq.SqueezeNet(10, weights=path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)


# ----------------------------------------------------------------------------- course TF


def _course_tf2_keys():
    """The variable names the course's TF2 checkpoint holds (see tfcs231n.visualization.squeezenet)."""
    keys = []
    for n in range(10):
        parts = [""] if n in (0, 9) else ["squeeze/", "expand1x1/", "expand3x3/"]
        keys += [f"net/layer_with_weights-{n}/{p}{v}/.ATTRIBUTES/VARIABLE_VALUE"
                 for p in parts for v in ("kernel", "bias")]
    return keys


def _write_course_tf2(state, prefix, root=None, extra_layer=False):
    """Writes `state` as the course's Keras-2 SqueezeNet would save it, via tf.Module."""
    convs = ["features.0"] + [f"features.{i}" for i in sorted(ref.FIRE_PLANES)] + ["classifier.1"]
    net = tf.Module()
    for n, key in enumerate(convs):
        layer = tf.Module()
        parts = [(layer, key)] if n in (0, 9) else []
        for part in ("squeeze", "expand1x1", "expand3x3") if not parts else ():
            setattr(layer, part, tf.Module())
            parts.append((getattr(layer, part), f"{key}.{part}"))
        for module, prefix_ in parts:
            module.kernel = tf.Variable(interop.conv_torch_to_keras(state[prefix_ + ".weight"]))
            module.bias = tf.Variable(state[prefix_ + ".bias"])
        setattr(net, f"layer_with_weights-{n}", layer)
    if extra_layer:
        setattr(net, "layer_with_weights-10", tf.Module())
        getattr(net, "layer_with_weights-10").kernel = tf.Variable(tf.zeros((1, 1, 4, 4)))
    top = tf.Module()
    top.net = net
    tf.train.Checkpoint(**({root: top} if root else {"net": net})).write(str(prefix))
    return prefix


def _write_course_tf1(state, prefix):
    """Writes `state` under the course's TF1 variable names with a TF1 Saver."""
    names = {}
    for key, value in state.items():
        parts = key.split(".")
        scope = "classifier/layer1" if parts[0] == "classifier" else f"features/layer{parts[1]}"
        if len(parts) == 4:
            scope += "/fire/" + {"squeeze": "squeeze", "expand1x1": "e11",
                                 "expand3x3": "e33"}[parts[2]]
        is_kernel = parts[-1] == "weight"
        names[scope + ("/weights" if is_kernel else "/bias")] = (
            interop.conv_torch_to_keras(value) if is_kernel else value
        )
    with tf.Graph().as_default():
        variables = {n: tf.compat.v1.Variable(v, name=n) for n, v in names.items()}
        saver = tf.compat.v1.train.Saver(variables)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(prefix), write_meta_graph=False)
    return prefix


@pytest.mark.parametrize("root", [None, "model"])
def test_course_tf2_checkpoint(state, tmp_path, images, torch_scores, root):
    prefix = _write_course_tf2(state, tmp_path / "squeezenet.ckpt", root)
    keys = {k for k, _ in tf.train.list_variables(str(prefix)) if "VARIABLE_VALUE" in k}
    assert keys == {(f"{root}/" if root else "") + k for k in _course_tf2_keys()}
    for weights in (prefix, str(prefix) + ".index", tmp_path):  # prefix, index file, folder
        _assert_scores(sq.SqueezeNet(weights=weights), images, torch_scores)


def test_course_tf1_checkpoint(state, tmp_path, images, torch_scores):
    prefix = _write_course_tf1(state, tmp_path / "squeezenet.ckpt")
    assert "features/layer3/fire/e33/weights" in dict(tf.train.list_variables(str(prefix)))
    _assert_scores(sq.SqueezeNet(weights=prefix), images, torch_scores)


def test_course_checkpoint_with_a_wrong_shape_names_the_layer(state, tmp_path):
    broken = dict(state, **{"features.12.squeeze.bias": np.zeros(3, np.float32)})
    prefix = _write_course_tf2(broken, tmp_path / "squeezenet.ckpt")
    with pytest.raises(ValueError, match=r"features\.12\.squeeze\.bias "
                                         r"\(features_12/squeeze/bias\): expected \(64,\), "
                                         r"got \(3,\)"):
        sq.SqueezeNet(weights=prefix)
    extra = _write_course_tf2(state, tmp_path / "extra" / "squeezenet.ckpt", extra_layer=True)
    with pytest.raises(ValueError, match=r"\blayer_with_weights-10/kernel\b"):
        sq.SqueezeNet(weights=extra)
    other = tmp_path / "other"
    tf.train.Checkpoint(v=tf.Variable(1.0)).write(str(other / "x.ckpt"))
    with pytest.raises(ValueError, match=r"\bx\.ckpt\b.*\bSqueezeNet\b"):
        sq.SqueezeNet(weights=other / "x.ckpt")


# ----------------------------------------------------------------------------- download


@pytest.mark.parametrize("kind", ["torchvision", "course-tf2"])
def test_download_offline_raises_one_line_download_error(kind, tmp_path, monkeypatch,
                                                         closed_port):
    source = sqw.SQUEEZENET_WEIGHTS[kind]
    url = f"http://127.0.0.1:{closed_port}/{source.filename}"
    monkeypatch.setitem(sqw.SQUEEZENET_WEIGHTS, kind, dataclasses.replace(source, url=url))
    path = tmp_path / source.filename
    with pytest.raises(DownloadError) as info:
        sqw.download_squeezenet(kind, path)
    assert "\n" not in str(info.value) and url in str(info.value)
    assert not path.exists()


def test_published_sources_are_the_known_addresses():
    torchvision = sqw.SQUEEZENET_WEIGHTS["torchvision"]
    assert torchvision.url == "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth"
    assert torchvision.filename.endswith(f"-{torchvision.sha256_prefix}.pth")
    course = sqw.SQUEEZENET_WEIGHTS["course-tf2"]
    assert course.url == "http://cs231n.stanford.edu/squeezenet_tf2.zip"


def test_download_checks_the_sha256_prefix(www, pth, tmp_path, monkeypatch):
    root, base = www
    (root / "w.pth").write_bytes(pth.read_bytes())
    digest = hashlib.sha256(pth.read_bytes()).hexdigest()
    source = sqw.WeightsSource(f"{base}/w.pth", sha256_prefix=digest[:8])
    monkeypatch.setitem(sqw.SQUEEZENET_WEIGHTS, "torchvision", source)
    got = sqw.download_squeezenet("torchvision", tmp_path / "got" / "w.pth")
    assert got.read_bytes() == pth.read_bytes()

    wrong = "0" if digest[0] != "0" else "1"
    monkeypatch.setitem(sqw.SQUEEZENET_WEIGHTS, "torchvision",
                        dataclasses.replace(source, sha256_prefix=wrong + digest[1:8]))
    with pytest.raises(DownloadError, match=rf"\b{wrong}{digest[1:8]}\b") as info:
        sqw.download_squeezenet("torchvision", tmp_path / "bad" / "w.pth")
    assert "\n" not in str(info.value) and not (tmp_path / "bad" / "w.pth").exists()


def test_download_course_zip_returns_a_loadable_prefix(www, state, tmp_path, monkeypatch,
                                                       images, torch_scores):
    root, base = www
    prefix = _write_course_tf2(state, tmp_path / "ckpt" / "squeezenet.ckpt")
    with zipfile.ZipFile(root / "squeezenet_tf2.zip", "w") as archive:
        for f in prefix.parent.iterdir():
            archive.write(f, f.name)
    monkeypatch.setitem(sqw.SQUEEZENET_WEIGHTS, "course-tf2", dataclasses.replace(
        sqw.SQUEEZENET_WEIGHTS["course-tf2"], url=f"{base}/squeezenet_tf2.zip"))
    got = sqw.download_squeezenet("course-tf2", tmp_path / "data" / "squeezenet_tf2.zip")
    assert got == tmp_path / "data" / "squeezenet_tf2" / "squeezenet.ckpt"
    _assert_scores(sq.SqueezeNet(weights=got), images, torch_scores)
