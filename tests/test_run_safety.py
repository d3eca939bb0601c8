"""Crash, concurrency and bad-input safety of `muie-bench run` / `score` (real CLI processes).

- a kill while a run directory is being created leaves no directory without run.json, and
  the re-run reuses nothing half-made (one run directory);
- two identical commands started together never both work in (or create) runs;
- a full disk (ENOSPC) ends in one line, run.json `interrupted`, the torn line cut on resume;
- an unserialisable prediction is a failed instance, never a crash;
- bad options and files end in one line naming the flag or file:line, never `running`.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from muie_bench.errors import UserError
from muie_bench.replicate import replicate_benchmark
from muie_bench.run.files import PREDICTIONS, RunDir, RunWriteError
from muie_bench.run.runner import RunOptions, run

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
import runner_support  # noqa: E402,F401  (registers the test-only kinds)


def _env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, **extra}


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "muie_bench.cli", *args], capture_output=True,
                          text=True, env=env or _env(), timeout=timeout)


def _one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode not in (0, 1), (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def _run_dirs(out: Path) -> list[Path]:
    return sorted(p.parent for p in out.rglob("run.json"))


def _entries(out: Path) -> list[Path]:
    """Every directory under the runs folder's system folders (temporary ones included)."""
    return sorted(d for sysdir in out.glob("*/*") for d in sysdir.iterdir() if d.is_dir())


# --------------------------------------------------------------------------- crash and races


def test_kill_while_creating_the_run_directory_leaves_nothing_half_made(
        tmp_path: Path, tiny_dir: Path) -> None:
    out = tmp_path / "runs"
    args = ("run", "-s", "oracle", "--plugin", "run_hooks", "-b", str(tiny_dir), "--out",
            str(out), "--no-progress", "--resamples", "50")
    killed = _cli(*args, env=_env(MUIE_TEST_KILL_AT="run.json"))
    assert killed.returncode == -9, killed.stderr
    # no directory without run.json is visible as a run; none is reused or counted
    assert _run_dirs(out) == []
    assert all(d.name.startswith(".new-") for d in _entries(out)), _entries(out)
    again = _cli(*args)
    assert again.returncode == 0, again.stderr
    assert len(_run_dirs(out)) == 1
    assert _entries(out) == _run_dirs(out), "the half-made directory was not cleaned up"
    third = _cli(*args)
    assert third.returncode == 0 and "(resumed)" in third.stdout
    assert len(_run_dirs(out)) == 1


def test_two_identical_commands_started_together(tmp_path: Path, tiny_dir: Path) -> None:
    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "muie_bench.cli", "run", "-s", "test-flaky", "--plugin",
           "runner_support", "--plugin", "run_hooks", "-o", "sleep=0.05", "-b", str(tiny_dir),
           "--out", str(out), "--no-score", "--no-progress"]
    # the slow load holds both processes between "look for a run" and "create one"
    env = _env(MUIE_TEST_SLOW_LOAD="1.0")
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(r[0] for r in results)
    assert codes == [0, 2], results
    loser = next(r for r in results if r[0] == 2)
    assert "Traceback" not in loser[2]
    assert len(loser[2].strip().splitlines()) == 1 and "in use by another muie-bench" in loser[2]
    dirs = _run_dirs(out)
    assert len(dirs) == 1, dirs
    ids = [json.loads(x)["id"] for x in (dirs[0] / PREDICTIONS).read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 14


# --------------------------------------------------------------------------- disk full


def _failing_write_after(monkeypatch: pytest.MonkeyPatch, path_name: str, good_lines: int) -> None:
    """os.write to ``path_name`` writes ``good_lines`` lines, then half a line, then ENOSPC."""
    real_write = os.write
    state = {"lines": 0, "full": False}

    def write(fd: int, data: bytes | memoryview) -> int:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        if not target.endswith(path_name):
            return real_write(fd, data)
        if state["full"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        if state["lines"] >= good_lines:
            state["full"] = True
            return real_write(fd, bytes(data)[: len(data) // 2])
        state["lines"] += 1
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


def test_disk_full_while_predicting_stops_with_one_line(
        tmp_path: Path, tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opts = RunOptions(system="oracle", benchmark=tiny_dir, out=tmp_path / "runs", n_resamples=50)
    with monkeypatch.context() as m:
        _failing_write_after(m, PREDICTIONS, good_lines=5)
        with pytest.raises(RunWriteError) as exc:
            run(opts)
    msg = str(exc.value)
    assert "\n" not in msg and PREDICTIONS in msg and "No space left on device" in msg
    assert "interrupted" in msg
    rd = RunDir(_run_dirs(tmp_path / "runs")[0])
    assert rd.record().status == "interrupted"
    assert not rd.predictions_path.read_bytes().endswith(b"\n")  # the torn line is there
    res = run(opts)  # space again: the torn line is cut and the run completes
    assert res.resumed and res.record.status == "complete" and res.predicted_now == 9
    ids = [json.loads(x)["id"] for x in rd.predictions_path.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 14


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir()
    try:
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                              capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


@pytest.mark.skipif(sys.platform != "linux", reason="tmpfs is Linux")
def test_disk_full_on_a_real_full_filesystem(tmp_path: Path, tiny_dir: Path) -> None:
    mnt = tmp_path / "small"
    if not _mount_tmpfs(mnt, "96k"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        bench = replicate_benchmark(tiny_dir, tmp_path / "bench", 140)
        args = ("run", "-s", "oracle", "-b", str(bench), "--out", str(mnt / "runs"),
                "--no-progress", "--resamples", "50")
        full = _cli(*args)
        _one_line_error(full, PREDICTIONS, "No space left on device", "interrupted")
        rd = RunDir(_run_dirs(mnt / "runs")[0])
        assert rd.record().status == "interrupted"
        # still full: the re-run also ends in one line
        _one_line_error(_cli(*args), "No space left on device")
        assert rd.record().status == "interrupted"
        subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True, timeout=30)
        done = _cli(*args)
        assert done.returncode == 0, done.stderr
        assert rd.record().status == "complete"
        ids = [json.loads(x)["id"] for x in rd.predictions_path.read_text().splitlines()]
        assert len(ids) == len(set(ids)) == 140
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True, timeout=30)


# --------------------------------------------------------------------------- predictions


@pytest.mark.parametrize("kind,workers", [("test-flaky", 1), ("test-flaky", 2),
                                          ("test-flaky-proc", 2)])
def test_unserialisable_prediction_is_a_failed_instance(tmp_path: Path, tiny_dir: Path, kind: str,
                                                        workers: int) -> None:
    res = run(RunOptions(system=kind, benchmark=tiny_dir, out=tmp_path / "runs", workers=workers,
                         sets=["ti-ner", "a-re"], n_resamples=50,
                         overrides={"surrogate_suffixes": ["-1"]}))
    assert res.record.status == "complete"
    assert res.record.counts.failed == 2 and res.record.counts.done == 2
    errors = {e.id: e.error for e in res.record.errors}
    assert set(errors) == {"ti-ner-1", "a-re-1"}
    assert all(e.startswith("unserialisable prediction: PydanticSerializationError") for e in
               errors.values())
    lines = [json.loads(x) for x in (res.run_dir / PREDICTIONS).read_text().splitlines()]
    assert len(lines) == 4 and all(x["raw"] is None for x in lines)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("flag,value,needle", [
    ("--timeout", "nan", "--timeout"), ("--timeout", "inf", "--timeout"),
    ("--timeout", "-1", "--timeout"), ("--seed", "-1", "--seed"), ("--tau", "nan", "--tau"),
    ("--resamples", "-5", "--resamples"), ("--limit", "0", "--limit"),
])
def test_bad_run_options_are_one_line(tmp_path: Path, tiny_dir: Path, flag: str, value: str,
                                      needle: str) -> None:
    out = tmp_path / "runs"
    proc = _cli("run", "-s", "oracle", "-b", str(tiny_dir), "--out", str(out), flag, value)
    _one_line_error(proc, needle)
    assert not out.exists()  # refused before anything was created


def test_run_out_not_a_folder_is_one_line(tmp_path: Path, tiny_dir: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    _one_line_error(_cli("run", "-s", "oracle", "-b", str(tiny_dir), "--out", str(f)), str(f))
    assert f.read_text() == "x"
    _one_line_error(_cli("run", "-s", "oracle", "-b", str(tiny_dir), "--out", "/proc/x"),
                    "/proc/x")


def test_score_seed_and_out_checked(tmp_path: Path, tiny_dir: Path) -> None:
    res = run(RunOptions(system="oracle", benchmark=tiny_dir, out=tmp_path / "runs", score=False))
    _one_line_error(_cli("score", str(res.run_dir), "--seed", "-1"), "--seed")
    f = tmp_path / "file"
    f.write_text("x")
    _one_line_error(_cli("score", str(res.run_dir / PREDICTIONS), "-b", str(tiny_dir), "--out",
                         str(f)), str(f))


def test_instance_of_a_set_not_in_the_manifest_is_refused_before_predicting(
        tmp_path: Path, tiny_copy: Path) -> None:
    from muie_bench.benchmark import sha256_file

    path = tiny_copy / "instances.jsonl"
    lines = path.read_text().splitlines()
    rec = json.loads(lines[3])
    rec["set"] = "zz-ner"
    lines[3] = json.dumps(rec)
    path.write_text("\n".join(lines) + "\n")
    manifest = json.loads((tiny_copy / "manifest.json").read_text())
    manifest["files"]["instances.jsonl"] = sha256_file(path)
    (tiny_copy / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "runs"
    proc = _cli("run", "-s", "oracle", "-b", str(tiny_copy), "--out", str(out))
    _one_line_error(proc, "instances.jsonl:4: set: 'zz-ner'")
    assert _run_dirs(out) == []  # nothing predicted, no run left `running`


def test_invalid_utf8_in_run_files_is_one_line(tmp_path: Path, tiny_dir: Path) -> None:
    out = tmp_path / "runs"
    res = run(RunOptions(system="oracle", benchmark=tiny_dir, out=out, sets=["ti-ner", "a-re"],
                         n_resamples=50))
    rd = res.run
    good = rd.predictions_path.read_bytes()
    lines = good.splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"id"', b'"\xff\xfeid"')
    rd.predictions_path.write_bytes(b"".join(lines))
    base = ("-b", str(tiny_dir), "--out", str(out), "--sets", "ti-ner,a-re", "--resamples", "50")
    _one_line_error(_cli("run", "-s", "oracle", "--retry-failed", *base),
                    f"{PREDICTIONS}:2: (encoding): invalid UTF-8")
    _one_line_error(_cli("score", str(rd.path)), f"{PREDICTIONS}:2: (encoding): invalid UTF-8")
    _one_line_error(_cli("score", str(rd.predictions_path), "-b", str(tiny_dir)),
                    f"{PREDICTIONS}:2: (encoding): invalid UTF-8")
    rd.predictions_path.write_bytes(good)
    text = rd.run_json.read_bytes()
    rd.run_json.write_bytes(text.replace(b'"status"', b'"st\xc3atus"', 1))
    n = text[: text.index(b'"status"')].count(b"\n") + 1
    _one_line_error(_cli("score", str(rd.path)), f"run.json:{n}: (encoding): invalid UTF-8")
    _one_line_error(_cli("compare", str(rd.path), str(rd.path)), f"run.json:{n}: (encoding)")
    with pytest.raises(UserError, match=rf"run\.json:{n}: \(encoding\)"):
        run(RunOptions(system="oracle", benchmark=tiny_dir, out=out, sets=["ti-ner", "a-re"],
                       n_resamples=50, retry_failed=True))


def test_stale_temporary_directory_is_removed_and_never_listed(tmp_path: Path,
                                                                tiny_dir: Path) -> None:
    out = tmp_path / "runs"
    first = run(RunOptions(system="oracle", benchmark=tiny_dir, out=out, score=False))
    stale = first.run_dir.parent / ".new-20000101-000000-abcd-0000"
    shutil.copytree(first.run_dir, stale)
    from muie_bench.run.files import RunsFolder

    assert RunsFolder(first.run_dir.parent).runs() == [first.run]
    again = run(RunOptions(system="oracle", benchmark=tiny_dir, out=out, score=False, fresh=True))
    assert not stale.exists() and again.run_dir != first.run_dir


def test_find_runs_skips_runs_being_created(tmp_path: Path, tiny_dir: Path) -> None:
    from muie_bench.run.files import find_runs

    out = tmp_path / "runs"
    a = run(RunOptions(system="oracle", benchmark=tiny_dir, out=out, score=False))
    b = run(RunOptions(system="empty", benchmark=tiny_dir, out=out, score=False))
    shutil.copytree(a.run_dir, a.run_dir.parent / ".new-20000101-000000-abcd-0000")
    assert find_runs(out) == sorted([a.run, b.run], key=lambda r: r.path)
    assert find_runs(tmp_path / "nowhere") == []
