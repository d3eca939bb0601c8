"""Runner: resume, error isolation, workers, timeouts, provenance without secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from muie_bench.errors import UserError
from muie_bench.replicate import replicate_benchmark
from muie_bench.run.files import PREDICTIONS, RunDir
from muie_bench.run.runner import RunOptions, run
from muie_bench.schema import RunCounts

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
import runner_support  # noqa: E402,F401  (registers the test-only kinds)


def _ids(run_dir: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (run_dir / PREDICTIONS).read_text().splitlines()]


def _opts(tmp_path: Path, bench: Path, system: str = "oracle", **kw: object) -> RunOptions:
    return RunOptions(system=system, benchmark=bench, out=tmp_path / "runs", score=False,
                      **kw)  # type: ignore[arg-type]


def test_run_then_resume_skips_done(tmp_path: Path, tiny_dir: Path) -> None:
    first = run(_opts(tmp_path, tiny_dir))
    assert first.predicted_now == 14 and not first.resumed
    assert first.record.status == "complete"
    assert first.record.counts == RunCounts(total=14, done=14, failed=0, missing=0)
    again = run(_opts(tmp_path, tiny_dir))
    assert again.resumed and again.run_dir == first.run_dir
    assert again.predicted_now == 0 and again.already_done == 14
    ids = _ids(first.run_dir)
    assert len(set(ids)) == 14 == len(ids)
    fresh = run(_opts(tmp_path, tiny_dir, fresh=True))
    assert fresh.run_dir != first.run_dir and fresh.predicted_now == 14


def test_other_settings_or_selection_start_another_run(tmp_path: Path, tiny_dir: Path) -> None:
    a = run(_opts(tmp_path, tiny_dir, system="test-flaky"))
    b = run(_opts(tmp_path, tiny_dir, system="test-flaky", overrides={"sleep": 0.001}))
    c = run(_opts(tmp_path, tiny_dir, system="test-flaky", sets=["ti-ner"]))
    assert len({a.run_dir, b.run_dir, c.run_dir}) == 3
    assert a.record.system.fingerprint != b.record.system.fingerprint
    assert c.record.counts.total == 2 and c.record.selection.sets == ["ti-ner"]


def test_torn_last_line_is_cut_and_redone(tmp_path: Path, tiny_dir: Path) -> None:
    res = run(_opts(tmp_path, tiny_dir, sets=["ti-ner", "a-re"]))
    path = res.run_dir / PREDICTIONS
    lines = path.read_text().splitlines(keepends=True)
    last_id = json.loads(lines[-1])["id"]
    # simulate a crash in the middle of writing the last line
    path.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    scan = RunDir(res.run_dir).scan(repair=False)
    assert last_id not in scan.lines and scan.repaired_bytes > 0
    again = run(_opts(tmp_path, tiny_dir, sets=["ti-ner", "a-re"]))
    assert again.predicted_now == 1
    ids = _ids(res.run_dir)
    assert sorted(ids) == sorted({*ids}) and len(ids) == 4 and ids[-1] == last_id


def test_damaged_middle_line_is_a_user_error(tmp_path: Path, tiny_dir: Path) -> None:
    res = run(_opts(tmp_path, tiny_dir, sets=["ti-ner"]))
    path = res.run_dir / PREDICTIONS
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("{broken\n" + "".join(lines))
    with pytest.raises(UserError, match=r"predictions.jsonl:1"):
        run(_opts(tmp_path, tiny_dir, sets=["ti-ner"]))


def test_failing_instances_are_recorded_and_run_completes(tmp_path: Path, tiny_dir: Path) -> None:
    res = run(_opts(tmp_path, tiny_dir, system="test-flaky",
                    overrides={"fail_suffixes": ["-1"]}, workers=3))
    rec = res.record
    assert rec.status == "complete"
    assert rec.counts == RunCounts(total=14, done=7, failed=7, missing=0)
    failed = {e.id for e in rec.errors}
    assert failed == {f"{s}-1" for s in ("ti-ner", "ta-ner", "a-re", "ia-re", "i-ee", "v-ee",
                                         "tv-ee")}
    lines = [json.loads(x) for x in (res.run_dir / PREDICTIONS).read_text().splitlines()]
    by_id = {x["id"]: x for x in lines}
    assert len(by_id) == 14
    assert by_id["ti-ner-1"]["error"] == "RuntimeError: flaky failure on ti-ner-1"
    assert by_id["ti-ner-0"]["error"] is None and by_id["ti-ner-0"]["output"]["entities"]
    # stage timings and counters of the successful predictions are summed into run.json
    assert rec.timings["stage.perceive"] == pytest.approx(7 * 0.25)
    assert rec.timings["stage.extract"] == pytest.approx(7 * 0.5)
    assert rec.trace_totals == {"retries": 7.0}
    # a resume does not retry failures unless asked; --retry-failed appends, last line wins
    assert run(_opts(tmp_path, tiny_dir, system="test-flaky",
                     overrides={"fail_suffixes": ["-1"]})).predicted_now == 0
    retry = run(_opts(tmp_path, tiny_dir, system="test-flaky",
                      overrides={"fail_suffixes": ["-1"]}, retry_failed=True))
    assert retry.predicted_now == 7 and retry.record.counts.failed == 7


def test_cli_exit_status_counts_failures(tmp_path: Path, tiny_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    proc = subprocess.run(
        [sys.executable, "-m", "muie_bench.cli", "run", "-s", "test-flaky", "--plugin",
         "runner_support", "-o", 'fail_suffixes=["-0"]', "-b", str(tiny_dir), "--sets",
         "ti-ner,a-re,v-ee", "--out", str(tmp_path / "runs"), "--no-score", "--no-progress"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 160 + 3, proc.stderr
    assert "3 instance(s) failed" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "muie_bench.cli", "run", "-s", "oracle", "-b", str(tiny_dir),
         "--sets", "ti-ner", "--out", str(tmp_path / "runs"), "--no-score"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


def test_process_workers_set_up_once_each(tmp_path: Path, tiny_dir: Path) -> None:
    bench = replicate_benchmark(tiny_dir, tmp_path / "b60", 60)
    res = run(_opts(tmp_path, bench, system="test-flaky-proc", workers=2,
                    overrides={"sleep": 0.01}))
    lines = [json.loads(x) for x in (res.run_dir / PREDICTIONS).read_text().splitlines()]
    assert len({x["id"] for x in lines}) == 60 == len(lines)
    pids = {x["trace"]["worker"]["pid"] for x in lines}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert all(x["trace"]["worker"]["setup_pid"] == x["trace"]["worker"]["pid"] for x in lines)


@pytest.mark.parametrize("kind,workers", [("test-flaky", 1), ("test-flaky-proc", 2)])
def test_setup_failure_stops_the_run(tmp_path: Path, tiny_dir: Path, kind: str,
                                     workers: int) -> None:
    with pytest.raises(UserError, match=r"setup failed.*model weights not found"):
        run(_opts(tmp_path, tiny_dir, system=kind, workers=workers, sets=["ti-ner"],
                  overrides={"fail_setup": True}))
    rec = json.loads(next((tmp_path / "runs").rglob("run.json")).read_text())
    assert rec["status"] == "failed" and "model weights not found" in rec["errors"][-1]["error"]


def test_timeout_fails_the_instance_and_moves_on(tmp_path: Path, tiny_dir: Path) -> None:
    res = run(_opts(tmp_path, tiny_dir, system="test-hang", sets=["ti-ner"], timeout=0.5,
                    overrides={"hang": 20}))
    assert res.record.counts == RunCounts(total=2, done=1, failed=1, missing=0)
    assert res.record.errors[0].id == "ti-ner-1"
    assert res.record.errors[0].error.startswith("PredictTimeout: no prediction after 0.5 s")


def test_run_json_provenance_has_no_secret(tmp_path: Path, tiny_dir: Path) -> None:
    res = run(_opts(tmp_path, tiny_dir, system="test-flaky", sets=["ti-ner"],
                    overrides={"api_key": "sk-TOPSECRET"},
                    argv=["muie-bench", "run", "-o", "api_key=sk-TOPSECRET", "--token",
                          "sk-TOPSECRET"]))
    text = (res.run_dir / "run.json").read_text()
    assert "TOPSECRET" not in text
    rec = json.loads(text)
    assert rec["argv"] == ["muie-bench", "run", "-o", "api_key=***", "--token", "***"]
    assert "api_key" not in rec["system"]["settings"]
    assert rec["system"]["settings"]["fail_suffixes"] == []
    assert rec["benchmark"]["sha256"] == res.record.benchmark.sha256
    assert len(rec["benchmark"]["sha256"]) == 64
    assert rec["host"]["cpus"] >= 1 and "python" in rec["packages"]
    assert len(rec["git"].get("commit", "x" * 40)) == 40


def test_user_errors(tmp_path: Path, tiny_dir: Path) -> None:
    with pytest.raises(UserError, match="unknown system"):
        run(_opts(tmp_path, tiny_dir, system="no-such-system"))
    with pytest.raises(UserError, match="unknown set"):
        run(_opts(tmp_path, tiny_dir, sets=["zz-ner"]))
    with pytest.raises(UserError, match="--workers"):
        run(_opts(tmp_path, tiny_dir, workers=0))
    with pytest.raises(UserError, match="--plugin"):
        run(_opts(tmp_path, tiny_dir, plugins=["no_such_module_xyz"]))


def test_a_run_in_use_is_refused(tmp_path: Path, tiny_dir: Path) -> None:
    from muie_bench.run.files import RunLock

    res = run(_opts(tmp_path, tiny_dir, sets=["ti-ner"]))
    with RunLock(res.run_dir), pytest.raises(UserError, match="in use by another muie-bench"):
        run(_opts(tmp_path, tiny_dir, sets=["ti-ner"], retry_failed=True))
    # released: the same command works again
    assert run(_opts(tmp_path, tiny_dir, sets=["ti-ner"], retry_failed=True)).resumed


def test_prediction_writer_fsyncs_in_the_background_and_on_close(tmp_path: Path) -> None:
    import time

    from muie_bench.run.files import PredictionWriter

    w = PredictionWriter(tmp_path / "p.jsonl", fsync_interval=0.05)
    w.write_line('{"id": "a"}')
    assert (tmp_path / "p.jsonl").read_text() == '{"id": "a"}\n'  # visible before any fsync
    deadline = time.monotonic() + 20
    while w.fsyncs == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert w.fsyncs == 1  # the background thread synced the dirty file once
    w.write_line('{"id": "b"}\n')
    w.close()
    assert w.fsyncs >= 2  # close syncs what is still dirty
    assert (tmp_path / "p.jsonl").read_text().splitlines() == ['{"id": "a"}', '{"id": "b"}']
