"""muie_bench.analysis: the frames' columns and dtypes, and that they hold the run files' numbers."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_cli

from muie_bench.analysis import (
    PER_TYPE_COLUMNS,
    PREDICTION_COLUMNS,
    SCORE_COLUMNS,
    export_frames,
    instances_df,
    per_type_df,
    predictions_df,
    runs_df,
    scores_df,
)
from muie_bench.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "data" / "tiny"


def _cli(*args: str, cwd: Path) -> None:
    proc = run_cli(*args, cwd=cwd)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, args, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """oracle, empty and a flaky oracle (instances ending in -1 fail) on tiny, plus the leaderboard."""
    d = tmp_path_factory.mktemp("analysis")
    out = d / "runs"
    common = ["-b", str(TINY), "--out", str(out), "--resamples", "50"]
    _cli("run", "-s", "oracle", *common, cwd=d)
    _cli("run", "-s", "empty", *common, cwd=d)
    try:
        _cli("run", "-s", "test-flaky", "--plugin", "runner_support", "-o", 'fail_suffixes=["-1"]',
             *common, cwd=ROOT / "tests")
    except subprocess.CalledProcessError as e:
        assert e.returncode >= 160, e.stderr  # failed instances: the run still completes
    _cli("leaderboard", str(out), "--out", str(d / "lb"), "--no-plots", "--quiet", cwd=d)
    return out


def test_runs_df_columns_and_dtypes(runs: Path) -> None:
    df = runs_df(runs)
    assert sorted(df["system"]) == ["empty", "oracle", "test-flaky"]
    for c in ("run_id", "kind", "fingerprint", "benchmark", "benchmark_sha256", "status", "started",
              "count.total", "count.failed", "timing.score", "git.commit", "pkg.pydantic", "settings"):
        assert c in df.columns, c
    assert str(df["started"].dtype).startswith("datetime64")
    assert df["count.total"].dtype == "Int64"
    flaky = df[df["system"] == "test-flaky"].iloc[0]
    assert flaky["count.failed"] == 7 and flaky["count.done"] == 7
    assert json.loads(flaky["settings"])["fail_suffixes"] == ["-1"]
    assert df.loc[df["system"] == "test-flaky", "trace.retries"].iloc[0] == 7.0
    # a single run directory gives one row
    one = runs_df(Path(flaky["run_dir"]))
    assert len(one) == 1 and one["run_id"].iloc[0] == flaky["run_id"]


def test_scores_df_equals_scores_json(runs: Path) -> None:
    df = scores_df(runs)
    assert list(df.columns) == SCORE_COLUMNS
    assert df["value"].dtype == "float64" and df["tp"].dtype == "Int64"
    n = 0
    for p in runs.rglob("scores.json"):
        doc = json.loads(p.read_text())
        run_id = json.loads((p.parent / "run.json").read_text())["run_id"]
        sub = df[df["run_id"] == run_id].set_index(["set", "metric"])
        for sid, ss in doc["sets"].items():
            for m, mv in ss["metrics"].items():
                row = sub.loc[(sid, m)]
                assert row["value"] == mv["value"]
                assert (pd.isna(row["ci_low"]) and mv["ci_low"] is None) or row["ci_low"] == mv["ci_low"]
                if mv.get("counts"):
                    assert row["tp"] == mv["counts"]["tp"] and row["gold"] == mv["counts"]["gold"]
                n += 1
        for m, mv in doc["macro"].items():
            assert sub.loc[("macro", m)]["value"] == mv["value"]
    assert n == len(df[df["set"] != "macro"])


def test_scores_df_equals_the_leaderboard_csv(runs: Path) -> None:
    df = scores_df(runs)
    with open(runs.parent / "lb" / "leaderboard.csv", newline="") as f:
        cells = [r for r in csv.DictReader(f) if r["source"] == "measured" and r["set"]]
    assert cells
    for c in cells:
        row = df[(df["run_id"] == c["run_id"]) & (df["set"] == c["set"]) & (df["metric"] == c["metric"])]
        assert len(row) == 1, c
        assert f"{row['value'].iloc[0]:.4f}" == c["value"]
        if c["ci_low"]:
            assert f"{row['ci_low'].iloc[0]:.4f}" == c["ci_low"]
            assert f"{row['ci_high'].iloc[0]:.4f}" == c["ci_high"]


def test_per_type_df(runs: Path) -> None:
    df = per_type_df(runs)
    assert list(df.columns) == PER_TYPE_COLUMNS
    oracle = df[df["system"] == "oracle"]
    assert set(oracle["value"]) == {100.0}
    assert {"PER", "ORG", "works_for"} <= set(oracle["label"])
    assert any("/" in label for label in oracle.loc[oracle["metric"] == "ea", "label"])


def test_instances_df_joins_scores_predictions_and_meta(runs: Path) -> None:
    df = instances_df(runs)
    assert len(df) == 3 * 14
    for c, dtype in (("f1.tp", "Int64"), ("i_seg", "float64"), ("missing", "bool"), ("seconds", "float64")):
        assert str(df[c].dtype) == dtype, c
    assert "meta.template" in df.columns
    flaky = df[df["system"] == "test-flaky"]
    assert flaky["failed"].sum() == 7
    assert flaky.loc[flaky["failed"], "error"].str.contains("flaky failure").all()
    oracle = df[df["system"] == "oracle"].set_index("id")
    inst_scores = [json.loads(x) for x in next(runs.glob("tiny/oracle/*/instance_scores.jsonl"))
                   .read_text().splitlines()]
    for s in inst_scores:
        for m, c in s["counts"].items():
            assert oracle.loc[s["id"], f"{m}.gold"] == c["gold"]
        for m, v in s["grounding"].items():
            assert oracle.loc[s["id"], m] == v
    assert set(oracle["modalities"]) >= {"T+I", "A", "V", "T+V"}


def test_predictions_df_marks_matches(runs: Path, tmp_path: Path) -> None:
    oracle_dir = next(runs.glob("tiny/oracle/*"))
    df = predictions_df(oracle_dir)
    assert list(df.columns) == PREDICTION_COLUMNS
    assert set(df["kind"]) == {"entity", "relation", "event", "argument"}
    assert df["matched"].all()
    # a copy of the run with one entity type changed: exactly that entity is unmatched
    bad = tmp_path / "bad-run"
    shutil.copytree(oracle_dir, bad)
    lines = (bad / "predictions.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["output"]["entities"][0]["type"] = "MISC" if first["output"]["entities"][0]["type"] != "MISC" else "PER"
    lines[0] = json.dumps(first)
    (bad / "predictions.jsonl").write_text("\n".join(lines) + "\n")
    df2 = predictions_df(bad)
    unmatched = df2[~df2["matched"].astype(bool)]
    assert len(unmatched) == 1 and unmatched["id"].iloc[0] == first["id"]


def test_export_csv_and_parquet(runs: Path, tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        written = export_frames(runs, tmp_path / fmt, fmt)
        assert sorted(p.name for p in written) == sorted(
            f"{n}.{fmt}" for n in ("runs", "scores", "per_type", "instances"))
    back = pd.read_parquet(tmp_path / "parquet" / "scores.parquet")
    pd.testing.assert_frame_equal(back, scores_df(runs), check_dtype=False)
    assert len(pd.read_csv(tmp_path / "csv" / "instances.csv")) == 42


def test_bad_paths_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such runs folder"):
        runs_df(tmp_path / "nowhere")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(UserError, match="not a folder"):
        scores_df(tmp_path / "f.txt")
    with pytest.raises(UserError, match="not a run directory"):
        predictions_df(tmp_path)
    assert runs_df(tmp_path).empty and list(scores_df(tmp_path).columns) == SCORE_COLUMNS
