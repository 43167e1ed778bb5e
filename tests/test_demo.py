"""`tfcs231n demo`: section orchestration, failure reporting, and the HTML it writes.

The orchestration tests use stand-in sections (a module injected into sys.modules), so they
run in a second; the real sections are checked by test_demo_run.py.
"""

import base64
import io
import json
import re
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
from PIL import Image

from tfcs231n.demo import run as demo
from tfcs231n.cli import demo as demo_cli
from tfcs231n.demo import report

IMG = re.compile(r'src="data:image/png;base64,([^"]+)"')


def embedded_images(page):
    """Every embedded PNG of the page, decoded (raises if one does not decode)."""
    images = []
    for data in IMG.findall(page):
        with Image.open(io.BytesIO(base64.b64decode(data))) as im:
            im.load()
            images.append(im.size)
    return images


def _png(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 12, 3), value, np.uint8)).save(path)
    return path


@pytest.fixture
def fake_sections(monkeypatch):
    module = types.ModuleType("fake_demo_sections")

    def good(out_dir, quick=True, seed=0):
        s = report.Section("good", "A good section", "it worked")
        s.figure(_png(out_dir / "a.png", seed), "a picture")
        s.table("numbers", ["x", "y"], [[1, 0.5], ["two", "FAIL nothing"]])
        s.metrics = {"answer": 42 + seed, "quick": quick}
        return s

    def bad(out_dir, quick=True, seed=0):
        raise RuntimeError("this section broke on purpose")

    module.good_section, module.bad_section = good, bad
    monkeypatch.setitem(sys.modules, "fake_demo_sections", module)
    monkeypatch.setattr(demo, "SECTIONS", {"good": "fake_demo_sections",
                                           "bad": "fake_demo_sections"})
    # Stand-ins are looked up as `<name>_section`, like the demo's own built-ins.
    monkeypatch.setattr(demo, "_builder", lambda module, name: getattr(module, f"{name}_section"))
    return module


def test_parse_sections_orders_and_rejects_unknown_names():
    assert demo.parse_sections(None) == list(demo.SECTIONS)
    assert demo.parse_sections("parity,captioning") == ["captioning", "parity"]
    with pytest.raises(ValueError, match=r"\bsections\b.*\bnope\b"):
        demo.parse_sections("captioning,nope")


def test_a_failing_section_is_reported_and_the_others_still_run(fake_sections, tmp_path):
    summary = demo.run(tmp_path, sections=["bad", "good"], seed=1, log=lambda m: None)
    assert not summary["ok"]
    assert not summary["sections"]["bad"]["ok"]
    assert "this section broke on purpose" in summary["sections"]["bad"]["error"]
    assert summary["sections"]["good"]["ok"]
    assert summary["sections"]["good"]["metrics"]["answer"] == 43
    assert json.loads((tmp_path / "summary.json").read_text()) == summary

    page = (tmp_path / "report.html").read_text()
    assert "this section broke on purpose" in page and "A good section" in page
    assert embedded_images(page) == [(12, 8)]
    assert 'class="fail"' in page  # a FAIL cell marks its row


def test_the_command_exits_nonzero_when_a_section_fails(fake_sections, tmp_path, capsys):
    args = types.SimpleNamespace(sections="bad,good", out=str(tmp_path), quick=True, seed=0)
    assert demo_cli.main(args) == 1
    out = capsys.readouterr().out
    assert "[1/2] good: ok" in out and "[2/2] bad: FAILED" in out
    assert "report: " in out
    args.sections = "good"
    assert demo_cli.main(args) == 0


def test_same_seed_same_numbers(fake_sections, tmp_path):
    a = demo.run(tmp_path / "a", sections=["good"], seed=3, log=lambda m: None)
    b = demo.run(tmp_path / "b", sections=["good"], seed=3, log=lambda m: None)
    assert a["sections"]["good"]["metrics"] == b["sections"]["good"]["metrics"]


def test_environment_names_versions_and_hardware():
    env = demo.environment()
    for key in ("python", "tensorflow", "keras", "numpy", "torch", "cpu", "cores", "gpu"):
        assert env[key], key


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def console_errors(html_path, tmp_path):
    """Opens the page in headless Chromium; returns its console/network error lines."""
    result = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
         "--v=0", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000",
         "--dump-dom", html_path.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "</html>" in result.stdout  # the page was loaded and rendered
    return [line for line in result.stderr.splitlines()
            if "CONSOLE" in line or "ERR_FILE_NOT_FOUND" in line or "Uncaught" in line]


@pytest.mark.skipif(not chromium(), reason="Chromium is not installed (apt-get install "
                    "chromium); CI installs it")
def test_report_opens_in_headless_chromium_without_console_errors(fake_sections, tmp_path):
    demo.run(tmp_path, sections=["good"], log=lambda m: None)
    assert console_errors(tmp_path / "report.html", tmp_path) == []
    # The check can fail: a page with a script error is caught.
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>console.error('boom'); undefined_call();"
                      "</script></body></html>")
    assert console_errors(broken, tmp_path)
