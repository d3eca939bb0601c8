"""Per-run HTML report: every set, media overlays, failures first, small by default (JPEG
thumbnails), full-size PNGs on request, both one file that opens cleanly in Chromium."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from muie_bench.report import write_report
from muie_bench.run.runner import RunOptions, run

sys.path.insert(0, str(Path(__file__).resolve().parent))
import runner_support  # noqa: F401  (registers the test-only kinds)
from test_leaderboard_html import _driver


def _open_cleanly(paths: list[Path], profile: Path) -> None:
    """Each page loads, every image decodes, and the console has no warning or error."""
    driver = _driver(profile)
    try:
        for path in paths:
            driver.get(path.resolve().as_uri())
            widths = driver.execute_script(
                "return Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)")
            assert widths and all(w > 0 for w in widths), path
            logs = driver.get_log("browser")
            assert [e for e in logs if e.get("level") in ("SEVERE", "WARNING")] == [], path
    finally:
        driver.quit()


def test_report_of_a_run_with_failures(tmp_path: Path, tiny_dir: Path) -> None:
    res = run(RunOptions(system="test-flaky", benchmark=tiny_dir, out=tmp_path / "runs",
                         overrides={"fail_suffixes": ["-1"]}, score=False))
    path = write_report(res.run_dir, per_set=1)
    lossless = write_report(res.run_dir, tmp_path / "lossless.html", per_set=1, lossless=True)
    assert path == res.run_dir / "report.html"
    for p in (path, lossless):
        html = p.read_text(encoding="utf-8")
        for sid in ("ti-ner", "ta-ner", "a-re", "ia-re", "i-ee", "v-ee", "tv-ee"):
            assert f"<h2>{sid} (2 instances, showing 1)</h2>" in html
            # the failed instance of each set is the one shown
            assert f"<h4>{sid}-1</h4>" in html and f"<h4>{sid}-0</h4>" not in html
        assert html.count("<b>error</b>: RuntimeError: flaky failure") == 7
        # image sets: gold + predicted overlays; video sets: 3 frames x 2; audio: one SVG each
        assert html.count('alt="gold masks"') == 3 and html.count('alt="predicted masks"') == 3
        assert html.count('<img alt="frame ') == 2 * 2 * 3
        assert html.count("<svg ") == 3
        # one file: nothing but inlined data is referenced
        assert not re.search(r"""(src|href)=["']?(https?:|//|[^"'d#])""", html)
    small, full = path.read_text(encoding="utf-8"), lossless.read_text(encoding="utf-8")
    n_img = small.count("<img ")
    assert small.count('src="data:image/jpeg;base64,') == n_img and "image/png" not in small
    assert full.count('src="data:image/png;base64,') == n_img and "image/jpeg" not in full
    assert path.stat().st_size < lossless.stat().st_size
    _open_cleanly([path, lossless], tmp_path / "profile")


def test_report_of_the_bundled_benchmark_is_under_3_mb(tmp_path: Path, mini_dir: Path) -> None:
    """5 instances of each of the 15 sets, every one shown: 170 images (the issue's case was
    19.6 MB with full-size PNGs)."""
    pytest.importorskip("muie_bench.metrics.evaluate", reason="scoring needs the metrics package")
    res = run(RunOptions(system="oracle", benchmark=mini_dir, out=tmp_path / "runs", limit=5,
                         n_resamples=20))
    path = write_report(res.run_dir)
    html = path.read_text(encoding="utf-8")
    assert html.count("<img ") == 170 and html.count("<h4>") == 75
    assert path.stat().st_size < 3_000_000, path.stat().st_size
    _open_cleanly([path], tmp_path / "profile")
