"""Shards (``run --shard i/n``) and ``merge``: same scores as one run; overlaps and gaps refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import runner_support  # noqa: F401  (registers the test-only kinds)
from conftest import TESTS

from muie_bench.errors import UserError
from muie_bench.run.files import RunDir
from muie_bench.run.merge import merge_runs
from muie_bench.run.runner import RunOptions, run, score_run
from muie_bench.run.spec import SelectionSpec, Shard, shard_index


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "muie_bench.cli", *args], capture_output=True,
                          text=True, env=_env(), timeout=300)


def _one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode not in (0, 1), (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def _shard_runs(bench: Path, out: Path, n: int, system: str = "oracle", **kw: object) -> list[Path]:
    dirs = []
    for i in range(n):
        res = run(RunOptions(system=system, benchmark=bench, out=out, shard=Shard(i, n),
                             n_resamples=20, **kw))  # type: ignore[arg-type]
        dirs.append(res.run_dir)
    return dirs


def test_shard_index_is_sha256_of_the_id() -> None:
    # fixed values: the assignment must never change between machines or versions
    assert [shard_index(f"ti-ner-{k:04d}", 3) for k in range(6)] == [
        int(__import__("hashlib").sha256(f"ti-ner-{k:04d}".encode()).hexdigest()[:16], 16) % 3
        for k in range(6)]
    assert shard_index("x", 1) == 0
    assert Shard.parse("2/3") == Shard(2, 3) and str(Shard(2, 3)) == "2/3"
    for bad in ("3/3", "-1/3", "1", "a/b", "0/0", "1/"):
        with pytest.raises(UserError, match="--shard: expected i/n"):
            Shard.parse(bad)


def test_unsharded_resume_key_is_unchanged() -> None:
    sel = SelectionSpec.of(["b", "a"], None, None, 2)
    assert sel.as_dict() == {"sets": ["a", "b"], "modalities": None, "tasks": None, "limit": 2}
    sharded = SelectionSpec.of(["a", "b"], None, None, 2, Shard(0, 3))
    assert sharded.as_dict()["shard"] == "0/3" and sharded.whole() == sel


def test_three_shards_merged_score_like_one_run(tmp_path: Path, mini_dir: Path) -> None:
    out = tmp_path / "runs"
    shards = _shard_runs(mini_dir, out, 3, limit=3)
    recs = [RunDir(d).record() for d in shards]
    assert [r.selection.shard for r in recs] == ["0/3", "1/3", "2/3"]
    assert len({r.resume_key for r in recs}) == 3
    sizes = [r.counts.total for r in recs]
    one = run(RunOptions(system="oracle", benchmark=mini_dir, out=tmp_path / "one", limit=3,
                         n_resamples=20))
    assert sum(sizes) == one.record.counts.total and all(sizes)
    # a shard run re-scores over its own shard (run.json's selection.shard is applied)
    score_run(RunDir(shards[2]), n_resamples=20)
    rescored = RunDir(shards[2]).record()
    assert rescored.counts.total == sizes[2] and rescored.counts.missing == 0
    # each shard is a deterministic 1/n: re-running a shard resumes it, predicting nothing
    again = run(RunOptions(system="oracle", benchmark=mini_dir, out=out, shard=Shard(1, 3),
                           limit=3, n_resamples=20))
    assert again.resumed and again.run_dir == shards[1] and again.predicted_now == 0

    proc = _cli("merge", *map(str, shards), "--resamples", "20")
    assert proc.returncode == 0, proc.stderr
    merged = [d for d in RunDir(shards[0]).path.parent.iterdir()
              if d.is_dir() and d not in shards and not d.name.startswith(".")]
    assert len(merged) == 1
    m = RunDir(merged[0])
    rec = m.record()
    assert rec.status == "complete" and rec.counts.missing == 0
    assert rec.selection.shard is None and rec.resume_key == one.record.resume_key
    assert [s.shard for s in rec.merged_from] == ["0/3", "1/3", "2/3"]
    assert m.scores_path.read_bytes() == one.run.scores_path.read_bytes()
    assert m.instance_scores_path.read_bytes() == one.run.instance_scores_path.read_bytes()
    assert sorted(p.id for p in m.predictions()) == sorted(p.id for p in one.run.predictions())
    # it re-scores, and the unsharded command resumes it instead of predicting again
    score_run(m, n_resamples=20)
    assert m.scores_path.read_bytes() == one.run.scores_path.read_bytes()
    resumed = run(RunOptions(system="oracle", benchmark=mini_dir, out=out, limit=3, n_resamples=20))
    assert resumed.run_dir == m.path and resumed.predicted_now == 0
    # compare and leaderboard take it like any run
    proc = _cli("compare", str(m.path), str(one.run_dir), "--resamples", "20")
    assert proc.returncode == 0, proc.stderr
    proc = _cli("leaderboard", str(out), "--out", str(tmp_path / "lb"), "--no-plots", "-q")
    assert proc.returncode == 0, proc.stderr
    board = (tmp_path / "lb").rglob("*.csv")
    rows = [line for f in board for line in f.read_text().splitlines() if m.name in line]
    assert rows, "the merged run is not on the leaderboard"


def test_missing_shard_is_refused_then_allowed(tmp_path: Path, tiny_dir: Path) -> None:
    out = tmp_path / "runs"
    shards = _shard_runs(tiny_dir, out, 3)
    err = _one_line_error(_cli("merge", str(shards[0]), str(shards[2])),
                          "gap", "shard(s) 1/3 not given", "--allow-missing")
    assert "Traceback" not in err
    before = {d.name for d in shards[0].parent.iterdir()}
    assert before == {d.name for d in shards}  # nothing was created
    proc = _cli("merge", str(shards[0]), str(shards[2]), "--allow-missing", "--resamples", "20",
                "--out", str(tmp_path / "merged"))
    assert proc.returncode == 0, proc.stderr
    assert "gaps: shard(s) 1/3 missing" in proc.stderr
    (mdir,) = [p.parent for p in (tmp_path / "merged").rglob("run.json")]
    rec = RunDir(mdir).record()
    n1 = RunDir(shards[1]).record().counts.total
    assert rec.status == "interrupted" and rec.counts.missing == n1
    # the unsharded command resumes the merged run and predicts just the gap
    res = run(RunOptions(system="oracle", benchmark=tiny_dir, out=tmp_path / "merged",
                         n_resamples=20))
    assert res.run_dir == mdir and res.predicted_now == n1 and res.record.status == "complete"


def test_overlapping_shards_are_refused(tmp_path: Path, tiny_dir: Path) -> None:
    out = tmp_path / "runs"
    shards = _shard_runs(tiny_dir, out, 3)
    dup = run(RunOptions(system="oracle", benchmark=tiny_dir, out=out, shard=Shard(1, 3),
                         fresh=True, score=False)).run_dir
    _one_line_error(_cli("merge", *map(str, shards), str(dup)), "overlap", "both shard 1/3")
    _one_line_error(_cli("merge", str(shards[0]), str(shards[0])), "given twice")


def test_shards_of_different_runs_are_refused(tmp_path: Path, tiny_dir: Path) -> None:
    a = _shard_runs(tiny_dir, tmp_path / "a", 2)
    b = _shard_runs(tiny_dir, tmp_path / "b", 2, system="test-flaky")
    _one_line_error(_cli("merge", str(a[0]), str(b[1])), "system.name")
    c = _shard_runs(tiny_dir, tmp_path / "c", 3)
    _one_line_error(_cli("merge", str(a[0]), str(c[1])), "selection.shard")
    d = _shard_runs(tiny_dir, tmp_path / "d", 2, sets=["ti-ner", "a-re"])
    _one_line_error(_cli("merge", str(a[0]), str(d[1])), "selection")
    whole = run(RunOptions(system="oracle", benchmark=tiny_dir, out=tmp_path / "w",
                           score=False)).run_dir
    _one_line_error(_cli("merge", str(whole)), "not a shard run")
    _one_line_error(_cli("run", "-s", "oracle", "-b", str(tiny_dir), "--shard", "3/3",
                         "--out", str(tmp_path / "x")), "--shard")


def test_a_shard_in_use_is_refused(tmp_path: Path, tiny_dir: Path) -> None:
    shards = _shard_runs(tiny_dir, tmp_path / "runs", 2)
    with RunDir(shards[1]).lock():
        _one_line_error(_cli("merge", *map(str, shards)), "in use")


def test_merge_keeps_prediction_lines(tmp_path: Path, tiny_dir: Path) -> None:
    shards = _shard_runs(tiny_dir, tmp_path / "runs", 2, system="test-flaky",
                         overrides={"fail_suffixes": ["-1"]})
    res = merge_runs(shards, n_resamples=20)
    lines = {json.loads(x)["id"]: x for d in shards
             for x in (d / "predictions.jsonl").read_text().splitlines()}
    merged = res.run.predictions_path.read_text().splitlines()
    assert sorted(merged) == sorted(lines.values())
    assert res.record.counts.failed == sum(RunDir(d).record().counts.failed for d in shards) > 0
