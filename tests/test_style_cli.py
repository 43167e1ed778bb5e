"""`tfcs231n style`, its bad-input errors and Ctrl-C.

The demo section runs in tests/test_demo_run.py, inside the real `tfcs231n demo`."""

import json

import numpy as np
import pytest
from PIL import Image

from tfcs231n import cli
from tfcs231n.style import presets
from tfcs231n.cli import style as style_command


@pytest.fixture()
def images(tmp_path):
    """A grayscale content PNG and an RGBA style PNG, made here."""
    rng = np.random.default_rng(0)
    content = tmp_path / "content.png"
    Image.fromarray(rng.integers(0, 256, (40, 56), dtype=np.uint8)).save(content)
    style = tmp_path / "style.png"
    Image.fromarray(rng.integers(0, 256, (36, 36, 4), dtype=np.uint8), "RGBA").save(style)
    return str(content), str(style)


def test_preset_names_listed_for_help_match_the_presets():
    assert set(style_command.PRESET_NAMES) == set(presets.PRESETS)
    assert set(style_command.PRESET_ALIASES.values()) <= set(presets.PRESETS)


def test_style_command_writes_image_snapshots_plot_and_summary(images, tmp_path):
    out = tmp_path / "out" / "result.png"
    mask = tmp_path / "mask.png"
    half = np.zeros((20, 20), np.uint8)
    half[:, 10:] = 255  # style on the right half only
    Image.fromarray(half).save(mask)
    code = cli.main(["style", *images, "-o", str(out), "--size", "32", "--steps", "4",
                     "--snapshot-every", "2", "--quiet", "--mask", str(mask),
                     "--preserve-color", "--scales", "2"])
    assert code == 0
    pixels = np.asarray(Image.open(out))
    # Grayscale content converted; shorter side 32, the other 56 * 32 / 40 = 44.8 truncated,
    # as the course's resize does.
    assert pixels.shape == (32, 44, 3)
    assert sorted(p.name for p in (tmp_path / "out" / "result_snapshots").iterdir()) == [
        "step00002.png", "step00004.png", "step00006.png", "step00008.png"]
    assert (tmp_path / "out" / "result_loss.png").stat().st_size > 0
    summary = json.loads((tmp_path / "out" / "result.json").read_text())
    assert summary["backbone"] == "vgg16-hed" and summary["steps"] == 8  # 4 per scale
    assert summary["losses"]["style"]["last"] < summary["losses"]["style"]["first"]


def test_ctrl_c_leaves_the_latest_image_saved(images, tmp_path, monkeypatch):
    saved = []
    real_save = style_command._save_png

    def save_then_interrupt(pixels, path):
        real_save(pixels, path)
        saved.append(path)
        if len(saved) == 2:  # the snapshot and the latest image of step 2 are on disk
            raise KeyboardInterrupt

    monkeypatch.setattr(style_command, "_save_png", save_then_interrupt)
    out = tmp_path / "stopped.png"
    code = cli.main(["style", *images, "-o", str(out), "--size", "32", "--steps", "50",
                     "--snapshot-every", "2", "--quiet"])
    assert code == 130
    summary = json.loads((tmp_path / "stopped.json").read_text())
    assert summary["interrupted"] and summary["steps"] == 2
    assert np.asarray(Image.open(out)).shape == (32, 44, 3)


def test_bad_inputs_give_clear_errors(images, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture")
    out = str(tmp_path / "x.png")
    with pytest.raises(SystemExit, match=r"^tfcs231n style: .*\bnotes\.png\b"):
        cli.main(["style", str(text), images[1], "-o", out])
    with pytest.raises(SystemExit, match=r"^tfcs231n style: .*\bnowhere\.jpg\b"):
        cli.main(["style", images[0], str(tmp_path / "nowhere.jpg"), "-o", out])
    with pytest.raises(SystemExit, match=r"^tfcs231n style: .*\bno_such_photo\b"):
        cli.main(["style", "skimage:no_such_photo", images[1], "-o", out])
    with pytest.raises(SystemExit,
                       match=r"^tfcs231n style: .*\bcourse\b.*\bsqueezenet\b"):
        cli.main(["style", *images, "-o", out, "--preset", "course", "--backbone", "vgg16-hed"])
    with pytest.raises(SystemExit, match=r"^tfcs231n style: .*\bvgg19\b"):
        cli.main(["style", *images, "-o", out, "--backbone", "vgg19"])
    with pytest.raises(SystemExit, match="^tfcs231n style: the squeezenet backbone needs weights"):
        cli.main(["style", *images, "-o", out, "--backbone", "squeezenet"])
