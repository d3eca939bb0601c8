"""A run SIGKILLed at random points and resumed equals an uninterrupted run."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from muie_bench.replicate import replicate_benchmark
from muie_bench.run.files import PREDICTIONS

TESTS = Path(__file__).resolve().parent


def _cmd(bench: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "muie_bench.cli", "run", "-s", "test-flaky", "--plugin",
            "runner_support", "-o", "sleep=0.01", "-o", 'fail_suffixes=["-1~2"]', "-b",
            str(bench), "--out", str(out), "--resamples", "200", "--no-progress"]


def _lines(run_dir: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in (run_dir / PREDICTIONS).read_text().splitlines()]


def _comparable(line: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in line.items() if k not in ("seconds", "trace")}


def test_sigkill_at_random_points_then_resume(tmp_path: Path, tiny_dir: Path) -> None:
    pytest.importorskip("muie_bench.metrics.evaluate", reason="scoring needs the metrics package")
    bench = replicate_benchmark(tiny_dir, tmp_path / "bench", 140)
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    rng = random.Random(20240603)
    killed_out = tmp_path / "killed"
    size = 0
    kills = 0
    for _ in range(4):
        proc = subprocess.Popen(_cmd(bench, killed_out), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        # wait until this process has written something new, then kill at a random moment
        deadline = time.monotonic() + 60
        files = list(killed_out.rglob(PREDICTIONS))
        while time.monotonic() < deadline and proc.poll() is None:
            files = list(killed_out.rglob(PREDICTIONS))
            if files and files[0].stat().st_size > size:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.25))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        assert files, proc.stderr.read().decode() if proc.stderr else ""
        size = files[0].stat().st_size
        proc.stderr.close()  # type: ignore[union-attr]
    assert kills >= 3, "the runs finished before they could be killed"
    run_dirs = [p.parent for p in killed_out.rglob("run.json")]
    assert len(run_dirs) == 1, "a resume must reuse the run directory"
    status = json.loads((run_dirs[0] / "run.json").read_text())["status"]
    assert status == "running"  # killed: never got to write its end state
    final = subprocess.run(_cmd(bench, killed_out), env=env, capture_output=True, text=True,
                           timeout=300)
    assert final.returncode == 160 + 7, final.stderr  # the 7 "-1~2" instances fail

    clean_out = tmp_path / "clean"
    clean = subprocess.run(_cmd(bench, clean_out), env=env, capture_output=True, text=True,
                           timeout=300)
    assert clean.returncode == 160 + 7, clean.stderr
    clean_dir = next(p.parent for p in clean_out.rglob("run.json"))

    killed = _lines(run_dirs[0])
    ids = [x["id"] for x in killed]
    assert len(ids) == len(set(ids)) == 140, "duplicate or missing ids after resume"
    ref = {x["id"]: _comparable(x) for x in _lines(clean_dir)}
    assert {x["id"]: _comparable(x) for x in killed} == ref
    assert (run_dirs[0] / "scores.json").read_text() == (clean_dir / "scores.json").read_text()
    assert (run_dirs[0] / "instance_scores.jsonl").read_text() == (
        clean_dir / "instance_scores.jsonl").read_text()
    rec = json.loads((run_dirs[0] / "run.json").read_text())
    assert rec["status"] == "complete"
    assert rec["counts"] == {"total": 140, "done": 133, "failed": 7, "missing": 0}
