"""Per-run HTML report: every set, media overlays, failures first, clean in Chromium."""

from __future__ import annotations

import sys
from pathlib import Path

from muie_bench.report import write_report
from muie_bench.run.runner import RunOptions, run

sys.path.insert(0, str(Path(__file__).resolve().parent))
import runner_support  # noqa: F401  (registers the test-only kinds)
from test_leaderboard_html import _driver


def test_report_of_a_run_with_failures(tmp_path: Path, tiny_dir: Path) -> None:
    res = run(RunOptions(system="test-flaky", benchmark=tiny_dir, out=tmp_path / "runs",
                         overrides={"fail_suffixes": ["-1"]}, score=False))
    path = write_report(res.run_dir, per_set=1)
    html = path.read_text(encoding="utf-8")
    for sid in ("ti-ner", "ta-ner", "a-re", "ia-re", "i-ee", "v-ee", "tv-ee"):
        assert f"<h2>{sid} (2 instances, showing 1)</h2>" in html
        # the failed instance of each set is the one shown
        assert f"<h4>{sid}-1</h4>" in html and f"<h4>{sid}-0</h4>" not in html
    assert html.count("<b>error</b>: RuntimeError: flaky failure") == 7
    # image sets: gold + predicted overlays; video sets: 3 frames x 2; audio: one SVG each
    assert html.count('alt="gold masks"') == 3 and html.count('alt="predicted masks"') == 3
    assert html.count('<img alt="frame ') == 2 * 2 * 3
    assert html.count("<svg ") == 3
    driver = _driver(tmp_path / "profile")
    try:
        driver.get(path.resolve().as_uri())
        widths = driver.execute_script(
            "return Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)")
        logs = driver.get_log("browser")
    finally:
        driver.quit()
    assert widths and all(w > 0 for w in widths)
    assert [e for e in logs if e.get("level") in ("SEVERE", "WARNING")] == []
