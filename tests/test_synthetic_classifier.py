"""The offline classifier's weights: shipped in the package, cached, or trained, and which wins.

The long retrain that reproduces the shipped weights is a benchmark (`-m benchmark`).
"""

import ast
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tfcs231n.visualization import synthetic_classifier as sc
from tfcs231n.data.download import DamagedFile, sha256sum

ROOT = Path(__file__).resolve().parents[1]
TINY = sc.ClassifierConfig(image_size=32, images_per_epoch=64, n_val=48, epochs=1,
                           batch_size=32)


def test_the_default_classifier_ships_for_this_world():
    config = sc.ClassifierConfig()
    weights, meta = sc.shipped_paths(config)
    assert sha256sum(weights) == sc.SHIPPED_SHA256[config.key()]
    info = json.loads(meta.read_text())
    assert info["config"] == sc.dataclasses.asdict(config)
    assert info["world_sha256"] == sc.world_fingerprint(config)  # retrain if this fails
    assert info["val_accuracy"] >= 0.95


def test_setup_installs_the_shipped_files():
    # Tests import the source tree, so check that the wheel's package_data covers the files.
    tree = ast.parse((ROOT / "setup.py").read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call)
                and getattr(n.func, "id", "") == "setup")
    package_data = ast.literal_eval(next(k.value for k in call.keywords
                                         if k.arg == "package_data"))
    package = ROOT / "tfcs231n"
    covered = {p for pattern in package_data["tfcs231n"] for p in package.glob(pattern)}
    shipped = set(sc.SHIPPED_DIR.iterdir())
    assert shipped and shipped <= covered


def test_the_package_copy_is_used_when_nothing_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("TFCS231N_DATA", str(tmp_path))
    model, info = sc.synthetic_classifier(verbose=False)
    assert info["source"] == "shipped" and not list(tmp_path.iterdir())
    X, y, _ = sc.classification_data(sc.ClassifierConfig(), "val")
    assert sc.accuracy(model, X[:96], y[:96]) >= 0.9


def test_cache_then_package_then_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TFCS231N_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(sc, "SHIPPED_DIR", tmp_path / "package")
    monkeypatch.setattr(sc, "SHIPPED_SHA256", {})

    trained, info = sc.synthetic_classifier(TINY, verbose=False)
    assert info["source"] == "trained"
    weights, meta = sc.cache_paths(TINY)
    assert weights.is_file() and meta.is_file()
    cached, info = sc.synthetic_classifier(TINY, verbose=False)
    assert info["source"] == "cache"

    # Ship that pair: with the cache gone, the package copy is used, byte for byte.
    ship_w, ship_m = sc.shipped_paths(TINY)
    ship_w.parent.mkdir()
    shutil.move(weights, ship_w)
    shutil.move(meta, ship_m)
    sc.SHIPPED_SHA256[TINY.key()] = sha256sum(ship_w)
    shipped, info = sc.synthetic_classifier(TINY, verbose=False)
    assert info["source"] == "shipped"
    for a, b in zip(trained.weights, shipped.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

    # A damaged package copy fails loudly instead of explaining some other model.
    data = bytearray(ship_w.read_bytes())
    data[len(data) // 2] ^= 0xFF
    ship_w.write_bytes(bytes(data))
    with pytest.raises(DamagedFile, match=r"--retrain\b"):
        sc.synthetic_classifier(TINY, verbose=False)

    # A damaged cached copy names the file and the way out.
    sc.SHIPPED_SHA256.clear()
    sc.synthetic_classifier(TINY, retrain=True, verbose=False)
    weights.write_bytes(b"not an HDF5 file")
    with pytest.raises(DamagedFile, match=rf"{weights.name}.*--retrain\b"):
        sc.synthetic_classifier(TINY, verbose=False)

    # Weights made for another version of the world are retrained, and the user told so.
    shutil.rmtree(ship_w.parent)
    sc.synthetic_classifier(TINY, retrain=True, verbose=False)
    monkeypatch.setattr(sc, "world_fingerprint", lambda config: "a changed renderer")
    _, info = sc.synthetic_classifier(TINY, verbose=True)
    assert info["source"] == "trained"
    assert "another version of the synthetic world" in capsys.readouterr().out


def test_a_stale_cache_is_removed_once_and_the_package_copy_used(tmp_path, monkeypatch,
                                                                 capsys):
    # A cache from an older world (here: no fingerprint at all, as before fingerprints were
    # stored) must not shadow a good shipped copy, nor be reported on every load.
    monkeypatch.setenv("TFCS231N_DATA", str(tmp_path))
    weights, meta = sc.cache_paths(sc.ClassifierConfig())
    weights.parent.mkdir(parents=True)
    shipped_w, shipped_m = sc.shipped_paths(sc.ClassifierConfig())
    shutil.copy(shipped_w, weights)
    info = json.loads(shipped_m.read_text())
    del info["world_sha256"]
    meta.write_text(json.dumps(info))

    _, info = sc.synthetic_classifier(verbose=True)
    out = capsys.readouterr().out
    assert info["source"] == "shipped"
    assert f"{weights} was made for another version of the synthetic world; removed it" in out
    assert "training" not in out
    assert not weights.exists() and not meta.exists()
    _, info = sc.synthetic_classifier(verbose=True)
    assert info["source"] == "shipped" and capsys.readouterr().out == ""


@pytest.mark.benchmark
def test_retraining_reproduces_the_shipped_classifier(tmp_path, monkeypatch):
    # The committed command's job, from scratch (about 3 CPU minutes on 2 cores). Another
    # CPU rounds differently, so the check is agreement, not equal bytes.
    monkeypatch.setenv("TFCS231N_DATA", str(tmp_path))
    config = sc.ClassifierConfig()
    retrained, info = sc.synthetic_classifier(config, retrain=True, verbose=False)
    shipped, shipped_info = sc._load(config, *sc.shipped_paths(config), "shipped", False)
    X, y, _ = sc.classification_data(config, "val")
    agree = np.mean(np.argmax(retrained.predict(X, verbose=0), 1)
                    == np.argmax(shipped.predict(X, verbose=0), 1))
    print(f"val accuracy retrained {info['val_accuracy']:.4f}, shipped "
          f"{shipped_info['val_accuracy']:.4f}; predictions agree on {agree:.1%}; "
          f"{info['train_seconds']} s ({info['train_cpu_seconds']} CPU s)")
    assert info["val_accuracy"] >= 0.95
    assert abs(info["val_accuracy"] - shipped_info["val_accuracy"]) <= 0.02
    assert agree >= 0.95
