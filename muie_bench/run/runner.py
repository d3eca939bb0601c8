"""Run a system over a benchmark: resume, per-instance error isolation, scoring.

:func:`run` is what ``muie-bench run`` calls. A run lives in
``<out>/<benchmark>/<system>/<run-id>/`` (:class:`~muie_bench.run.files.RunDir`).
Re-running with the same :class:`~muie_bench.run.spec.RunSpec` (system preset, settings
fingerprint, benchmark sha256, selection) resumes the most recent such run; ``fresh=True``
starts a new run id.

- Each instance is predicted at most once per run: ids already in ``predictions.jsonl``
  are skipped (``retry_failed=True`` predicts failed ones again; the later line wins).
- Predictions come from an executor (:mod:`muie_bench.run.executors`): serial, threads or
  processes; a failure of the system on an instance becomes a prediction with ``error``.
- After the last instance the run is scored (:func:`muie_bench.metrics.evaluate.score`)
  and ``scores.json`` + ``instance_scores.jsonl`` are written; :func:`score_run` re-scores.
- A complete run whose scores are up to date is recognised from run.json alone, without
  parsing the benchmark's instances (a resume of a finished run is fast).
- Every option is checked, and every instance's set is looked up in the manifest, before
  anything is predicted. A write the operating system refuses (a full disk) stops the run
  with one line and status ``interrupted`` (when run.json can still be written); a resume
  cuts the line the write left unfinished.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from muie_bench.benchmark import (
    INSTANCES,
    MANIFEST,
    Benchmark,
    load_benchmark,
    resolve_benchmark_path,
    sha256_file,
)
from muie_bench.errors import UserError
from muie_bench.jsonl import read_json_file
from muie_bench.run.files import RunDir, RunsFolder, RunWriteError
from muie_bench.run.spec import RunSpec, SelectionSpec
from muie_bench.schema import (
    BenchmarkRef,
    Manifest,
    Prediction,
    RunCounts,
    RunError,
    RunRecord,
    Scores,
    SystemInfo,
)
from muie_bench.systems.base import System

if TYPE_CHECKING:
    from rich.progress import Progress

DEFAULT_BENCHMARK = "muie-synth-mini"
DEFAULT_OUT = Path("results/runs")
MAX_ERRORS_IN_RECORD = 100


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

    def selection(self) -> SelectionSpec:
        return SelectionSpec.of(self.sets, self.modalities, self.tasks, self.limit)


@dataclass
class RunResult:
    run: RunDir
    record: RunRecord
    scores: Scores | None
    resumed: bool
    predicted_now: int
    already_done: int

    @property
    def run_dir(self) -> Path:
        return self.run.path

    @property
    def failed(self) -> int:
        return self.record.counts.failed


def import_plugins(modules: Sequence[str]) -> None:
    """Import modules that register system kinds (``--plugin``; see ``load_plugins``)."""
    from muie_bench.systems.registry import load_plugins

    load_plugins(list(modules))


def check_scoring_options(tau: float, n_resamples: int, seed: int) -> None:
    """``--tau`` in (0, 1], ``--resamples`` >= 0, ``--seed`` >= 0 (else one line)."""
    if not (math.isfinite(tau) and 0.0 < tau <= 1.0):
        raise UserError(f"--tau: must be in (0, 1], got {tau}")
    if n_resamples < 0:
        raise UserError(f"--resamples: must be >= 0, got {n_resamples}")
    if seed < 0:
        raise UserError(f"--seed: must be >= 0, got {seed}")


def _check_options(opts: RunOptions) -> None:
    if opts.workers < 1:
        raise UserError(f"--workers: must be >= 1, got {opts.workers}")
    if opts.timeout is not None and not (math.isfinite(opts.timeout) and opts.timeout > 0):
        raise UserError(f"--timeout: must be a finite number of seconds > 0, got {opts.timeout}")
    if opts.limit is not None and opts.limit < 1:
        raise UserError(f"--limit: must be >= 1, got {opts.limit}")
    out = Path(opts.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: not a folder")
    if opts.score:
        check_scoring_options(opts.tau, opts.n_resamples, opts.seed)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _read_manifest(root: Path) -> Manifest:
    return read_json_file(root / MANIFEST, Manifest, "manifest")


def _check_sets(bench: Benchmark) -> None:
    """Every instance's set is a set of the manifest (else scoring could not place it)."""
    known = {s.id for s in bench.manifest.sets}
    for inst in bench.instances:
        if inst.set not in known:
            line = bench.lines.get(inst.id, 0)
            raise UserError(f"{bench.root / INSTANCES}:{line}: set: {inst.set!r} is not a set of "
                            f"{bench.root / MANIFEST}")


# --------------------------------------------------------------------------- run


def run(opts: RunOptions, system: System[Any] | None = None) -> RunResult:
    """Predict every selected instance not yet predicted, then score. See the module doc."""
    _check_options(opts)
    import_plugins(opts.plugins)
    if system is None:
        from muie_bench.systems.registry import build_system

        system = build_system(opts.system, opts.overrides)
    root = resolve_benchmark_path(opts.benchmark)
    manifest = _read_manifest(root)
    spec = RunSpec(system.name, system.fingerprint(), sha256_file(root / INSTANCES),
                   opts.selection())
    key = spec.key()
    folder = RunsFolder.under(opts.out, manifest.name, system.name)

    if not opts.fresh and not opts.retry_failed:
        found = folder.find(key)
        if found is not None:
            done = _finished(found, opts)
            if done is not None:
                return done

    t_load = time.perf_counter()
    full = load_benchmark(root)
    _check_sets(full)
    bench = full.filter(opts.sets, opts.modalities, opts.tasks, limit=opts.limit)
    if not bench.instances:
        raise UserError("the selection is empty: no instance matches --sets/--modalities/--tasks")
    load_s = time.perf_counter() - t_load

    from muie_bench.provenance import git_info, host_info, package_versions, redact_argv

    def new_record(run_id: str) -> RunRecord:
        return RunRecord(
            run_id=run_id,
            argv=redact_argv(opts.argv),
            system=SystemInfo(
                name=system.name, kind=system.kind, settings=system.settings.public(),
                fingerprint=spec.fingerprint, components=system.components(),
            ),
            benchmark=BenchmarkRef(name=bench.name, version=bench.version, sha256=bench.sha256,
                                   path=str(root.resolve())),
            selection=spec.selection.record(len(bench)),
            git=git_info(),
            packages=package_versions(),
            host=host_info(),
            started=_now(),
            resume_key=key,
        )

    run_dir, lock, resumed = folder.open_or_create(None if opts.fresh else key, spec.fingerprint,
                                                   new_record)
    try:
        return _run_locked(opts, system, bench, run_dir, resumed, load_s)
    finally:
        lock.release()


def _run_locked(opts: RunOptions, system: System[Any], bench: Benchmark, run_dir: RunDir,
                resumed: bool, load_s: float) -> RunResult:
    """The body of :func:`run` once the run directory is chosen and locked."""
    from muie_bench.provenance import git_info, host_info, package_versions, redact_argv
    from muie_bench.run.executors import execute

    record = run_dir.record()
    if resumed:
        record.argv = redact_argv(opts.argv)
        record.status = "running"
        record.ended = None
        # the environment of the latest session (the one that finishes and scores the run)
        record.git, record.packages, record.host = git_info(), package_versions(), host_info()
    record.timings["load"] = round(load_s, 4)

    scan = run_dir.scan(repair=True)
    skip = set(scan.lines) - (scan.failed if opts.retry_failed else set())
    todo = [inst for inst in bench.instances if inst.id not in skip]
    already = len(bench) - len(todo)
    run_dir.write_record(record)

    t0 = time.perf_counter()
    predicted = 0
    # a run written entirely by this session need not be parsed back
    fresh: dict[str, Prediction] | None = {} if scan.total_lines == 0 else None
    try:
        with run_dir.writer() as writer, _progress(opts.progress) as prog:
            task = None
            if prog is not None:
                task = prog.add_task(f"{system.name} on {bench.name}", total=len(bench),
                                     completed=already)
            for item in execute(system, bench, todo, opts.workers, opts.timeout):
                writer.write_line(item.line)
                if fresh is not None:
                    if item.prediction is None:
                        fresh = None
                    else:
                        fresh[item.id] = item.prediction
                predicted += 1
                if prog is not None and task is not None:
                    prog.advance(task)
    except BaseException as e:
        _stopped(run_dir, record, e, time.perf_counter() - t0)
        raise
    record.timings["wall_predict"] = round(
        record.timings.get("wall_predict", 0.0) + time.perf_counter() - t0, 4)

    preds = list(fresh.values()) if fresh is not None else run_dir.predictions()
    _summarise(record, bench, preds)
    record.status = "complete" if record.counts.missing == 0 else "interrupted"
    record.ended = _now()
    scores = None
    try:
        if opts.score:
            scores = _score_into(run_dir, record, bench, preds, opts.tau, opts.n_resamples,
                                 opts.seed)
        run_dir.write_record(record)
    except RunWriteError:
        record.status = "interrupted"
        _try_write(run_dir, record)
        raise
    return RunResult(run_dir, record, scores, resumed, predicted, already)


def _stopped(run_dir: RunDir, record: RunRecord, e: BaseException, predict_s: float) -> None:
    """Record why the prediction loop stopped; a refused write becomes one line."""
    interrupted = isinstance(e, (KeyboardInterrupt, RunWriteError))
    record.status = "interrupted" if interrupted else "failed"
    record.ended = _now()
    record.timings["wall_predict"] = round(record.timings.get("wall_predict", 0.0) + predict_s, 4)
    if not interrupted:
        record.errors.append(RunError(id=None, error=f"{type(e).__name__}: {e}"))
    written = _try_write(run_dir, record)
    if isinstance(e, RunWriteError):
        state = "run.json says interrupted" if written else "run.json could not be updated"
        raise RunWriteError(f"{e}; the run stopped ({state}); re-run the command to resume"
                            ) from None


def _try_write(run_dir: RunDir, record: RunRecord) -> bool:
    try:
        run_dir.write_record(record)
    except RunWriteError:
        return False
    return True


def _finished(run_dir: RunDir, opts: RunOptions) -> RunResult | None:
    """The result of a complete run whose scores match its predictions file, else None."""
    record = run_dir.record()
    if record.status != "complete" or not run_dir.scores_current(record):
        return None
    if opts.score and record.timings.get("score") is None:
        return None
    scores = run_dir.scores()
    resamples = scores.bootstrap.get("resamples", opts.n_resamples)
    if scores.tau != opts.tau or resamples != opts.n_resamples:
        return None
    return RunResult(run_dir, record, scores, True, 0, record.counts.total)


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
    record.counts = RunCounts(total=len(selected), done=len(by_id) - len(failed),
                              failed=len(failed), missing=len(selected) - len(by_id))
    record.timings["predict"] = round(predict_s, 4)
    for k, v in sorted(stage.items()):
        record.timings[f"stage.{k}"] = round(v, 4)
    record.trace_totals = {k: round(v, 6) for k, v in sorted(totals.items())}
    record.errors = [RunError(id=p.id, error=p.error or "")
                     for p in failed[:MAX_ERRORS_IN_RECORD]]


def _score_into(run_dir: RunDir, record: RunRecord, bench: Benchmark, preds: list[Prediction],
                tau: float, n_resamples: int, seed: int) -> Scores:
    from muie_bench.metrics.evaluate import score

    t = time.perf_counter()
    selected = {i.id for i in bench.instances}
    scores, inst_scores = score(bench, [p for p in preds if p.id in selected], tau=tau,
                                n_resamples=n_resamples, seed=seed)
    run_dir.write_scores(scores, inst_scores)
    record.timings["score"] = round(time.perf_counter() - t, 4)
    record.scored_predictions_bytes = run_dir.predictions_size()
    return scores


def score_run(run_dir: RunDir | Path, tau: float = 0.5, n_resamples: int = 1000, seed: int = 0
              ) -> Scores:
    """Re-score a run directory from its predictions.jsonl; updates run.json's counts.

    The benchmark is found from run.json (its path, else its name) and must have the
    sha256 the run was made on; the selection is re-applied to it.
    """
    check_scoring_options(tau, n_resamples, seed)
    rd = run_dir if isinstance(run_dir, RunDir) else RunDir.open(run_dir)
    with rd.lock():
        record = rd.record()
        bench = rd.benchmark(record, selected=True)
        preds = rd.predictions()
        _summarise(record, bench, preds)
        if record.status == "complete" and record.counts.missing:
            record.status = "interrupted"
        scores = _score_into(rd, record, bench, preds, tau, n_resamples, seed)
        rd.write_record(record)
    return scores


# --------------------------------------------------------------------------- progress


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
