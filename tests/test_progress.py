"""Progress output: Keras's bar on a terminal, plain lines in a file (no \\r, \\b, ANSI)."""

import io
import os
import subprocess
import sys

import numpy as np
import pytest

from tfcs231n._progress import Progress, interactive

CONTROL = ("\r", "\b", "\x1b")


def _clean(text):
    return not any(c in text for c in CONTROL)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_average_values_and_keep_stateful_ones():
    out = io.StringIO()
    bar = Progress(4, label="epoch 1/2", stateful_metrics=["lr"], every=2, stream=out)
    for i, (loss, lr) in enumerate([(4.0, 1.0), (2.0, 0.5), (1.0, 0.25), (1.0, 0.125)]):
        bar.update(i + 1, [("loss", loss), ("lr", lr)])
    lines = out.getvalue().splitlines()
    assert _clean(out.getvalue()) and len(lines) == 2
    assert lines[0].startswith("epoch 1/2: 2/4 steps, ")
    assert lines[0].endswith("loss 3, lr 0.5")  # mean of 4 and 2; the latest lr
    assert lines[1].endswith("loss 2, lr 0.125")


def test_nothing_when_not_verbose_and_arguments_checked():
    out = io.StringIO()
    bar = Progress(2, verbose=False, stream=out)
    bar.update(2, [("loss", 1.0)])
    assert out.getvalue() == ""
    with pytest.raises(ValueError, match=r"\btotal\b.*0"):
        Progress(0)
    with pytest.raises(ValueError, match=r"\bevery\b.*-1"):
        Progress(3, every=-1)


def test_terminal_gets_keras_bar(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert interactive()
    bar = Progress(3, label="epoch 1/1", stateful_metrics=["loss"])
    for i in range(3):
        bar.update(i + 1, [("loss", 0.5)])
    text = terminal.getvalue()
    assert text.startswith("epoch 1/1\n") and "\r" in text and "━" in text


def test_captioning_solver_prints_plain_epoch_lines(capsys):
    from tfcs231n.captioning.model import CaptioningRNN
    from tfcs231n.captioning.solver import CaptioningSolver
    from tfcs231n.data.coco import load_coco_data
    from tfcs231n.data.synthetic_coco import write_coco_format

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        data = load_coco_data(write_coco_format(tmp, 60, 20, seed=1, write_images=False),
                              max_train=40, seed=0)
    model = CaptioningRNN(data["word_to_idx"], input_dim=data["train_features"].shape[1],
                          wordvec_dim=8, hidden_dim=8)
    CaptioningSolver(model, data, num_epochs=2, batch_size=20, print_every=1).train()
    out = capsys.readouterr().out
    assert _clean(out), repr(out)
    assert [line.split(":")[0] for line in out.splitlines()] == ["epoch 1/2", "epoch 2/2"]


def test_synthetic_classifier_and_gan_metric_classifier_print_plain_lines(capsys):
    from tfcs231n.gan import metrics as gm
    from tfcs231n.visualization import synthetic_classifier as sc

    sc.train(sc.ClassifierConfig(image_size=32, images_per_epoch=16, n_val=24, epochs=1,
                                 batch_size=8))
    rng = np.random.default_rng(0)
    digits = ((rng.random((32, 28, 28)), rng.integers(0, 10, 32)),
              (rng.random((8, 28, 28)), rng.integers(0, 10, 8)))
    gm.train_classifier(gm.ClassifierConfig(train_images=32, epochs=1, batch_size=16),
                        data=digits, verbose=True)
    out = capsys.readouterr().out
    assert _clean(out), repr(out)
    assert "epoch 1/1: 2/2 steps" in out
    assert "metric classifier, epoch 1/1: 2/2 steps" in out


def test_download_progress_is_one_plain_line_in_a_log(capsys):
    from tfcs231n.data.download import _Progress

    progress = _Progress("file.zip", 2_000_000, 0)
    progress.update(1_000_000, force=True)
    progress.close(2_000_000)
    err = capsys.readouterr().err
    assert err == "file.zip: 2.0 MB / 2.0 MB (100%)\n"


def test_gan_train_log_file_has_no_control_characters(tmp_path):
    """The acceptance check: `tfcs231n gan train > log` (stdout a file, as in CI or nohup)."""
    log = tmp_path / "train.log"
    with open(log, "w", encoding="utf-8") as f:
        result = subprocess.run(
            [sys.executable, "-m", "tfcs231n", "gan", "train", "--no-metrics", "--n-train",
             "128", "--batch-size", "32", "--steps-per-epoch", "2", "--epochs", "2", "--out",
             str(tmp_path / "run")], stdout=f, stderr=subprocess.PIPE, text=True,
            timeout=600, env=os.environ.copy())
    text = log.read_text(encoding="utf-8")
    assert result.returncode == 0, result.stderr
    assert _clean(text), repr(text)
    assert "epoch 1/2: 2/2 steps" in text and "epoch 2/2: 2/2 steps" in text


def test_an_imported_ipykernel_without_a_running_kernel_is_not_a_notebook(monkeypatch):
    # A test process (nbclient, nbgrader) may import ipykernel; only a kernel's shell counts.
    import types

    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert not interactive()
    shell = type("ZMQInteractiveShell", (), {})()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert interactive()
