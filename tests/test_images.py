"""One image reader for every command (files and skimage:NAME), `--example N` for the
visualization commands, class names in any case, and fooling failures worded with names."""

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tfcs231n import cli
from tfcs231n.data.images import SKIMAGE_NAMES, read_image

README = Path(__file__).resolve().parents[1] / "README.md"


def test_read_image_files_and_skimage_names(tmp_path):
    cat = read_image("skimage:chelsea")
    assert cat.shape == (300, 451, 3) and cat.dtype == np.uint8
    gray = read_image("skimage:camera")  # (H, W) in scikit-image: made RGB
    assert gray.shape == (512, 512, 3)
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])
    path = tmp_path / "cat.png"
    Image.fromarray(cat).save(path)
    np.testing.assert_array_equal(read_image(str(path)), cat)
    assert min(read_image("skimage:chelsea", size=64).shape[:2]) == 64


def test_a_wrong_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"'chelsae'.*\bchelsea\b.*\bcoffee\b") as info:
        read_image("skimage:chelsae")
    assert all(name in str(info.value) for name in SKIMAGE_NAMES)
    with pytest.raises(ValueError, match=r"cannot read image .*nowhere\.png"):
        read_image("nowhere.png")


@pytest.mark.parametrize("argv", [
    ["saliency", "skimage:chelsea", "--method", "saliency"],
    ["fool", "skimage:chelsea", "--target", "red circle", "--max-iters", "200"],
    ["augment", "skimage:chelsea", "--flip", "--rows", "1", "--cols", "2"],
], ids=lambda argv: argv[0])
def test_every_command_reads_skimage_names(argv, tmp_path, capsys):
    out = tmp_path / ("augment.png" if argv[0] == "augment" else "out")
    assert cli.main([*argv, "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    written = [out] if argv[0] == "augment" else list(out.iterdir())
    assert [p.name for p in written] == (["augment.png"] if argv[0] == "augment"
                                         else ["chelsea.png"])


def test_wrong_skimage_name_is_a_one_line_cli_error(tmp_path):
    with pytest.raises(SystemExit, match=r"^tfcs231n saliency: no scikit-image sample "
                                         r"'chelsae'.*chelsea"):
        cli.main(["saliency", "skimage:chelsae", "-o", str(tmp_path)])


def test_saliency_example_writes_the_scenes_next_to_the_maps(tmp_path, capsys):
    out = tmp_path / "sal"
    assert cli.main(["saliency", "--example", "2", "--method", "grad-cam", "-o", str(out)]) == 0
    inputs = sorted(p.name for p in (out / "inputs").iterdir())
    assert len(inputs) == 2 and all(re.fullmatch(r"example-\d-[a-z]+_[a-z]+\.png", n)
                                    for n in inputs)
    assert sorted(p.name for p in out.glob("*.png")) == inputs  # one map per scene
    assert "wrote 2 example scenes" in capsys.readouterr().out


def test_example_and_images_are_one_or_the_other(tmp_path):
    with pytest.raises(SystemExit, match=r"^tfcs231n fool: give IMAGE files or --example N, "
                                         r"not both"):
        cli.main(["fool", "skimage:chelsea", "--example", "1", "--target", "0",
                  "-o", str(tmp_path)])
    with pytest.raises(SystemExit, match=r"^tfcs231n saliency: give IMAGE files .*--example"):
        cli.main(["saliency", "-o", str(tmp_path)])


def test_class_names_in_any_case_with_underscores_or_spaces():
    from tfcs231n.cli.vis import _Classifier

    clf = _Classifier("synthetic")
    blue_square = clf.names.index("blue square")
    for text in ("blue square", "Blue Square", "BLUE_SQUARE", "  blue   Square "):
        assert clf.class_id(text) == blue_square
    with pytest.raises(ValueError, match=r"unknown class 'blue squares'"):
        clf.class_id("blue squares")


def test_failed_fooling_names_classes_writes_the_rest_and_counts(tmp_path, capsys):
    from tfcs231n.visualization.synthetic_classifier import (ClassifierConfig,
                                                             classification_data,
                                                             synthetic_classifier)

    model, info = synthetic_classifier(verbose=False)
    X, _, _ = classification_data(ClassifierConfig(**info["config"]), "val")
    predicted = model(X[:2], training=False).numpy().argmax(1)
    assert predicted[0] != predicted[1]
    names = info["class_names"]
    out = tmp_path / "fool"
    # The first scene already is the target (0 steps); one step is not enough for the second.
    status = cli.main(["fool", "--example", "2", "--target", names[predicted[0]].upper(),
                       "--max-iters", "1", "--lr", "1e-6", "-o", str(out)])
    err = capsys.readouterr().err
    assert status == 1
    assert (f"still predicts {names[predicted[1]]!r}, not {names[predicted[0]]!r}, after 1 "
            f"steps; try --max-iters or --lr") in err
    assert "1 of 2 images not fooled" in err
    assert [p.name for p in out.glob("*.png")] == [f"example-1-{names[predicted[0]].replace(' ', '_')}.png"]


def test_fool_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        cli.main(["fool", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--lr" in text and "--max-iters" in text and "--example" in text
    assert "Exit status: 0 when every image was fooled, else the number" in text


def test_readme_shows_the_offline_saliency_and_fool_example():
    text = README.read_text(encoding="utf-8")
    assert re.search(r"tfcs231n saliency --example \d", text)
    assert re.search(r"tfcs231n fool --example \d+ --target", text)
    assert "skimage:chelsea" in text
