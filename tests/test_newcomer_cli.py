"""What a newcomer trips over on the command line (issue 22): --resume with nothing to resume,
MNIST offline, a wrong --model file, SqueezeNet without weights, the demo's output folder."""

from pathlib import Path

import pytest

from tfcs231n import cli
from tfcs231n.data import mnist
from tfcs231n.data.download import DownloadError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _messages_not_tracebacks(monkeypatch):
    monkeypatch.delenv("TFCS231N_TRACEBACK", raising=False)


def test_gan_resume_without_a_checkpoint_says_it_starts_from_scratch(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["gan", "train", "--model", "vanilla", "--no-metrics", "--n-train", "64",
            "--batch-size", "32", "--steps-per-epoch", "1", "--quiet", "--resume", "--out",
            str(out)]
    assert cli.main([*argv, "--epochs", "1"]) == 0
    printed = capsys.readouterr().out
    assert f"no checkpoint in {out / 'checkpoints'}; starting from scratch" in printed
    assert cli.main([*argv, "--epochs", "2"]) == 0  # now there is one
    printed = capsys.readouterr().out
    assert "starting from scratch" not in printed and "resumed from epoch 1" in printed


def test_caption_resume_without_a_checkpoint_says_so(tmp_path, capsys, monkeypatch):
    from tfcs231n.data.coco import load_coco_data
    from tfcs231n.data.synthetic_coco import write_coco_format

    coco = write_coco_format(tmp_path / "coco", 40, 10, seed=1, write_images=False)
    data = load_coco_data(coco)
    monkeypatch.setattr("tfcs231n.data.captioning_data", lambda *a, **k: data)
    out = tmp_path / "cap"
    assert cli.main(["caption", "train", "--epochs", "1", "--hidden", "8", "--wordvec", "8",
                     "--batch-size", "20", "--resume", "--out", str(out)]) == 0
    assert (f"no checkpoint in {out / 'checkpoints'}; starting from scratch"
            in capsys.readouterr().out)


def test_mnist_offline_names_the_command_lines_way(tmp_path, monkeypatch):
    def offline(url, path, sha256=None, **kwargs):
        raise DownloadError(f"Could not download {url}: no network")

    monkeypatch.setattr(mnist, "download", offline)
    monkeypatch.setenv("TFCS231N_DATA", str(tmp_path / "data"))
    with pytest.raises(SystemExit, match=r"^tfcs231n gan: .*`--data synthetic`"):
        cli.main(["gan", "train", "--data", "mnist", "--no-metrics", "--out",
                  str(tmp_path / "run")])


def test_caption_sample_says_in_one_line_which_files_it_takes(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model")
    with pytest.raises(SystemExit) as info:
        cli.main(["caption", "sample", "--model", str(notes)])
    message = str(info.value).split("\n(TFCS231N_TRACEBACK")[0]
    assert message.startswith(f"tfcs231n caption: --model {notes}: not a .keras file")
    assert "\n" not in message and "TFSMLayer" not in message


def test_gitignore_lists_the_demos_output_directory():
    demo = next(a for a in cli.build_parser()._subparsers._group_actions[0].choices["demo"]
                ._actions if a.dest == "out")
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert f"/{demo.default}/" in ignored
