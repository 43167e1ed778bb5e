"""`tfcs231n saliency|fool|classviz` and `tfcs231n squeezenet convert|download`, run as a
person would: images in, PNGs out, and a message (no traceback) for bad input."""

import dataclasses

import numpy as np
import pytest
from PIL import Image

from tfcs231n import cli
from tfcs231n.visualization import weights as sqw
from tfcs231n.data import synthetic


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """Two validation-like scenes saved as PNGs with the same file name in two folders."""
    root = tmp_path_factory.mktemp("scenes")
    images, labels, _, names = synthetic.make_classification_set(2, seed=123, image_size=64)
    paths = []
    for i, image in enumerate(images):
        (root / f"dir{i}").mkdir()
        paths.append(root / f"dir{i}" / "scene.png")
        Image.fromarray(image).save(paths[-1])
    return paths, [names[k] for k in labels]


def _pixels(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_saliency_writes_one_png_per_image_and_never_overwrites(scenes, tmp_path, capsys):
    paths, _ = scenes
    out = tmp_path / "out"
    assert cli.main(["saliency", *map(str, paths), "-o", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == ["scene-2.png", "scene.png"]  # same stem: the second gets -2
    for name in written:
        pixels = _pixels(out / name)
        assert pixels.shape[1] > 4 * pixels.shape[0] // 2  # original + 4 maps in one row
        assert pixels.std() > 10  # not a blank figure
    assert capsys.readouterr().out.count("wrote ") == 2


def test_output_names_never_collide():
    from tfcs231n.cli.vis import _out_paths

    names = _out_paths("o", ["a/x.png", "b/x.jpg", "x-2.png", "c/x.png"])
    assert [n.split("/")[-1] for n in names] == ["x.png", "x-2.png", "x-2-2.png", "x-3.png"]


def test_fool_reaches_the_target_named_as_the_png_names_it(scenes, tmp_path, capsys):
    paths, names = scenes
    target = next(n for n in synthetic.CLASS_NAMES if n not in names)
    out = tmp_path / "fool"
    assert cli.main(["fool", str(paths[0]), "--target", target.replace(" ", "_"),
                     "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "fooled in" in printed and (out / "scene.png").is_file()


def test_classviz_is_seeded(tmp_path):
    runs = []
    for run in ("a", "b"):
        out = tmp_path / run
        assert cli.main(["classviz", "3", "red circle", "--iterations", "5", "-o", str(out)]) == 0
        runs.append(sorted(out.iterdir()))
    assert [p.name for p in runs[0]] == ["0000-red_circle.png", "0003-red_diamond.png"]
    for a, b in zip(*runs):
        np.testing.assert_array_equal(_pixels(a), _pixels(b))


def test_converted_imagenet_weights_drive_the_same_commands(scenes, tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from torchref import squeezenet as ref

    pth = tmp_path / "squeezenet1_1.pth"
    torch.save({k: torch.from_numpy(v.astype(np.float32))
                for k, v in ref.random_state_dict(1000, seed=0).items()}, pth)
    h5 = tmp_path / "squeezenet1_1.weights.h5"
    assert cli.main(["squeezenet", "convert", str(pth), str(h5)]) == 0
    assert h5.is_file()
    out = tmp_path / "maps"
    assert cli.main(["saliency", str(scenes[0][0]), "--weights", str(h5), "--method", "saliency",
                     "--label", "7", "-o", str(out)]) == 0
    assert _pixels(out / "scene.png").std() > 10


def test_download_offline_is_a_message_not_a_traceback(tmp_path, monkeypatch, closed_port):
    monkeypatch.delenv("TFCS231N_TRACEBACK", raising=False)
    source = sqw.SQUEEZENET_WEIGHTS["torchvision"]
    url = f"http://127.0.0.1:{closed_port}/{source.filename}"
    monkeypatch.setitem(sqw.SQUEEZENET_WEIGHTS, "torchvision", dataclasses.replace(source, url=url))
    monkeypatch.setenv("TFCS231N_DATA", str(tmp_path))
    with pytest.raises(SystemExit) as info:
        cli.main(["squeezenet", "download"])
    message, hint = str(info.value.code).splitlines()
    assert message.startswith("tfcs231n squeezenet: Could not download") and url in message
    assert "TFCS231N_TRACEBACK" in hint


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    (root / "broken.png").write_bytes(b"not a png")
    (root / "broken.weights.h5").write_bytes(b"not an HDF5 file")
    (root / "broken.pth").write_bytes(b"not a pickle")
    return root


# argv (with {img} for a good image, {bad} for the folder of broken files) -> message start.
BAD_INPUT = {
    "missing image": (["saliency", "{bad}/nowhere.png"], "tfcs231n saliency: cannot read image"),
    "corrupt image": (["saliency", "{bad}/broken.png"], "tfcs231n saliency: cannot read image"),
    "unknown class": (["saliency", "{img}", "--label", "plaid circle"],
                      "tfcs231n saliency: unknown class"),
    "class out of range": (["fool", "{img}", "--target", "24"],
                           "tfcs231n fool: class 24 out of range"),
    "missing weights": (["saliency", "{img}", "--weights", "{bad}/none.pth"],
                        "tfcs231n saliency: no weights file"),
    "corrupt .weights.h5": (["saliency", "{img}", "--weights", "{bad}/broken.weights.h5"],
                            "tfcs231n saliency: {bad}/broken.weights.h5 is not"),
    "corrupt .pth": (["classviz", "1", "--weights", "{bad}/broken.pth"],
                     "tfcs231n classviz: {bad}/broken.pth is not a readable PyTorch"),
    "convert a non-checkpoint": (["squeezenet", "convert", "{bad}/broken.png",
                                  "{bad}/x.weights.h5"], "tfcs231n squeezenet: "),
    "convert to a bad name": (["squeezenet", "convert", "{bad}/broken.pth", "{bad}/x.h5"],
                              "tfcs231n squeezenet: dst must end in .weights.h5"),
    "unknown download": (["squeezenet", "download", "--kind", "resnet"], "tfcs231n squeezenet: kind must"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_a_message_not_a_traceback(case, scenes, bad_files, monkeypatch):
    monkeypatch.delenv("TFCS231N_TRACEBACK", raising=False)
    argv, start = BAD_INPUT[case]
    argv = [a.format(img=scenes[0][0], bad=bad_files) for a in argv]
    start = start.format(bad=bad_files)
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    message = str(info.value.code)
    assert message.startswith(start), message
    assert "Traceback" not in message


@pytest.mark.parametrize("argv", [["fool", "x.png", "--target", "1", "--max-iters", "0"],
                                  ["classviz", "1", "--iterations", "-3"]])
def test_counts_below_one_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert "must be an integer >= 1" in capsys.readouterr().err


def test_a_damaged_cached_classifier_is_a_message(scenes, tmp_path, monkeypatch):
    from tfcs231n.visualization import synthetic_classifier as sc

    monkeypatch.delenv("TFCS231N_TRACEBACK", raising=False)
    monkeypatch.setenv("TFCS231N_DATA", str(tmp_path))
    weights, meta = sc.cache_paths(sc.ClassifierConfig())
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"not an HDF5 file")
    meta.write_text("{}")
    with pytest.raises(SystemExit) as info:
        cli.main(["saliency", str(scenes[0][0]), "-o", str(tmp_path / "out")])
    message = str(info.value.code)
    assert message.startswith(f"tfcs231n saliency: cannot read the synthetic classifier "
                              f"{weights}"), message
    assert "train-synthetic --retrain" in message
