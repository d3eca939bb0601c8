"""`leaderboard`, `run-all --leaderboard-out` and `report` through the real CLI: bad input and
output paths end in one line on stderr, exit status 2, no traceback, nothing written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "muie_bench.cli", *args], capture_output=True,
                          text=True, env=dict(os.environ), timeout=300, cwd=cwd)


def _one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file()}


@pytest.fixture()
def runs(tmp_path: Path) -> Path:
    out = tmp_path / "runs"
    shutil.copytree(DATA / "leaderboard_runs", out)
    return out


def test_leaderboard_of_a_missing_folder_or_a_file(tmp_path: Path, runs: Path) -> None:
    out = tmp_path / "lb"
    missing = tmp_path / "no-such-runs"
    _one_line_error(_cli("leaderboard", str(missing), "--out", str(out)), str(missing),
                    "no such runs folder")
    a_file = runs / "tiny" / "oracle" / next((runs / "tiny" / "oracle").iterdir()).name / "run.json"
    _one_line_error(_cli("leaderboard", str(a_file), "--out", str(out)), str(a_file),
                    "not a folder")
    assert not out.exists()  # nothing written, not even the reported rows


def test_leaderboard_out_is_a_file_or_unwritable(tmp_path: Path, runs: Path) -> None:
    a_file = tmp_path / "existing.txt"
    a_file.write_text("keep me\n")
    _one_line_error(_cli("leaderboard", str(runs), "--out", str(a_file), "--no-plots"),
                    str(a_file), "not a folder")
    assert a_file.read_text() == "keep me\n"
    _one_line_error(_cli("leaderboard", str(runs), "--out", str(a_file / "lb"), "--no-plots"),
                    str(a_file / "lb"), "cannot create the output folder")
    _one_line_error(_cli("leaderboard", str(runs), "--out", "/proc/muie-lb", "--no-plots"),
                    "/proc/muie-lb", "cannot create")
    # run-all checks its leaderboard folder before running anything
    before = _tree(tmp_path)
    _one_line_error(_cli("run-all", "oracle", "-b", str(DATA / "tiny"), "--out",
                         str(tmp_path / "new-runs"), "--leaderboard-out", str(a_file)),
                    str(a_file), "not a folder")
    assert _tree(tmp_path) == before and not (tmp_path / "new-runs").exists()


def test_leaderboard_of_an_empty_folder_has_the_reported_rows(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = _cli("leaderboard", str(tmp_path / "empty"), "--out", str(tmp_path / "lb"),
                "--no-plots", "-q")
    assert proc.returncode == 0, proc.stderr
    md = (tmp_path / "lb" / "leaderboard.md").read_text(encoding="utf-8")
    assert "## reported (MUIE-Bench, paper)" in md and "Measured on" not in md


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("muie_bench.metrics.evaluate", reason="scoring needs the metrics package")
    from muie_bench.run.runner import RunOptions, run

    res = run(RunOptions(system="oracle", benchmark=DATA / "tiny",
                         out=tmp_path_factory.mktemp("rep") / "runs", n_resamples=50))
    return res.run_dir


def test_report_out_is_a_folder_or_unwritable(tmp_path: Path, run_dir: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    (folder / "x.txt").write_text("keep\n")
    _one_line_error(_cli("report", str(run_dir), "--out", str(folder)), str(folder),
                    "is a folder")
    assert _tree(folder) == {"x.txt": b"keep\n"}
    a_file = tmp_path / "file.txt"
    a_file.write_text("keep\n")
    _one_line_error(_cli("report", str(run_dir), "--out", str(a_file / "r.html")), str(a_file),
                    "cannot create the output folder")
    _one_line_error(_cli("report", str(run_dir), "--out", "/proc/muie-report.html"),
                    "/proc/muie-report.html", "cannot write")
    _one_line_error(_cli("report", str(tmp_path), "--out", str(tmp_path / "r.html")),
                    str(tmp_path), "not a run directory")
    assert not (tmp_path / "r.html").exists()
    proc = _cli("report", str(run_dir), "--out", str(tmp_path / "sub" / "r.html"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "sub" / "r.html").is_file() and "MB)" in proc.stdout


def test_leaderboard_of_a_damaged_run_names_the_file(tmp_path: Path, runs: Path) -> None:
    scores = sorted(runs.rglob("scores.json"))[0]
    good = scores.read_bytes()
    scores.write_text(json.dumps({**json.loads(good), "sets": 3}))
    _one_line_error(_cli("leaderboard", str(runs), "--out", str(tmp_path / "lb")),
                    f"{scores}:1: sets: ")
    scores.write_bytes(b"\xff{}")
    _one_line_error(_cli("leaderboard", str(runs), "--out", str(tmp_path / "lb")),
                    f"{scores}:1: ")
    scores.write_bytes(good)
    run_json = sorted(runs.rglob("run.json"))[-1]
    run_json.write_bytes(b"\xff\xfe not json\n")
    _one_line_error(_cli("leaderboard", str(runs), "--out", str(tmp_path / "lb")),
                    f"{run_json}:1: (encoding)")
    assert not (tmp_path / "lb").exists()
