"""The demo report's weak spots (issue 22): a parity summary above folded rows, fooling
panels that say their magnification, captions marked right/wrong by a stated rule, one clock
for the GAN table and plot, the speed table's busy-machine heading, the quick demo's time."""

import re
import types
from pathlib import Path

import numpy as np
import pytest

from tfcs231n import cli
from tfcs231n.cli import demo as demo_cli
from tfcs231n.demo import html
from tfcs231n.demo import run as demo

ROOT = Path(__file__).resolve().parents[1]


def _row(max_rel, ok=True):
    return types.SimpleNamespace(max_rel=max_rel, ok=ok)


def test_parity_summary_gives_rows_and_worst_errors_per_module():
    reports = [
        ("rnn", types.SimpleNamespace(dtype="float64", rows=[_row(1e-12), _row(3e-11)])),
        ("rnn", types.SimpleNamespace(dtype="float32", rows=[_row(2e-6), _row(float("nan"))])),
        ("gan", types.SimpleNamespace(dtype="float64", rows=[_row(5e-14)])),
        ("gan", types.SimpleNamespace(dtype="float32", rows=[_row(4e-5, ok=False)])),
    ]
    assert demo.parity_summary(reports) == [
        ["rnn", 4, "3.00e-11", "2.00e-06", "pass"],
        ["gan", 2, "5.00e-14", "4.00e-05", "FAIL 1 rows"],
    ]


def test_parity_section_leads_with_the_summary_and_folds_the_rows(monkeypatch, tmp_path):
    from tfcs231n.parity import cases as parity_cases

    every = parity_cases.cases

    monkeypatch.setattr(parity_cases, "cases", lambda module=None: every("rnn"))
    section = demo.parity_section(tmp_path)
    summary, rows = section.tables
    assert summary.title == f"summary: {len(rows.rows)} rows, all passed" and not summary.folded
    assert [r[0] for r in summary.rows] == ["rnn"] and summary.rows[0][1] == len(rows.rows)
    assert rows.folded
    page = tmp_path / "report.html"
    html.write(page, [(section, None, 1.0)],
               {"environment": {}, "quick": True, "seed": 0, "seconds": 1.0})
    text = page.read_text(encoding="utf-8")
    assert text.index("summary: ") < text.index("<details><summary>every row (")
    assert re.search(r"<details><summary>every row \(\d+ rows\)</summary><table>.*?lstm_forward"
                     r".*?</table></details>", text, re.S)


def test_magnified_difference_states_its_factor():
    from tfcs231n.demo.visualization import magnified_difference
    from tfcs231n.visualization.squeezenet import SQUEEZENET_STD

    diff = np.zeros((4, 4, 3), np.float32)
    diff[0, 0] = 0.05 / SQUEEZENET_STD  # a change of 0.05 (of the [0, 1] range) in one pixel
    pixels, factor = magnified_difference(diff)
    shown = diff * SQUEEZENET_STD + np.array([0.485, 0.456, 0.406], np.float32)
    assert factor == pytest.approx(1 / (shown.max() - shown.min()), rel=1e-6)
    assert pixels.dtype == np.uint8 and pixels.max() == 255 and pixels.min() == 0


def test_fool_panel_label_names_the_factor(monkeypatch, tmp_path):
    from tfcs231n import plotting

    labels = []

    def capture(rows, path, **kwargs):
        labels.extend(label for row in rows for _, label, _ in row)
        return path

    monkeypatch.setattr(plotting, "image_rows", capture)
    assert cli.main(["fool", "--example", "1", "--target", "red circle", "--max-iters", "200",
                     "-o", str(tmp_path)]) == 0
    assert re.fullmatch(r"difference ×\d+ \(\d+ steps\)", labels[-1]), labels


def test_captions_are_marked_against_every_reference():
    from tfcs231n.demo.captioning import mark_captions

    refs = [[["a", "red", "circle"], ["the", "red", "circle"]], [["a", "blue", "square"]]]
    marked, right = mark_captions([["the", "red", "circle"], ["a", "square"]], refs)
    assert marked == ["right: the red circle", "WRONG: a square"] and right == 1


def test_captioning_showcase_marks_captions_and_states_its_rule(monkeypatch, tmp_path):
    from tfcs231n import plotting
    from tfcs231n.data.coco import load_coco_data
    from tfcs231n.data.synthetic_coco import write_coco_format
    from tfcs231n.demo import captioning as captioning_demo

    base = write_coco_format(tmp_path / "coco", 40, 12, seed=3)
    monkeypatch.setattr("tfcs231n.data.captioning_data", lambda *a, **k: load_coco_data(base))
    monkeypatch.setattr("tfcs231n.data.synthetic_captioning_dir", lambda: Path(base))
    shown = []
    real_grid = plotting.caption_grid

    def grid(images, generated, truth, path):
        shown.append(generated)
        return real_grid(images, generated, truth, path)

    monkeypatch.setattr(plotting, "caption_grid", grid)
    section = captioning_demo.demo_section(tmp_path / "out", quick=True, seed=0)
    assert len(shown) == 2 and all(len(g) == captioning_demo.SHOWCASE for g in shown)
    assert all(re.match(r"(right|WRONG): ", c) for g in shown for c in g)
    captions = [f.caption for f in section.figures if "captions" in f.caption]
    assert len(captions) == 2
    for caption, generated in zip(captions, shown):
        right = sum(c.startswith("right") for c in generated)
        assert f"{right} of {len(generated)} right" in caption
        assert captioning_demo.SHOWCASE_RULE in caption


def test_gan_table_and_plot_use_one_named_clock(monkeypatch, tmp_path):
    from tfcs231n.demo import gan as gan_demo
    from tfcs231n.gan import metrics as gm

    tiny = dict(n_train=64, n_test=500, classifier=dict(train_images=64, epochs=1,
                                                        batch_size=32, feature_dim=8),
                batch_size=32, epochs=dict(vanilla=2, lsgan=2, dcgan=1), steps=2,
                samples=200)
    monkeypatch.setitem(gan_demo.DEMO, True, tiny)
    plotted = {}
    real_plot = gm.plot_metric_curves

    def plot(runs, path, key="fd", floor=None, x="steps"):
        plotted.update(runs=runs, x=x)
        return real_plot(runs, path, key, floor, x)

    monkeypatch.setattr(gm, "plot_metric_curves", plot)
    section = gan_demo.demo_section(tmp_path, quick=True, seed=0)
    table = section.tables[0]
    x = plotted["x"]
    assert x == "cpu_seconds" and table.header[-1] == "training time (process CPU seconds)"
    assert "training time (process CPU seconds)" in section.figures[-1].caption
    for row in table.rows:
        assert row[-1] == f"{plotted['runs'][row[0]][-1][x]:.0f}"


def _bench_fakes(monkeypatch, busy):
    from tfcs231n.bench import runner as bench

    timing = types.SimpleNamespace(workload="gan", variant="tf-function", median_ms=2.0,
                                   iqr_ms=0.1, gflops=1.0, pct_floor=50.0, error="")
    result = types.SimpleNamespace(timings=[timing], matmul_gflops=63.0, machine_busy=busy,
                                   failed=[])
    monkeypatch.setattr(bench, "run", lambda *a, **k: result)
    monkeypatch.setattr(bench, "ratios", lambda timings: {"gan": dict(
        tf_best="tf-function", tf_best_ms=2.0, pytorch_best="pytorch", pytorch_best_ms=5.0,
        ratio=0.4, ratio_torchref=0.4, turn_ratios=[0.4])})


@pytest.mark.parametrize("busy", [True, False])
def test_speed_tables_say_in_words_when_the_machine_was_busy(monkeypatch, tmp_path, busy):
    _bench_fakes(monkeypatch, busy)
    section = demo.bench_section(tmp_path)
    titles = [t.title for t in section.tables]
    if busy:
        assert all(re.match(r"\w+: the bench found this machine busy", t) for t in titles)
    else:
        assert titles == ["timings", "ratios"]
    assert section.metrics["machine_busy"] is busy


def test_readme_and_help_state_the_quiet_quick_demo_time(capsys):
    text = " ".join(ROOT.joinpath("README.md").read_text(encoding="utf-8").split())
    seconds = demo_cli.QUICK_SECONDS
    assert f"{seconds} s on 2 quiet CPU cores" in text and "a busy machine doubles it" in text
    with pytest.raises(SystemExit):
        cli.main(["demo", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"{seconds} s on 2 quiet cores; a busy machine doubles it" in help_text
