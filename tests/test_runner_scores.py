"""Runs are scored: oracle 100 everywhere, empty 0, re-score, fast resume, compare."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from muie_bench.compare import compare_runs
from muie_bench.errors import UserError
from muie_bench.replicate import replicate_benchmark
from muie_bench.run.files import RunDir
from muie_bench.run.runner import RunOptions, run, score_run
from muie_bench.schema import Scores

pytest.importorskip("muie_bench.metrics.evaluate", reason="scoring needs the metrics package")


def _all_values(scores: Scores) -> list[tuple[str, str, float]]:
    out = [(sid, m, mv.value) for sid, ss in scores.sets.items() for m, mv in ss.metrics.items()]
    out += [("macro", m, mv.value) for m, mv in scores.macro.items()]
    return out


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, tiny_dir: Path) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("scores") / "runs"
    a = run(RunOptions(system="oracle", benchmark=tiny_dir, out=out, n_resamples=300))
    b = run(RunOptions(system="empty", benchmark=tiny_dir, out=out, n_resamples=300))
    return a.run_dir, b.run_dir


def test_oracle_is_100_everywhere(pair: tuple[Path, Path]) -> None:
    scores = Scores.model_validate_json((pair[0] / "scores.json").read_text())
    values = _all_values(scores)
    assert len(scores.sets) == 7 and values
    assert [v for v in values if v[2] != pytest.approx(100.0)] == []
    assert scores.failed == 0 and scores.missing == 0
    assert (pair[0] / "instance_scores.jsonl").read_text().count("\n") == 14


def test_empty_is_0_on_the_paper_columns(pair: tuple[Path, Path]) -> None:
    from muie_bench.paper_sets import columns_for

    scores = Scores.model_validate_json((pair[1] / "scores.json").read_text())
    for sid, ss in scores.sets.items():
        for m in columns_for(sid, ss.task, ss.modalities):
            assert ss.metrics[m].value == 0.0, (sid, m)


def test_oracle_on_the_bundled_benchmark(tmp_path: Path, mini_dir: Path) -> None:
    res = run(RunOptions(system="oracle", benchmark=mini_dir, out=tmp_path, n_resamples=100))
    assert res.scores is not None and len(res.scores.sets) == 15
    assert [v for v in _all_values(res.scores) if v[2] != pytest.approx(100.0)] == []


def test_rescore_gives_the_same_scores_and_resume_does_not_rescore(
    pair: tuple[Path, Path], tiny_dir: Path
) -> None:
    run_dir = pair[0]
    before = (run_dir / "scores.json").read_text()
    rescored = score_run(run_dir, n_resamples=300)
    assert json.loads(before) == json.loads(rescored.model_dump_json())
    assert json.loads((run_dir / "scores.json").read_text()) == json.loads(before)
    # a finished, scored run is recognised from run.json: nothing predicted or re-scored
    stamp = (run_dir / "scores.json").stat().st_mtime_ns
    again = run(RunOptions(system="oracle", benchmark=tiny_dir, out=run_dir.parent.parent.parent,
                           n_resamples=300))
    assert again.resumed and again.run_dir == run_dir and again.predicted_now == 0
    assert (run_dir / "scores.json").stat().st_mtime_ns == stamp


def test_cli_score_run_dir(pair: tuple[Path, Path]) -> None:
    proc = subprocess.run([sys.executable, "-m", "muie_bench.cli", "score", str(pair[1]),
                           "--resamples", "300"], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "ti-ner" in proc.stdout


def test_compare_oracle_and_empty(pair: tuple[Path, Path]) -> None:
    res = compare_runs(RunDir(pair[0]), RunDir(pair[1]), n_resamples=300)
    assert {r.set for r in res.rows} == {"ti-ner", "ta-ner", "a-re", "ia-re", "i-ee", "v-ee",
                                         "tv-ee"}
    paper = [r for r in res.rows if r.metric != "grounded_f1"]
    assert all(r.diff == pytest.approx(-100.0) for r in paper)
    assert all(r.a == 100.0 and r.b == 0.0 and r.paired == 2 for r in paper)


def test_compare_refuses_runs_on_different_benchmarks(
    pair: tuple[Path, Path], tmp_path: Path, tiny_dir: Path
) -> None:
    other = replicate_benchmark(tiny_dir, tmp_path / "b", 14, name="tiny-copy")
    res = run(RunOptions(system="oracle", benchmark=other, out=tmp_path / "runs", n_resamples=50))
    with pytest.raises(UserError, match="not comparable"):
        compare_runs(RunDir(pair[0]), res.run)


def test_cli_run_all_leaderboard_compare(tmp_path: Path, tiny_dir: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "muie_bench.cli", *args],
                              capture_output=True, text=True, env=dict(os.environ), timeout=300)

    runs, lb = tmp_path / "runs", tmp_path / "lb"
    proc = cli("run-all", "oracle", "empty", "-b", str(tiny_dir), "--out", str(runs),
               "--leaderboard-out", str(lb))
    assert proc.returncode == 0, proc.stderr
    assert "Measured on tiny 1" in proc.stdout and "reported (MUIE-Bench, paper)" in proc.stdout
    assert (lb / "leaderboard.md").is_file() and (lb / "leaderboard.html").is_file()
    a, b = (next((runs / "tiny" / s).iterdir()) for s in ("oracle", "empty"))
    proc = cli("compare", str(a), str(b), "--resamples", "200")
    assert proc.returncode == 0, proc.stderr
    assert "-100.0" in proc.stdout and "ti-ner" in proc.stdout
    proc = cli("leaderboard", str(runs), "--out", str(tmp_path / "lb2"), "--no-plots", "-q")
    assert proc.returncode == 0 and not list((tmp_path / "lb2").glob("*.png"))
    proc = cli("compare", str(a), str(tmp_path))
    assert proc.returncode == 2 and "not a run directory" in proc.stderr
