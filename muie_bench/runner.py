"""Run a system over a benchmark: workers, resume, per-instance error isolation, scoring.

:func:`run` is what ``muie-bench run`` calls. A run lives in
``<out>/<benchmark>/<system>/<run-id>/`` (:mod:`muie_bench.run_dir`). Re-running with the
same system preset, settings fingerprint, benchmark sha256 and selection resumes the most
recent such run (its ``resume_key``); ``fresh=True`` starts a new run id.

- Each instance is predicted at most once per run: ids already in ``predictions.jsonl``
  are skipped (``retry_failed=True`` predicts failed ones again; the later line wins).
- An exception or a timeout in ``predict`` becomes a prediction with ``error`` set and the
  run goes on. A timeout cannot stop the stuck call (Python cannot kill a thread): the
  call is abandoned in a daemon thread and the worker moves on.
- Workers: ``System.parallelism == "thread"`` uses a thread pool sharing one system
  (``setup`` once); ``"process"`` uses a pool of spawned processes, each of which
  unpickles the system and calls ``setup`` once in its initializer. ``workers=1`` runs in
  the calling thread.
- After the last instance the run is scored (:mod:`muie_bench.metrics.evaluate`) and
  ``scores.json`` + ``instance_scores.jsonl`` are written; :func:`score_run` re-scores.
- A complete run whose scores are up to date is recognised from run.json alone, without
  parsing the benchmark's instances (a resume of a finished run is fast).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from muie_bench.benchmark import (
    INSTANCES,
    Benchmark,
    load_benchmark,
    resolve_benchmark_path,
    sha256_file,
)
from muie_bench.errors import UserError
from muie_bench.provenance import git_info, host_info, package_versions, redact_argv
from muie_bench.run_dir import (
    INSTANCE_SCORES,
    PREDICTIONS,
    SCORES,
    PredictionWriter,
    RunLock,
    find_resumable,
    new_run_id,
    read_predictions_last,
    read_run_record,
    safe_name,
    scan_predictions,
    write_run_record,
)
from muie_bench.schema import Instance, Manifest, Prediction, RunRecord, Scores, SystemInfo
from muie_bench.systems.base import System

if TYPE_CHECKING:
    from rich.progress import Progress

DEFAULT_BENCHMARK = "muie-synth-mini"
DEFAULT_OUT = Path("results/runs")
MAX_ERRORS_IN_RECORD = 100
MAX_POOL_RESTARTS = 5


@dataclass
class RunOptions:
    """Everything ``muie-bench run`` accepts."""

    system: str
    overrides: dict[str, Any] = field(default_factory=dict)
    benchmark: str | Path = DEFAULT_BENCHMARK
    sets: list[str] | None = None
    modalities: list[str] | None = None
    tasks: list[str] | None = None
    limit: int | None = None
    workers: int = 1
    out: Path = DEFAULT_OUT
    fresh: bool = False
    retry_failed: bool = False
    timeout: float | None = None
    score: bool = True
    tau: float = 0.5
    n_resamples: int = 1000
    seed: int = 0
    progress: bool = False
    plugins: list[str] = field(default_factory=list)
    argv: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    run_dir: Path
    record: RunRecord
    scores: Scores | None
    resumed: bool
    predicted_now: int
    already_done: int

    @property
    def failed(self) -> int:
        return self.record.counts.get("failed", 0)


def import_plugins(modules: Sequence[str]) -> None:
    """Import modules that register system kinds (``--plugin``; see ``load_plugins``)."""
    from muie_bench.systems.registry import load_plugins

    load_plugins(list(modules))


def selection_of(opts: RunOptions) -> dict[str, Any]:
    """The normalised selection options (what the resume key and re-scoring use)."""
    return {
        "sets": sorted(opts.sets) if opts.sets else None,
        "modalities": sorted(opts.modalities) if opts.modalities else None,
        "tasks": sorted(opts.tasks) if opts.tasks else None,
        "limit": opts.limit,
    }


def resume_key(system: System, fingerprint: str, bench_sha: str, selection: dict[str, Any]) -> str:
    blob = json.dumps(
        {"system": system.name, "fingerprint": fingerprint, "benchmark": bench_sha,
         "selection": selection},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _read_manifest(root: Path) -> Manifest:
    from muie_bench.benchmark import MANIFEST

    try:
        return Manifest.model_validate_json((root / MANIFEST).read_text(encoding="utf-8"))
    except ValueError as e:
        raise UserError(f"{root / MANIFEST}:1: (manifest): {str(e).splitlines()[0]}") from None


# --------------------------------------------------------------------------- run


def run(opts: RunOptions, system: System | None = None) -> RunResult:
    """Predict every selected instance not yet predicted, then score. See the module doc."""
    if opts.workers < 1:
        raise UserError(f"--workers: must be >= 1, got {opts.workers}")
    if opts.timeout is not None and opts.timeout <= 0:
        raise UserError(f"--timeout: must be > 0 seconds, got {opts.timeout}")
    import_plugins(opts.plugins)
    if system is None:
        from muie_bench.systems.registry import build_system

        system = build_system(opts.system, opts.overrides)
    root = resolve_benchmark_path(opts.benchmark)
    manifest = _read_manifest(root)
    bench_sha = sha256_file(root / INSTANCES)
    fingerprint = system.fingerprint()
    selection = selection_of(opts)
    key = resume_key(system, fingerprint, bench_sha, selection)
    base = Path(opts.out) / safe_name(manifest.name) / safe_name(system.name)

    found = None if opts.fresh else find_resumable(base, key)
    if found is not None and not opts.retry_failed:
        done = _finished(found, opts)
        if done is not None:
            return done

    t_load = time.perf_counter()
    bench = load_benchmark(root).filter(opts.sets, opts.modalities, opts.tasks, limit=opts.limit)
    if not bench.instances:
        raise UserError("the selection is empty: no instance matches --sets/--modalities/--tasks")
    load_s = time.perf_counter() - t_load
    selection = {**selection, "instances": len(bench)}

    run_dir = found if found is not None else base / new_run_id(fingerprint)
    run_dir.mkdir(parents=True, exist_ok=True)
    with RunLock(run_dir):
        return _run_locked(opts, system, bench, root, run_dir, found is not None, key,
                           fingerprint, selection, load_s)


def _run_locked(
    opts: RunOptions, system: System, bench: Benchmark, root: Path, run_dir: Path,
    resumed: bool, key: str, fingerprint: str, selection: dict[str, Any], load_s: float,
) -> RunResult:
    """The body of :func:`run` once the run directory is chosen and locked."""
    if resumed:
        record = read_run_record(run_dir)
        record.argv = redact_argv(opts.argv)
        record.status = "running"
        record.ended = None
        # the environment of the latest session (the one that finishes and scores the run)
        record.git, record.packages, record.host = git_info(), package_versions(), host_info()
    else:
        record = RunRecord(
            run_id=run_dir.name,
            argv=redact_argv(opts.argv),
            system=SystemInfo(
                name=system.name, kind=system.kind, settings=system.settings.public(),
                fingerprint=fingerprint, components=system.components(),
            ),
            benchmark={"name": bench.name, "version": bench.version, "sha256": bench.sha256,
                       "path": str(root.resolve())},
            selection=selection,
            git=git_info(),
            packages=package_versions(),
            host=host_info(),
            started=_now(),
            resume_key=key,
        )
    record.timings["load"] = round(load_s, 4)

    pred_path = run_dir / PREDICTIONS
    scan = scan_predictions(pred_path, repair=True)
    skip = set(scan.lines) - (scan.failed if opts.retry_failed else set())
    todo = [inst for inst in bench.instances if inst.id not in skip]
    already = len(bench) - len(todo)
    write_run_record(run_dir, record)

    t0 = time.perf_counter()
    predicted = 0
    fresh: dict[str, Prediction] | None = {} if scan.total_lines == 0 else None
    try:
        with PredictionWriter(pred_path) as writer, _progress(opts.progress) as prog:
            task = None
            if prog is not None:
                task = prog.add_task(f"{system.name} on {bench.name}", total=len(bench),
                                     completed=already)
            for item in _execute(system, bench, todo, opts.workers, opts.timeout):
                if isinstance(item, Prediction):
                    line = item.model_dump_json()
                    if fresh is not None:
                        fresh[item.id] = item
                else:
                    line, fresh = item, None
                writer.write_line(line)
                predicted += 1
                if prog is not None and task is not None:
                    prog.advance(task)
    except BaseException as e:
        record.status = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
        record.ended = _now()
        record.timings["wall_predict"] = round(
            record.timings.get("wall_predict", 0.0) + time.perf_counter() - t0, 4)
        if not isinstance(e, KeyboardInterrupt):
            record.errors.append({"id": None, "error": f"{type(e).__name__}: {e}"})
        write_run_record(run_dir, record)
        raise
    record.timings["wall_predict"] = round(
        record.timings.get("wall_predict", 0.0) + time.perf_counter() - t0, 4)

    # a run written entirely by this session need not be parsed back
    preds = list(fresh.values()) if fresh is not None else read_predictions_last(pred_path)
    _summarise(record, bench, preds)
    record.status = "complete" if record.counts["missing"] == 0 else "interrupted"
    record.ended = _now()
    scores = None
    if opts.score:
        scores = _score_into(run_dir, record, bench, preds, opts.tau, opts.n_resamples, opts.seed)
    write_run_record(run_dir, record)
    return RunResult(run_dir, record, scores, resumed, predicted, already)


def _finished(run_dir: Path, opts: RunOptions) -> RunResult | None:
    """The result of a complete run whose scores match its predictions file, else None."""
    record = read_run_record(run_dir)
    pred_path = run_dir / PREDICTIONS
    if record.status != "complete" or not (run_dir / SCORES).is_file():
        return None
    if not pred_path.is_file() or record.scored_predictions_bytes != pred_path.stat().st_size:
        return None
    if opts.score and record.timings.get("score") is None:
        return None
    scores = Scores.model_validate_json((run_dir / SCORES).read_text(encoding="utf-8"))
    resamples = scores.bootstrap.get("resamples", opts.n_resamples)
    if scores.tau != opts.tau or resamples != opts.n_resamples:
        return None
    return RunResult(run_dir, record, scores, True, 0, record.counts.get("total", 0))


def _summarise(record: RunRecord, bench: Benchmark, preds: list[Prediction]) -> None:
    """Counts, stage timings, trace counters and errors of the run from its predictions."""
    selected = {i.id for i in bench.instances}
    by_id = {p.id: p for p in preds if p.id in selected}
    failed = [p for p in by_id.values() if p.error]
    stage: dict[str, float] = {}
    totals: dict[str, float] = {}
    predict_s = 0.0
    for p in by_id.values():
        predict_s += p.seconds
        timings = p.trace.get("timings")
        if isinstance(timings, dict):
            for k, v in timings.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    stage[str(k)] = stage.get(str(k), 0.0) + float(v)
        for k, v in p.trace.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                totals[k] = totals.get(k, 0.0) + float(v)
    record.counts = {
        "total": len(selected),
        "done": len(by_id) - len(failed),
        "failed": len(failed),
        "missing": len(selected) - len(by_id),
    }
    record.timings["predict"] = round(predict_s, 4)
    for k, v in sorted(stage.items()):
        record.timings[f"stage.{k}"] = round(v, 4)
    record.trace_totals = {k: round(v, 6) for k, v in sorted(totals.items())}
    record.errors = [{"id": p.id, "error": p.error} for p in failed[:MAX_ERRORS_IN_RECORD]]


def _score_into(
    run_dir: Path, record: RunRecord, bench: Benchmark, preds: list[Prediction],
    tau: float, n_resamples: int, seed: int,
) -> Scores:
    from muie_bench.metrics.evaluate import score, write_scores

    t = time.perf_counter()
    selected = {i.id for i in bench.instances}
    scores, inst_scores = score(bench, [p for p in preds if p.id in selected], tau=tau,
                                n_resamples=n_resamples, seed=seed)
    write_scores(run_dir, scores, inst_scores)
    record.timings["score"] = round(time.perf_counter() - t, 4)
    record.scored_predictions_bytes = (run_dir / PREDICTIONS).stat().st_size
    return scores


def score_run(run_dir: Path, tau: float = 0.5, n_resamples: int = 1000, seed: int = 0) -> Scores:
    """Re-score a run directory from its predictions.jsonl; updates run.json's counts.

    The benchmark is found from run.json (its path, else its name) and must have the
    sha256 the run was made on; the selection is re-applied to it.
    """
    with RunLock(run_dir):
        return _score_run_locked(run_dir, tau, n_resamples, seed)


def _score_run_locked(run_dir: Path, tau: float, n_resamples: int, seed: int) -> Scores:
    record = read_run_record(run_dir)
    bench = _benchmark_of(record, run_dir)
    sel = record.selection
    bench = bench.filter(sel.get("sets"), sel.get("modalities"), sel.get("tasks"),
                         limit=sel.get("limit"))
    preds = read_predictions_last(run_dir / PREDICTIONS)
    _summarise(record, bench, preds)
    if record.status == "complete" and record.counts["missing"]:
        record.status = "interrupted"
    scores = _score_into(run_dir, record, bench, preds, tau, n_resamples, seed)
    write_run_record(run_dir, record)
    return scores


def _benchmark_of(record: RunRecord, run_dir: Path) -> Benchmark:
    info = record.benchmark
    candidates = [c for c in (info.get("path"), info.get("name")) if c]
    root = None
    for c in candidates:
        try:
            root = resolve_benchmark_path(c)
            break
        except UserError:
            continue
    if root is None:
        raise UserError(f"{run_dir / 'run.json'}:1: benchmark: cannot find {candidates[-1]!r}")
    bench = load_benchmark(root)
    if info.get("sha256") and bench.sha256 != info["sha256"]:
        raise UserError(
            f"{run_dir / 'run.json'}:1: benchmark.sha256: the run was made on "
            f"{info['sha256'][:12]}…, {root} now has {bench.sha256[:12]}…"
        )
    return bench


def is_run_dir(path: Path) -> bool:
    return (path / "run.json").is_file()


def run_files(run_dir: Path) -> dict[str, Path]:
    return {n: run_dir / n for n in ("run.json", PREDICTIONS, SCORES, INSTANCE_SCORES)}


# --------------------------------------------------------------------------- execution


def _predict(system: System, inst: Instance, bench: Benchmark, timeout: float | None
             ) -> Prediction:
    """One prediction; exceptions and timeouts become a prediction with ``error`` set."""
    t0 = time.perf_counter()
    try:
        pred = (
            system.predict(inst, bench) if timeout is None
            else _call_with_timeout(lambda: system.predict(inst, bench), timeout)
        )
        if not isinstance(pred, Prediction):
            raise TypeError(f"predict returned {type(pred).__name__}, not a Prediction")
        if pred.id != inst.id:
            raise ValueError(f"predict returned id {pred.id!r} for instance {inst.id!r}")
    except Exception as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        pred = Prediction(id=inst.id, error=f"{type(e).__name__}: {msg}".rstrip(": "))
    if not pred.seconds:
        pred.seconds = round(time.perf_counter() - t0, 6)
    return pred


class PredictTimeout(Exception):
    pass


def _call_with_timeout(fn: Callable[[], Prediction], timeout: float) -> Prediction:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # re-raised in the caller
            box["error"] = e

    th = threading.Thread(target=target, daemon=True, name="predict")
    th.start()
    th.join(timeout)
    if th.is_alive():
        raise PredictTimeout(f"no prediction after {timeout:g} s")
    if "error" in box:
        raise box["error"]
    result: Prediction = box["value"]
    return result


def _execute(
    system: System, bench: Benchmark, todo: list[Instance], workers: int, timeout: float | None
) -> Iterator[Prediction | str]:
    """Predictions (in-process) or their JSON lines (from worker processes)."""
    if not todo:
        return
    if workers > 1 and system.parallelism == "process":
        yield from _execute_processes(system, bench, todo, workers, timeout)
        return
    try:
        system.setup(bench)
    except UserError:
        raise
    except Exception as e:
        raise SetupFailed(f"system setup failed: {type(e).__name__}: {e}") from e
    if workers == 1:
        for inst in todo:
            yield _predict(system, inst, bench, timeout)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="predict") as pool:
        yield from _bounded(
            pool, todo, lambda inst: pool.submit(_predict, system, inst, bench, timeout),
            workers,
        )


def _bounded(
    pool: ThreadPoolExecutor,
    todo: list[Instance],
    submit: Callable[[Instance], Future[Prediction]],
    workers: int,
) -> Iterator[Prediction]:
    """Submit with at most ``4 * workers`` in flight; yield predictions as they complete."""
    it = iter(todo)
    inflight: set[Future[Prediction]] = set()
    try:
        for inst in it:
            inflight.add(submit(inst))
            if len(inflight) >= 4 * workers:
                done, inflight = _wait_some(inflight)
                for f in done:
                    yield f.result()
        while inflight:
            done, inflight = _wait_some(inflight)
            for f in done:
                yield f.result()
    except BaseException:
        for f in inflight:
            f.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        raise


def _wait_some(fs: set[Future[Any]]) -> tuple[set[Future[Any]], set[Future[Any]]]:
    done, pending = wait(fs, return_when=FIRST_COMPLETED)
    return set(done), set(pending)


# process workers: module globals set by the initializer in each worker process
_W: dict[str, Any] = {}


class SetupFailed(UserError):
    pass


def _init_worker(system: System, root: str, timeout: float | None) -> None:
    try:
        bench = load_benchmark(root, check_hash=False)
        system.setup(bench)
        _W.update(system=system, bench=bench, timeout=timeout)
    except Exception as e:
        _W["setup_error"] = f"{type(e).__name__}: {e}"


def _worker_predict(instance_id: str) -> str:
    if "setup_error" in _W:
        raise SetupFailed(f"system setup failed in a worker process: {_W['setup_error']}")
    bench: Benchmark = _W["bench"]
    return _predict(_W["system"], bench.get(instance_id), bench, _W["timeout"]).model_dump_json()


def _execute_processes(
    system: System, bench: Benchmark, todo: list[Instance], workers: int, timeout: float | None
) -> Iterator[str]:
    """Process pool; a worker that dies fails its in-flight instances and the pool restarts."""
    ctx = multiprocessing.get_context("spawn")
    remaining = {inst.id: inst for inst in todo}
    restarts = 0
    while remaining:
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_init_worker,
            initargs=(system, str(bench.root), timeout),
        )
        futures: dict[Future[str], Instance] = {}
        it = iter(list(remaining.values()))
        broken = False
        try:
            for inst in it:
                futures[pool.submit(_worker_predict, inst.id)] = inst
                if len(futures) >= 4 * workers:
                    broken = yield from _drain(futures, remaining, until=2 * workers)
                    if broken:
                        break
            if not broken:
                broken = yield from _drain(futures, remaining, until=0)
        finally:
            pool.shutdown(wait=not broken, cancel_futures=True)
        if broken:
            restarts += 1
            if restarts > MAX_POOL_RESTARTS:
                raise UserError(f"worker processes died {restarts} times; giving up")
            for inst in list(futures.values()):
                yield Prediction(id=inst.id, error="BrokenProcessPool: the worker process died"
                                 ).model_dump_json()
                remaining.pop(inst.id, None)
            futures.clear()


def _drain(
    futures: dict[Future[str], Instance], remaining: dict[str, Instance], until: int
) -> Generator[str, None, bool]:
    """Yield finished lines until at most ``until`` futures remain; return True if broken."""
    while len(futures) > until:
        done, _ = wait(set(futures), return_when=FIRST_COMPLETED)
        for f in done:
            inst = futures[f]
            try:
                line = f.result()
            except BrokenProcessPool:
                return True
            del futures[f]
            remaining.pop(inst.id, None)
            yield line
    return False


class _NoProgress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _progress(enabled: bool) -> Any:
    if not enabled:
        return _NoProgress()
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as _Progress
    from rich.text import Text

    class Speed(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text("-- inst/s" if speed is None else f"{speed:.1f} inst/s")

    prog: Progress = _Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Speed(),
        TextColumn("ETA"), TimeRemainingColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=False,
    )
    return prog
