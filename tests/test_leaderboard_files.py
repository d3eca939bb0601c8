"""The leaderboard files of a fixed set of runs are byte-identical to the committed ones.

``tests/data/leaderboard_runs`` (made by ``tests/data/make_leaderboard_runs.py``) covers two
benchmarks, a name with two fingerprints, failed instances, an incomplete run, a subset run,
a subset run that loses to the full run, and an unscored run. The expected files were
written by the leaderboard before it became a package; the HTML changed on purpose once
(its intro and "not scored yet" note now use the same text as the Markdown). The runs
folder's path is written as ``{RUNS}``, and each inlined chart as ``{<its file name>}``.
"""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import pytest

from muie_bench.leaderboard import LeaderboardResult, write_leaderboard

DATA = Path(__file__).resolve().parent / "data"
EXPECTED = DATA / "leaderboard_expected"


def _normalised(res: LeaderboardResult, runs: Path, name: str) -> str:
    pngs = {base64.b64encode((res.out_dir / f).read_bytes()).decode("ascii"): f
            for f in res.images.values()}
    text = (res.out_dir / name).read_text(encoding="utf-8").replace(str(runs), "{RUNS}")
    return re.sub(r"data:image/png;base64,([A-Za-z0-9+/=]+)",
                  lambda m: "data:image/png;base64,{" + pngs[m.group(1)] + "}", text)


@pytest.mark.parametrize("plots", [False, True])
def test_files_match_the_committed_output(tmp_path: Path, plots: bool) -> None:
    runs = tmp_path / "runs"
    shutil.copytree(DATA / "leaderboard_runs", runs)
    res = write_leaderboard(runs, tmp_path / "lb", plots=plots)
    assert [p.name for p in res.files[:3]] == ["leaderboard.md", "leaderboard.csv",
                                               "leaderboard.html"]
    assert all(p.is_file() for p in res.files)
    assert len(res.images) == (15 if plots else 0)
    suffix = "-plots" if plots else ""
    for name, expected in (("leaderboard.md", f"leaderboard{suffix}.md"),
                           ("leaderboard.csv", "leaderboard.csv"),
                           ("leaderboard.html", f"leaderboard{suffix}.html")):
        assert _normalised(res, runs, name) == (EXPECTED / expected).read_text(encoding="utf-8"), name
    assert res.markdown == (res.out_dir / "leaderboard.md").read_text(encoding="utf-8")


def test_intro_and_notes_are_one_text_in_markdown_and_html(tmp_path: Path) -> None:
    """The same sentences, only the markup and where the CI sits ("in parentheses" / "below")."""
    from html import unescape

    runs = tmp_path / "runs"
    shutil.copytree(DATA / "leaderboard_runs", runs)
    res = write_leaderboard(runs, tmp_path / "lb", plots=False)
    md = res.markdown
    html = (res.out_dir / "leaderboard.html").read_text(encoding="utf-8")
    md_intro = md.splitlines()[2].replace("`", "").replace("**", "")
    html_intro = unescape(re.sub(r"<[^>]+>", "", re.search(r"<p>(Measured rows.*?)</p>", html)[1]))
    assert md_intro == html_intro.replace("interval below", "interval in parentheses")
    md_notes = [ln[2:].replace("`", "").replace("**", "") for ln in md.splitlines()
                if ln.startswith("- ")]
    html_notes = [unescape(re.sub(r"<[^>]+>", "", n)) for n in re.findall(r"<li>(.*?)</li>", html)]
    assert md_notes == html_notes and any("not scored yet (run muie-bench score" in n
                                          for n in md_notes)


def test_terminal_tables_match_the_committed_output(tmp_path: Path) -> None:
    """`muie-bench leaderboard` prints the same tables as before the package (160 columns)."""
    import os
    import subprocess
    import sys

    runs = tmp_path / "runs"
    shutil.copytree(DATA / "leaderboard_runs", runs)
    proc = subprocess.run([sys.executable, "-m", "muie_bench.cli", "leaderboard", str(runs),
                           "--out", str(tmp_path / "lb"), "--no-plots"], capture_output=True,
                          text=True, env=dict(os.environ), timeout=300)
    assert proc.returncode == 0, proc.stderr
    printed, last = proc.stdout.rsplit("\n", 2)[0] + "\n", proc.stdout.splitlines()[-1]
    assert printed == (EXPECTED / "leaderboard-terminal.txt").read_text(encoding="utf-8")
    assert last == f"wrote {tmp_path / 'lb'}/leaderboard.md (with 95 % CIs), .csv, .html and 0 charts"
