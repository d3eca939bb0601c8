"""``--executor ray``: a local Ray (2 CPUs, no dashboard) shared by the module's tests.

Predictions and scores equal a serial run's; a killed actor is replaced and its instance
recorded as failed (then redone by --retry-failed); a driver killed with SIGKILL resumes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import runner_support  # noqa: F401  (registers the test-only kinds)
from conftest import TESTS

from muie_bench.errors import UserError
from muie_bench.run.files import PREDICTIONS, RunDir
from muie_bench.run.runner import RunOptions, run

ray = pytest.importorskip("ray")


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A local Ray for the module: 2 CPUs, no dashboard; its workers import the test kinds."""
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = _env()["PYTHONPATH"]  # inherited by the Ray workers
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


def _lines(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (run_dir / PREDICTIONS).read_text().splitlines()]


def _comparable(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Predictions by id without what depends on the clock (seconds, stage timings)."""
    out = {}
    for rec in _lines(run_dir):
        rec.pop("seconds")
        if isinstance(rec.get("trace"), dict):
            rec["trace"].pop("timings", None)
        out[rec["id"]] = rec
    return out


@pytest.mark.parametrize(("system", "sets", "limit"), [
    ("oracle", None, 2),
    pytest.param("pipeline-offline", ["i-ner", "a-ner", "ti-re", "tv-ee"], 2, marks=pytest.mark.slow),
])
def test_ray_equals_serial(tmp_path: Path, mini_dir: Path, ray_address: str, system: str,
                           sets: list[str] | None, limit: int) -> None:
    kw: dict[str, Any] = {"system": system, "benchmark": mini_dir, "sets": sets, "limit": limit,
                          "n_resamples": 50}
    serial = run(RunOptions(out=tmp_path / "serial", **kw))
    par = run(RunOptions(out=tmp_path / "ray", executor="ray", workers=2,
                         overrides={"ray.num_cpus": 1}, **kw))
    assert par.record.status == "complete" and par.record.counts == serial.record.counts
    assert par.record.system.fingerprint == serial.record.system.fingerprint
    assert par.record.resume_key == serial.record.resume_key  # resources are not the run's identity
    ids = [r["id"] for r in _lines(par.run_dir)]
    assert len(ids) == len(set(ids)) == serial.record.counts.total
    assert _comparable(par.run_dir) == _comparable(serial.run_dir)
    assert par.run.scores_path.read_bytes() == serial.run.scores_path.read_bytes()


def test_killed_actor_is_replaced_and_its_instance_failed(tmp_path: Path, tiny_dir: Path,
                                                          ray_address: str) -> None:
    from muie_bench.benchmark import load_benchmark

    ids = [i.id for i in load_benchmark(tiny_dir).instances]
    victim = ids[1]
    marker = tmp_path / "died"
    opts = RunOptions(system="test-die", benchmark=tiny_dir, out=tmp_path / "runs", executor="ray",
                      workers=2, score=False,
                      overrides={"die_ids": [victim], "once_marker": str(marker), "sleep": 0.05})
    res = run(opts)
    assert marker.is_file()
    assert res.record.counts.total == len(ids) and res.record.counts.failed == 1
    assert res.record.counts.done == len(ids) - 1 and res.record.counts.missing == 0
    lines = _lines(res.run_dir)
    assert sorted(r["id"] for r in lines) == sorted(ids)  # the queued instances were re-submitted
    (bad,) = [r for r in lines if r["error"]]
    assert bad["id"] == victim and "Ray actor died" in bad["error"]
    pids = {r["trace"]["pid"] for r in lines if not r["error"]}
    assert len(pids - {int(marker.read_text())}) == 2  # the other actor and the replacement
    # --retry-failed predicts it again (the marker says: do not die this time)
    opts.retry_failed = True
    again = run(opts)
    assert again.run_dir == res.run_dir and again.predicted_now == 1
    assert again.record.counts.failed == 0 and again.record.counts.done == len(ids)


def test_setup_failing_in_an_actor_is_one_line(tmp_path: Path, tiny_dir: Path,
                                               ray_address: str) -> None:
    with pytest.raises(UserError, match=r"^system setup failed in a Ray actor: OSError: model "
                       r"weights not found at /nowhere$"):
        run(RunOptions(system="test-flaky", benchmark=tiny_dir, out=tmp_path / "runs",
                       executor="ray", workers=2, overrides={"fail_setup": True}))
    (run_dir,) = [p.parent for p in (tmp_path / "runs").rglob("run.json")]
    assert RunDir(run_dir).record().status == "failed"


def _cmd(bench: Path, out: Path, address: str) -> list[str]:
    return [sys.executable, "-m", "muie_bench.cli", "run", "-s", "test-flaky", "-b", str(bench),
            "-o", "sleep=0.25", "--plugin", "runner_support", "--executor", "ray", "-j", "2",
            "--ray-address", address, "--out", str(out), "--no-score", "--no-progress"]


@pytest.mark.slow
def test_driver_sigkill_resumes(tmp_path: Path, tiny_dir: Path, ray_address: str) -> None:
    out = tmp_path / "runs"
    proc = subprocess.Popen(_cmd(tiny_dir, out, ray_address), env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    preds: list[Path] = []
    while time.monotonic() < deadline and proc.poll() is None:
        preds = list(out.rglob(PREDICTIONS))
        if preds and len(preds[0].read_bytes().splitlines()) >= 4:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    if proc.stderr:
        proc.stderr.close()
    (run_dir,) = [p.parent for p in preds]
    before = len(_lines(run_dir))
    assert 4 <= before < 14
    assert RunDir(run_dir).record().status == "running"  # what a SIGKILL leaves
    final = subprocess.run(_cmd(tiny_dir, out, ray_address), env=_env(), capture_output=True,
                           text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    assert f"predicted now {14 - before}, already done {before}" in final.stdout
    ids = [r["id"] for r in _lines(run_dir)]
    assert len(ids) == len(set(ids)) == 14  # no duplicate, no missing id
    assert RunDir(run_dir).record().status == "complete"


def test_ray_options_are_checked(tmp_path: Path, tiny_dir: Path) -> None:
    base: dict[str, Any] = {"system": "oracle", "benchmark": tiny_dir, "out": tmp_path / "r"}
    with pytest.raises(UserError, match=r"-o ray.num_gpus: applies to --executor ray only"):
        run(RunOptions(overrides={"ray.num_gpus": 1}, **base))
    with pytest.raises(UserError, match=r"--ray-address: applies to --executor ray only"):
        run(RunOptions(ray_address="auto", **base))
    with pytest.raises(UserError, match=r"-o ray.num_gpu: Extra inputs are not permitted"):
        run(RunOptions(executor="ray", overrides={"ray.num_gpu": 1}, **base))
    with pytest.raises(UserError, match=r"--executor: must be local or ray"):
        run(RunOptions(executor="dask", **base))
    assert not (tmp_path / "r").exists()


def test_without_ray_one_line_says_how_to_install(tmp_path: Path, tiny_dir: Path) -> None:
    fake = tmp_path / "noray" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'ray'\")\n")
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join([str(fake.parent), env["PYTHONPATH"]])
    proc = subprocess.run([sys.executable, "-m", "muie_bench.cli", "run", "-s", "oracle", "-b",
                           str(tiny_dir), "--executor", "ray", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == ["error: --executor ray: Ray is not installed; install the ray extra: "
                     "pip install 'muie-bench[ray]'"]
    assert not (tmp_path / "r").exists()
