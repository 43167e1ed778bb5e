"""`tfcs231n gan train|sample` on tiny runs, and the GAN section of `tfcs231n demo`."""

import json

import numpy as np
import pytest
from PIL import Image

from tfcs231n import cli
from tfcs231n.cli import gan as gan_command

from tfcs231n.demo import gan as gan_demo
TINY_TRAIN = ["--model", "vanilla", "--steps-per-epoch", "2", "--batch-size", "16",
              "--n-train", "200", "--no-metrics", "--quiet"]


def test_train_resume_sample_and_export(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["gan", "train", "--epochs", "1", "--out", str(run), *TINY_TRAIN]) == 0
    assert (run / "samples-epoch-001.png").is_file()
    assert json.loads((run / "run.json").read_text())["model"] == "vanilla"

    assert cli.main(["gan", "train", "--epochs", "2", "--resume", "--out", str(run),
                     "--export", str(tmp_path / "exported"), *TINY_TRAIN]) == 0
    history = json.loads((run / "history.json").read_text())
    assert [e["epoch"] for e in history["epochs"]] == [1, 2]
    assert len(history["d_loss"]) == 4  # 2 steps per epoch; the first epoch not redone
    assert (tmp_path / "exported" / "saved_model.pb").is_file()
    assert "done (resumed from epoch 1): 2 epochs" in capsys.readouterr().out

    out = tmp_path / "grid.png"
    assert cli.main(["gan", "sample", "--checkpoint", str(run), "--out", str(out),
                     "-n", "9"]) == 0
    picture = np.asarray(Image.open(out))
    assert picture.shape == (3 * (3 * 30 + 2), 3 * (3 * 30 + 2))  # 3 x 3 tiles, scale 3
    assert picture.std() > 0  # not a blank canvas
    assert "epoch-2 vanilla" in capsys.readouterr().out


def test_cli_errors_name_the_problem(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(SystemExit, match=r"^tfcs231n gan: .*\brun\.json\b"):
        cli.main(["gan", "sample", "--checkpoint", str(run), "--out", str(tmp_path / "x.png")])
    (run / "run.json").write_text(json.dumps({"model": "dcgan", "noise_dim": 96}))
    with pytest.raises(SystemExit, match=r"^tfcs231n gan: .*\bdcgan\b"):
        cli.main(["gan", "train", "--resume", "--out", str(run), *TINY_TRAIN])
    with pytest.raises(SystemExit, match="^tfcs231n gan: .*no checkpoint"):
        cli.main(["gan", "sample", "--checkpoint", str(run), "--out", str(tmp_path / "x.png")])
    with pytest.raises(SystemExit) as info:  # argparse: a usage error, before any work
        cli.main(["gan", "train", "--out", str(tmp_path / "r2"), *TINY_TRAIN,
                  "--batch-size", "0"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):  # argparse: not one of the four models
        cli.main(["gan", "train", "--model", "wgan"])


def test_compare_trains_each_model_under_the_budget(tmp_path, monkeypatch, capsys):
    from tfcs231n.gan import metrics as gm

    monkeypatch.setattr(gan_command, "_classifier_config", lambda data: gm.ClassifierConfig(
        source=data, n_train=3500, n_test=500, train_images=3000, epochs=1, feature_dim=16))
    out = tmp_path / "cmp"
    # The budget is checked after every iteration, so a tiny one stops each model in its
    # first epoch: partial, measured, nothing checkpointed.
    assert cli.main(["gan", "compare", "--models", "dcgan", "wgan-gp", "--time-budget",
                     "0.001", "--cpu-budget", "--out", str(out), "--batch-size", "16",
                     "--n-train", "200", "--metric-samples", "100", "--quiet"]) == 0
    report = json.loads((out / "compare.json").read_text())
    assert report["budget_clock"] == "cpu" and report["time_budget_s"] == 0.001
    assert [r["model"] for r in report["runs"]] == ["dcgan", "wgan-gp"]
    for r in report["runs"]:
        assert r["iterations"] == 1 and np.isfinite(r["fd"]) and r["best_fd"] <= r["fd"]
        assert json.loads((out / r["model"] / "run.json").read_text())["model"] == r["model"]
    assert Image.open(out / "fd.png").size[0] > 100
    assert np.asarray(Image.open(out / "samples.png")).std() > 0
    printed = capsys.readouterr().out
    assert "dcgan" in printed and "wgan-gp" in printed and "best FD" in printed
    with pytest.raises(SystemExit, match=r"^tfcs231n gan: .*--models\b.*\bdcgan\b"):
        cli.main(["gan", "compare", "--models", "dcgan", "dcgan", "--out", str(out)])
    with pytest.raises(SystemExit, match=r"^tfcs231n gan: .*--time-budget\b"):
        cli.main(["gan", "compare", "--time-budget", "0", "--out", str(out)])


def test_demo_section_quick(tmp_path, monkeypatch):
    """demo_section with quick=True, shrunk further (the full quick run, about a minute,
    is exercised by tests/test_demo_run.py): files, finite metrics, same seed same numbers."""
    # 100 digits fill 3 batches of 32: fewer than the cap of 5 steps. (Batches of 1000 made
    # two same-seed DCGAN runs differ at the 5th digit of the FD on this CPU.)
    tiny = dict(n_train=100, n_test=500, classifier=dict(train_images=100, epochs=2,
                                                         batch_size=64, feature_dim=16),
                batch_size=32, epochs=dict(vanilla=3, lsgan=3, dcgan=2), steps=5,
                samples=300)
    monkeypatch.setitem(gan_demo.DEMO, True, tiny)
    section = gan_demo.demo_section(tmp_path / "a", quick=True, seed=0)
    assert section.name == "gan"
    assert len(section.figures) == 4
    for figure in section.figures:
        assert Image.open(figure.path).size[0] > 50
    assert set(section.metrics) == {f"{m}_{k}" for m in ("vanilla", "lsgan", "dcgan")
                                    for k in ("fd", "is", "iterations")} | {"real_fd"}
    assert all(np.isfinite(v) for v in section.metrics.values())
    rows = section.tables[0].rows
    # The iterations shown are the ones trained (a run once said 600 and trained 372).
    assert [row[:2] for row in rows] == [["vanilla", 9], ["lsgan", 9], ["dcgan", 6]]
    assert "vanilla and LSGAN for 9 iterations and DCGAN for 6" in section.text
    again = gan_demo.demo_section(tmp_path / "b", quick=True, seed=0)
    assert again.metrics == section.metrics


@pytest.mark.parametrize("command", [["train", "--out", "{tmp}/run"],
                                     ["compare", "--time-budget", "5", "--out", "{tmp}/cmp"]])
def test_too_few_images_stop_before_the_metrics_classifier_trains(command, tmp_path,
                                                                  monkeypatch):
    def trained_anyway(args):
        raise AssertionError("the metrics classifier was trained for a run that cannot start")

    monkeypatch.delenv("TFCS231N_TRACEBACK", raising=False)
    monkeypatch.setattr(gan_command, "_metrics", trained_anyway)
    argv = ["gan", *[a.format(tmp=tmp_path) for a in command], "--n-train", "50"]
    with pytest.raises(SystemExit, match=r"^tfcs231n gan: .*\b50\b.*\b128\b"):
        cli.main(argv)
