"""The run directory: the only code that reads or writes the files of a run.

``<out>/<benchmark>/<system>/<run-id>/`` (a :class:`RunDir`) holds ``run.json``
(provenance, status), ``predictions.jsonl`` (append-only), ``scores.json``,
``instance_scores.jsonl`` and ``.lock``. The folder of one system's runs on one benchmark
is a :class:`RunsFolder`; it chooses or creates a run and locks it in one step.

Durability contract of ``predictions.jsonl``: every line is handed to the kernel with one
``os.write`` as soon as it is produced (a killed process loses nothing already written),
and the file is fsynced at least once a second while lines arrive and when it is closed
(a power cut loses at most the last second). The only damage a crash (or a full disk) can
leave is a half-written *last* line; :meth:`RunDir.scan` detects it and cuts it off so the
instance is predicted again. A damaged line anywhere else is a user error.

Creation is atomic: a new run is written under a temporary name (``.new-<run-id>``, its
``run.json`` and lock in place) and renamed, so a run directory never lacks ``run.json``.
Choosing the run to resume (or creating one) and taking its lock happen while holding an
exclusive ``flock`` on the folder itself, so two identical commands started
together never both work: the second finds the first's run locked and stops with one line.

Errors the operating system reports while writing (a full disk, a read-only folder) are
:class:`RunWriteError`: one line naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from muie_bench.errors import UserError
from muie_bench.jsonl import iter_lines, parse_line, read_json_file, read_models
from muie_bench.schema import InstanceScore, Prediction, RunRecord, Scores

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark

RUN_JSON = "run.json"
PREDICTIONS = "predictions.jsonl"
SCORES = "scores.json"
INSTANCE_SCORES = "instance_scores.jsonl"
LOCK = ".lock"
NEW_PREFIX = ".new-"


class RunWriteError(UserError):
    """The operating system refused a write in a run directory (e.g. ENOSPC)."""


def _write_error(path: Path, e: OSError) -> RunWriteError:
    return RunWriteError(f"{path}: cannot write: {e.strerror or e}")


def safe_name(name: str) -> str:
    """A path component for a benchmark or system name ('/' and spaces become '_')."""
    out = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in name)
    return out.strip(".") or "_"


def new_run_id(fingerprint: str) -> str:
    """``YYYYmmdd-HHMMSS-<4 hex of the fingerprint>-<4 random hex>`` (UTC): sortable by time."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{stamp}-{fingerprint[:4]}-{os.urandom(2).hex()}"


def write_score_files(folder: Path, scores: Scores, instance_scores: list[InstanceScore]) -> None:
    """Write ``scores.json`` and ``instance_scores.jsonl`` into ``folder`` (created)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{folder}: cannot create the folder: {e.strerror or e}") from None
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder")
    path = folder / SCORES
    try:
        path.write_text(scores.model_dump_json(indent=2) + "\n", encoding="utf-8")
        path = folder / INSTANCE_SCORES
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(s.model_dump_json() + "\n" for s in instance_scores))
    except OSError as e:
        raise _write_error(path, e) from None


def read_instance_scores(path: Path) -> list[InstanceScore]:
    """Parse an ``instance_scores.jsonl``; a bad line is a UserError ``file:line: ...``."""
    if not path.is_file():
        raise UserError(f"{path}: no such instance scores file")
    return [s for _, s in read_models(path, InstanceScore, "instance score")]


def find_runs(root: Path) -> list[RunDir]:
    """Every run directory under ``root`` at any depth, sorted by path.

    Directories whose name starts with ``.`` (a run being created, ``.new-*``) and what is
    inside them are not runs.
    """
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.rglob(RUN_JSON)):
        rel = p.parent.relative_to(root).parts
        if p.is_file() and not any(part.startswith(".") for part in rel):
            out.append(RunDir(p.parent))
    return out


@dataclass
class PredictionScan:
    """What a predictions file holds: per id the line of its last prediction."""

    lines: dict[str, int] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    total_lines: int = 0
    repaired_bytes: int = 0


class RunDir:
    """One run directory. Constructing one touches nothing; :meth:`open` checks it exists."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @classmethod
    def open(cls, path: Path | str) -> RunDir:
        """The run directory at ``path``; a UserError when it has no ``run.json``."""
        rd = cls(path)
        if not rd.is_run():
            raise UserError(f"{rd.path}: not a run directory ({RUN_JSON} missing)")
        return rd

    @staticmethod
    def is_run_dir(path: Path) -> bool:
        return (path / RUN_JSON).is_file()

    def is_run(self) -> bool:
        return self.is_run_dir(self.path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunDir) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def run_json(self) -> Path:
        return self.path / RUN_JSON

    @property
    def predictions_path(self) -> Path:
        return self.path / PREDICTIONS

    @property
    def scores_path(self) -> Path:
        return self.path / SCORES

    @property
    def instance_scores_path(self) -> Path:
        return self.path / INSTANCE_SCORES

    def files(self) -> dict[str, Path]:
        """The run's files by name (whether they exist or not)."""
        return {n: self.path / n for n in (RUN_JSON, PREDICTIONS, SCORES, INSTANCE_SCORES)}

    # ------------------------------------------------------------------ run.json

    def record(self) -> RunRecord:
        """``run.json``; a UserError ``run.json:line: field: message`` when it is unreadable."""
        if not self.run_json.is_file():
            raise UserError(f"{self.path}: not a run directory ({RUN_JSON} missing)")
        return read_json_file(self.run_json, RunRecord, "run record")

    def write_record(self, record: RunRecord) -> None:
        """Write run.json atomically (temporary file + rename): never half-written.

        On a full disk (ENOSPC) a second copy may not fit; then the file is rewritten in
        place when it fits in the blocks the present one occupies,
        so that a run stopped by a full disk can still say ``interrupted``.
        """
        path = self.run_json
        tmp = path.with_suffix(".json.tmp")
        data = (record.model_dump_json(indent=2) + "\n").encode("utf-8")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            if e.errno == errno.ENOSPC and self._rewrite_in_place(data):
                return
            raise _write_error(path, e) from None

    def _rewrite_in_place(self, data: bytes) -> bool:
        try:
            with open(self.run_json, "r+b") as f:
                st = os.fstat(f.fileno())
                if len(data) > max(st.st_size, st.st_blocks * 512):  # beyond its allocated blocks
                    return False
                f.write(data)
                f.truncate()
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            return False
        return True

    def resume_key(self) -> str | None:
        """The ``resume_key`` of run.json read without validating the record (None if unreadable)."""
        try:
            rec = json.loads(self.run_json.read_bytes())
        except (OSError, ValueError):
            return None
        key = rec.get("resume_key") if isinstance(rec, dict) else None
        return key if isinstance(key, str) else None

    def benchmark(self, record: RunRecord | None = None, selected: bool = False) -> Benchmark:
        """The benchmark the run was made on: run.json's path, else its name, same sha256.

        ``selected`` applies the run's selection (sets, modalities, tasks, limit).
        """
        from muie_bench.benchmark import load_benchmark, resolve_benchmark_path

        record = record or self.record()
        info = record.benchmark
        candidates = [c for c in (info.path, info.name) if c]
        root = None
        for c in candidates:
            try:
                root = resolve_benchmark_path(c)
                break
            except UserError:
                continue
        if root is None:
            raise UserError(f"{self.run_json}:1: benchmark: cannot find {candidates[-1]!r}")
        bench = load_benchmark(root)
        if info.sha256 and bench.sha256 != info.sha256:
            raise UserError(
                f"{self.run_json}:1: benchmark.sha256: the run was made on "
                f"{info.sha256[:12]}…, {root} now has {bench.sha256[:12]}…"
            )
        if selected:
            sel = record.selection
            bench = bench.filter(sel.sets, sel.modalities, sel.tasks, limit=sel.limit)
        return bench

    # ------------------------------------------------------------------ predictions

    def predictions_size(self) -> int:
        """Bytes of predictions.jsonl (0 when absent)."""
        try:
            return self.predictions_path.stat().st_size
        except FileNotFoundError:
            return 0

    def scan(self, repair: bool = True) -> PredictionScan:
        """Index the ids (and failed ids) of predictions.jsonl; cut off a torn last line.

        A later line for an id replaces an earlier one (``--retry-failed`` appends). A last
        line without its newline, or that is not a JSON object with an ``id``, is torn: with
        ``repair`` the file is truncated to the end of the previous line. Any other bad line
        (invalid UTF-8 included) raises a UserError naming the file and line.
        """
        path = self.predictions_path
        scan = PredictionScan()
        if not path.is_file():
            return scan
        size = path.stat().st_size
        good_end = 0
        for line in _lines_or_torn(path, size):
            if line is None:  # torn tail
                break
            rec = _json_object(line.text)
            if rec is None:
                if line.end == size:
                    break
                raise UserError(f"{path}:{line.n}: (json): not a prediction line")
            pid = rec.get("id")
            if not isinstance(pid, str):
                raise UserError(f"{path}:{line.n}: id: missing")
            scan.lines[pid] = line.n
            if rec.get("error"):
                scan.failed.add(pid)
            else:
                scan.failed.discard(pid)
            scan.total_lines += 1
            good_end = line.end
        if good_end < size and _blank_tail(path, good_end, size):
            good_end = size
        if good_end < size:
            scan.repaired_bytes = size - good_end
            if repair:
                with open(path, "r+b") as f:
                    f.truncate(good_end)
                    f.flush()
                    os.fsync(f.fileno())
        return scan

    def predictions(self) -> list[Prediction]:
        """Every prediction, the last line per id winning, in first-seen order.

        A torn last line (no newline) is not a prediction yet and is skipped.
        """
        path = self.predictions_path
        out: dict[str, Prediction] = {}
        if not path.is_file():
            return []
        for line in iter_lines(path, torn="skip"):
            p = parse_line(line, Prediction, path, "prediction")
            out[p.id] = p
        return list(out.values())

    def writer(self, fsync_interval: float = 1.0) -> PredictionWriter:
        return PredictionWriter(self.predictions_path, fsync_interval)

    def lock(self) -> RunLock:
        return RunLock(self.path)

    # ------------------------------------------------------------------ scores

    def has_scores(self) -> bool:
        return self.scores_path.is_file() and self.instance_scores_path.is_file()

    def scores(self) -> Scores:
        if not self.scores_path.is_file():
            raise UserError(f"{self.path}: not scored yet (run `muie-bench score {self.path}`)")
        return read_json_file(self.scores_path, Scores, "scores")

    def instance_scores(self) -> list[InstanceScore]:
        if not self.instance_scores_path.is_file():
            raise UserError(f"{self.path}: not scored yet (run `muie-bench score {self.path}`)")
        return read_instance_scores(self.instance_scores_path)

    def write_scores(self, scores: Scores, instance_scores: list[InstanceScore]) -> None:
        write_score_files(self.path, scores, instance_scores)

    def scores_current(self, record: RunRecord) -> bool:
        """Were the scores written from the predictions file as it is now (by size)?"""
        return (self.scores_path.is_file() and record.scored_predictions_bytes is not None
                and record.scored_predictions_bytes == self.predictions_size())


def _lines_or_torn(path: Path, size: int) -> Iterator[_RawLine | None]:
    """Lines of ``path`` with their byte ranges; None for a last line without its newline."""
    pos = 0
    with open(path, "rb") as f:
        for n, raw in enumerate(f, start=1):
            start, pos = pos, pos + len(raw)
            if not raw.endswith(b"\n"):
                yield None
                return
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                if pos == size:
                    yield None  # a torn write can end inside a multi-byte character
                    return
                from muie_bench.jsonl import decode_line

                decode_line(raw, f"{path}:{n}")
                raise
            yield _RawLine(n, text, start, pos)


@dataclass(frozen=True)
class _RawLine:
    n: int
    text: str
    start: int
    end: int


def _blank_tail(path: Path, start: int, size: int) -> bool:
    with open(path, "rb") as f:
        f.seek(start)
        return not f.read(size - start).strip()


def _json_object(text: str) -> dict[str, object] | None:
    try:
        rec = json.loads(text)
    except json.JSONDecodeError:
        return None
    return rec if isinstance(rec, dict) else None


class RunLock:
    """An exclusive ``flock`` on ``<run_dir>/.lock`` while a process works in the run.

    A second process on the same run directory gets a :class:`UserError` instead of
    interleaving its lines (or cutting another writer's line as "torn"). The kernel drops
    the lock when the holder dies, SIGKILL included. The lock is on the file, so it stays
    held when the directory is renamed.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise _write_error(self.path, e) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise UserError(f"{self.path.parent}: in use by another muie-bench process "
                            f"(pid {holder}); wait for it or use --fresh") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except OSError:
            pass  # the pid is informative only (a full disk must not stop the lock)
        self._fd = fd
        return self

    def moved_to(self, run_dir: Path) -> None:
        """The directory holding the lock was renamed to ``run_dir``."""
        self.path = run_dir / LOCK

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class RunsFolder:
    """``<out>/<benchmark>/<system>/``: the runs of one system preset on one benchmark."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def under(cls, out: Path, benchmark: str, system: str) -> RunsFolder:
        return cls(Path(out) / safe_name(benchmark) / safe_name(system))

    def runs(self) -> list[RunDir]:
        """Every run directory in the folder (temporary ``.new-*`` ones excluded)."""
        if not self.path.is_dir():
            return []
        return [RunDir(d) for d in sorted(self.path.iterdir())
                if not d.name.startswith(".") and RunDir.is_run_dir(d)]

    def find(self, resume_key: str) -> RunDir | None:
        """The most recently started run whose run.json has ``resume_key``.

        A run.json that is not JSON is a UserError naming it (never silently another run).
        """
        best: tuple[str, str, RunDir] | None = None
        for rd in self.runs():
            try:
                rec = json.loads(rd.run_json.read_bytes())
            except ValueError:
                rd.record()  # raises the UserError naming file:line
                raise
            if not isinstance(rec, dict) or rec.get("resume_key") != resume_key:
                continue
            cand = (str(rec.get("started", "")), rd.name, rd)
            if best is None or cand[:2] > best[:2]:
                best = cand
        return None if best is None else best[2]

    def _make(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"--out: cannot create {self.path}: {e.strerror or e}") from None
        if not self.path.is_dir():
            raise UserError(f"--out: cannot create {self.path}: not a folder")

    @contextmanager
    def choosing(self) -> Iterator[None]:
        """Hold an exclusive ``flock`` on the folder itself (blocking): no other process
        chooses or creates a run meanwhile. The kernel drops it when the holder dies.

        Temporary directories left by a process killed while creating a run are removed
        (under this lock nobody else can be creating one).
        """
        import fcntl

        self._make()
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as e:
            raise UserError(f"--out: cannot open {self.path}: {e.strerror or e}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            for d in self.path.iterdir():
                if d.name.startswith(NEW_PREFIX) and d.is_dir():
                    shutil.rmtree(d, ignore_errors=True)
            yield
        finally:
            os.close(fd)

    def open_or_create(
        self, resume_key: str | None, fingerprint: str, new_record: Callable[[str], RunRecord],
    ) -> tuple[RunDir, RunLock, bool]:
        """The run to work in, locked: the latest with ``resume_key``, else a new one.

        ``resume_key`` None always creates (``--fresh``). ``new_record(run_id)`` makes the
        run.json of a new run. Returns ``(run, its held lock, resumed)``; a run held by
        another process is a UserError.
        """
        with self.choosing():
            found = self.find(resume_key) if resume_key is not None else None
            if found is not None:
                return found, found.lock().acquire(), True
            run_id = new_run_id(fingerprint)
            while (self.path / run_id).exists():
                run_id = new_run_id(fingerprint)
            final = RunDir(self.path / run_id)
            tmp = RunDir(self.path / (NEW_PREFIX + run_id))
            try:
                tmp.path.mkdir()
            except OSError as e:
                raise _write_error(tmp.path, e) from None
            lock = tmp.lock().acquire()
            try:
                tmp.write_record(new_record(run_id))
                os.rename(tmp.path, final.path)
            except BaseException as e:
                lock.release()
                shutil.rmtree(tmp.path, ignore_errors=True)
                if isinstance(e, OSError):
                    raise _write_error(final.path, e) from None
                raise
            lock.moved_to(final.path)
            return final, lock, False


class PredictionWriter:
    """Appends lines to predictions.jsonl: one ``os.write`` per line, fsync every second.

    A background thread fsyncs when lines were written since the last fsync; :meth:`close`
    fsyncs a last time. Thread-safe. An OS error (a full disk) is a :class:`RunWriteError`
    naming the file, raised by the write (or the next write after a failed background
    fsync); the bytes of a line cut short stay as a torn last line.
    """

    def __init__(self, path: Path, fsync_interval: float = 1.0) -> None:
        self.path = path
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise _write_error(path, e) from None
        self._lock = threading.Lock()
        self._dirty = False
        self._error: OSError | None = None
        self._stop = threading.Event()
        self._interval = fsync_interval
        self.fsyncs = 0
        self._thread = threading.Thread(target=self._loop, name="fsync", daemon=True)
        self._thread.start()

    def write_line(self, line: str) -> None:
        data = (line.rstrip("\n") + "\n").encode("utf-8")
        with self._lock:
            if self._error is not None:
                raise _write_error(self.path, self._error)
            view = memoryview(data)
            try:
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
            except OSError as e:
                self._error = e
                raise _write_error(self.path, e) from None
            self._dirty = True

    def sync(self) -> None:
        with self._lock:
            if self._dirty:
                self._dirty = False
                try:
                    os.fsync(self._fd)
                except OSError as e:
                    self._error = self._error or e
                    return
                self.fsyncs += 1

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sync()

    def close(self) -> None:
        """Stop the fsync thread, fsync and close. Raises a pending write error once."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        self.sync()
        os.close(self._fd)
        if self._error is not None:
            err, self._error = self._error, None
            raise _write_error(self.path, err)

    def __enter__(self) -> PredictionWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
            return
        with contextlib.suppress(RunWriteError):  # the exception propagating says more
            self.close()
