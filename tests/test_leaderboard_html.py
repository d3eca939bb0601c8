"""The HTML leaderboard is one self-contained file that opens in headless Chromium cleanly.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make browser``, which ``make test``
runs first, installs them when missing).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from muie_bench.leaderboard import REPORTED_LABEL, write_leaderboard
from muie_bench.run.runner import RunOptions, run


def _driver(profile: Path):  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium")
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip("chromium / chromedriver not installed (run `make browser`)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=opts)


def test_html_opens_in_headless_chromium_without_console_errors(
    tmp_path: Path, tiny_dir: Path
) -> None:
    runs = tmp_path / "runs"
    try:
        import muie_bench.metrics.evaluate  # noqa: F401

        run(RunOptions(system="oracle", benchmark=tiny_dir, out=runs, n_resamples=100))
        measured = True
    except ImportError:  # the metrics package is not there: reported rows only
        measured = False
    out = tmp_path / "lb"
    write_leaderboard(runs, out)
    html_path = out / "leaderboard.html"
    html = html_path.read_text(encoding="utf-8")
    # self-contained: no external resource of any kind
    assert not re.search(r"""(src|href)=["']?(https?:|//|[^"'d#])""", html)
    n_png = html.count("data:image/png;base64,")
    assert n_png == len(list(out.glob("*.png"))) > 0
    driver = _driver(tmp_path / "profile")
    try:
        driver.get(html_path.resolve().as_uri())
        assert driver.title == "muie-bench leaderboard"
        body = driver.find_element("tag name", "body").text
        assert REPORTED_LABEL in body and "47.4" in body
        if measured:
            assert "Measured on tiny 1" in body and "100.0" in body
        widths = driver.execute_script(
            "return Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)")
        assert len(widths) == n_png and all(w > 0 for w in widths)
        logs = driver.get_log("browser")
    finally:
        driver.quit()
    bad = [e for e in logs if e.get("level") in ("SEVERE", "WARNING")]
    assert bad == [], bad
