"""The files of one run directory (DESIGN.md, "Run directory").

``results/runs/<benchmark>/<system>/<run-id>/`` holds ``run.json`` (provenance, status),
``predictions.jsonl`` (append-only), ``scores.json`` and ``instance_scores.jsonl``.

Durability contract of ``predictions.jsonl``: every line is handed to the kernel with one
``os.write`` as soon as it is produced (a killed process loses nothing already written),
and the file is fsynced at least once a second while lines arrive and when it is closed
(a power cut loses at most the last second). The only damage a crash can leave is a
half-written *last* line; :func:`scan_predictions` detects it and cuts it off so the
instance is predicted again. A damaged line anywhere else is a user error.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from muie_bench.errors import UserError
from muie_bench.schema import Prediction, RunRecord

RUN_JSON = "run.json"
PREDICTIONS = "predictions.jsonl"
SCORES = "scores.json"
INSTANCE_SCORES = "instance_scores.jsonl"


def safe_name(name: str) -> str:
    """A path component for a benchmark or system name ('/' and spaces become '_')."""
    out = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in name)
    return out.strip(".") or "_"


def new_run_id(fingerprint: str) -> str:
    """``YYYYmmdd-HHMMSS-<4 hex of the fingerprint>-<4 random hex>`` (UTC): sortable by time."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{stamp}-{fingerprint[:4]}-{os.urandom(2).hex()}"


def read_run_record(run_dir: Path) -> RunRecord:
    path = run_dir / RUN_JSON
    if not path.is_file():
        raise UserError(f"{run_dir}: not a run directory ({RUN_JSON} missing)")
    try:
        return RunRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise UserError(f"{path}:1: (run record): {str(e).splitlines()[0]}") from None


def write_run_record(run_dir: Path, record: RunRecord) -> None:
    """Write run.json atomically (temporary file + rename): never half-written."""
    path = run_dir / RUN_JSON
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(record.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def find_resumable(base: Path, resume_key: str) -> Path | None:
    """The most recently started run under ``base`` whose run.json has ``resume_key``."""
    if not base.is_dir():
        return None
    best: tuple[str, str, Path] | None = None
    for d in base.iterdir():
        p = d / RUN_JSON
        if not p.is_file():
            continue
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if rec.get("resume_key") != resume_key:
            continue
        cand = (str(rec.get("started", "")), d.name, d)
        if best is None or cand[:2] > best[:2]:
            best = cand
    return None if best is None else best[2]


@dataclass
class PredictionScan:
    """What a predictions file holds: per id the line of its last prediction."""

    lines: dict[str, int] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    total_lines: int = 0
    repaired_bytes: int = 0


def scan_predictions(path: Path, repair: bool = True) -> PredictionScan:
    """Index the ids (and failed ids) of ``predictions.jsonl``; cut off a torn last line.

    A later line for an id replaces an earlier one (``--retry-failed`` appends). A last line
    without its newline, or that is not valid JSON with an ``id``, is torn: with
    ``repair`` the file is truncated to the end of the previous line. Any other bad line
    raises :class:`UserError` naming the file and line.
    """
    scan = PredictionScan()
    if not path.is_file():
        return scan
    data = path.read_bytes()
    good_end = 0
    pos = 0
    n = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        end = len(data) if nl < 0 else nl + 1
        n += 1
        chunk = data[pos:end]
        rec = _parse_line(chunk) if nl >= 0 else None
        if rec is None:
            if end == len(data):  # torn tail
                break
            if not chunk.strip():
                pos = end
                good_end = end
                continue
            raise UserError(f"{path}:{n}: (json): not a prediction line")
        pid = rec.get("id")
        if not isinstance(pid, str):
            raise UserError(f"{path}:{n}: id: missing")
        scan.lines[pid] = n
        if rec.get("error"):
            scan.failed.add(pid)
        else:
            scan.failed.discard(pid)
        scan.total_lines += 1
        pos = end
        good_end = end
    if good_end < len(data):
        scan.repaired_bytes = len(data) - good_end
        if repair:
            with open(path, "r+b") as f:
                f.truncate(good_end)
                f.flush()
                os.fsync(f.fileno())
    return scan


def _parse_line(chunk: bytes) -> dict[str, object] | None:
    try:
        rec = json.loads(chunk)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return rec if isinstance(rec, dict) else None


def read_predictions_last(path: Path) -> list[Prediction]:
    """Every prediction of the file, the last line per id winning, in first-seen order."""
    out: dict[str, Prediction] = {}
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            if not line.endswith("\n"):
                break  # torn tail: not a prediction yet
            try:
                p = Prediction.model_validate_json(line)
            except ValueError as e:
                raise UserError(f"{path}:{n}: (prediction): {str(e).splitlines()[0]}") from None
            out[p.id] = p
    return list(out.values())


class RunLock:
    """An exclusive ``flock`` on ``<run_dir>/.lock`` while a process works in the run.

    A second process on the same run directory gets a :class:`UserError` instead of
    interleaving its lines (or cutting another writer's line as "torn"). The kernel drops
    the lock when the holder dies, SIGKILL included.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / ".lock"
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise UserError(f"{self.path.parent}: in use by another muie-bench process "
                            f"(pid {holder}); wait for it or use --fresh") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None


class PredictionWriter:
    """Appends lines to predictions.jsonl: one ``os.write`` per line, fsync every second.

    A background thread fsyncs when lines were written since the last fsync; :meth:`close`
    fsyncs a last time. Thread-safe.
    """

    def __init__(self, path: Path, fsync_interval: float = 1.0) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()
        self._dirty = False
        self._stop = threading.Event()
        self._interval = fsync_interval
        self.fsyncs = 0
        self._thread = threading.Thread(target=self._loop, name="fsync", daemon=True)
        self._thread.start()

    def write_line(self, line: str) -> None:
        data = (line.rstrip("\n") + "\n").encode("utf-8")
        with self._lock:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self._dirty = True

    def sync(self) -> None:
        with self._lock:
            if self._dirty:
                os.fsync(self._fd)
                self._dirty = False
                self.fsyncs += 1

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sync()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sync()
        os.close(self._fd)

    def __enter__(self) -> PredictionWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
