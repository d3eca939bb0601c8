"""Merge shard runs (``muie-bench run --shard i/n``) into one run directory.

The shards must share the system (name and settings fingerprint), the benchmark sha256,
the selection (sets, modalities, tasks, limit) and the shard count ``n``. Refused, with
one line:

- an overlap: two runs of the same shard ``i/n``, or one instance predicted in two runs;
- a gap: a shard ``i/n`` no run covers, or an instance of the selection with no
  prediction (a shard that stopped early), unless ``allow_missing`` (then the gaps are
  reported and the merged run says ``interrupted`` with ``counts.missing``).

The merged run is a new run directory, created through :class:`RunsFolder` (atomic
creation, locked), holding the shards' prediction lines unchanged, in benchmark order. Its
resume key is that of the same selection without a shard, so ``muie-bench run`` without
``--shard`` finds it: complete, it is not predicted again; merged with gaps, that command
predicts just the missing instances into it. The shard runs are read under their locks
and left unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from muie_bench.errors import UserError
from muie_bench.run.files import RunDir, RunsFolder
from muie_bench.run.spec import RunSpec, SelectionSpec, Shard
from muie_bench.schema import MergedShard, Prediction, RunRecord, Scores


@dataclass
class MergeResult:
    run: RunDir
    record: RunRecord
    scores: Scores | None
    missing_shards: list[str]
    missing_ids: list[str]


@dataclass
class _ShardRun:
    rd: RunDir
    record: RunRecord
    spec: SelectionSpec
    shard: Shard


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _open_shard(path: Path) -> _ShardRun:
    rd = RunDir.open(path)
    record = rd.record()
    spec = SelectionSpec.of_record(record.selection)
    if spec.shard is None:
        raise UserError(f"{rd.run_json}:1: selection.shard: not a shard run "
                        "(made without `run --shard i/n`)")
    return _ShardRun(rd, record, spec, spec.shard)


def _check_same(first: _ShardRun, other: _ShardRun) -> None:
    """One line naming the first field in which ``other`` differs from ``first``."""
    a, b = first.record, other.record
    checks = [
        ("system.name", a.system.name, b.system.name),
        ("system.fingerprint", a.system.fingerprint, b.system.fingerprint),
        ("benchmark.sha256", a.benchmark.sha256, b.benchmark.sha256),
        ("selection", first.spec.whole().as_dict(), other.spec.whole().as_dict()),
        ("selection.shard", f"i/{first.shard.count}", f"i/{other.shard.count}"),
    ]
    for field, va, vb in checks:
        if va != vb:
            raise UserError(f"{other.rd.run_json}:1: {field}: {vb} differs from {va} "
                            f"of {first.rd.path} (not shards of one run)")


def merge_runs(paths: Sequence[Path | str], out: Path | None = None, allow_missing: bool = False,
               score: bool = True, tau: float = 0.5, n_resamples: int = 1000, seed: int = 0,
               argv: Sequence[str] = ()) -> MergeResult:
    """Merge shard runs into a new run directory; see the module doc.

    ``out`` is a runs folder (the run lands in ``<out>/<benchmark>/<system>/``); by default
    the merged run is created next to the first shard.
    """
    from muie_bench.provenance import redact_argv
    from muie_bench.run.runner import _score_into, _summarise, check_scoring_options

    if not paths:
        raise UserError("merge: give the shard run directories to merge")
    if score:
        check_scoring_options(tau, n_resamples, seed)
    seen: dict[Path, Path] = {}
    for p in paths:
        real = Path(p).resolve()
        if real in seen:
            raise UserError(f"merge: {p} is given twice")
        seen[real] = Path(p)
    shards = [_open_shard(Path(p)) for p in paths]
    first = shards[0]
    for s in shards[1:]:
        _check_same(first, s)
    by_index: dict[int, _ShardRun] = {}
    for s in shards:
        if s.shard.index in by_index:
            raise UserError(f"merge: overlap: {by_index[s.shard.index].rd.path} and {s.rd.path} "
                            f"are both shard {s.shard}")
        by_index[s.shard.index] = s
    count = first.shard.count
    missing_shards = [f"{i}/{count}" for i in range(count) if i not in by_index]

    with ExitStack() as stack:
        for s in shards:  # a shard still being predicted is refused (in use)
            stack.enter_context(s.rd.lock())
        t0 = time.perf_counter()
        whole = first.spec.whole()
        full = first.rd.benchmark(first.record)
        bench = full.filter(whole.sets, whole.modalities, whole.tasks, limit=whole.limit)
        selected = {i.id for i in bench.instances}
        lines: dict[str, str] = {}
        owner: dict[str, RunDir] = {}
        preds: dict[str, Prediction] = {}
        for s in shards:
            for pred, line in s.rd.prediction_lines():
                if pred.id not in selected or not s.shard.contains(pred.id):
                    raise UserError(f"{s.rd.predictions_path}: id: {pred.id!r} is not an instance "
                                    f"of shard {s.shard} of the selection")
                if pred.id in owner and owner[pred.id] != s.rd:
                    raise UserError(f"merge: overlap: {pred.id!r} is predicted in both "
                                    f"{owner[pred.id].path} and {s.rd.path}")
                owner[pred.id] = s.rd
                lines[pred.id] = line
                preds[pred.id] = pred
        missing_ids = [i.id for i in bench.instances if i.id not in lines]
        if missing_ids and not allow_missing:
            what = (f"shard(s) {', '.join(missing_shards)} not given; " if missing_shards else "")
            raise UserError(f"merge: gap: {what}{len(missing_ids)} of {len(bench)} instance(s) have "
                            f"no prediction (first: {missing_ids[0]!r}); pass --allow-missing to "
                            "merge anyway")

        spec = RunSpec(first.record.system.name, first.record.system.fingerprint,
                       first.record.benchmark.sha256, whole)
        folder = (RunsFolder(first.rd.path.parent) if out is None
                  else RunsFolder.under(out, first.record.benchmark.name, first.record.system.name))

        def new_record(run_id: str) -> RunRecord:
            base = first.record
            return RunRecord(
                run_id=run_id, argv=redact_argv(list(argv)), system=base.system,
                benchmark=base.benchmark, selection=whole.record(len(bench)), git=base.git,
                packages=base.packages, host=base.host,
                started=min(s.record.started for s in shards), resume_key=spec.key(),
                merged_from=[MergedShard(shard=str(s.shard), run_id=s.record.run_id,
                                         path=str(s.rd.path.resolve()),
                                         host=s.record.host.get("hostname"))
                             for s in sorted(shards, key=lambda s: s.shard.index)],
            )

        run_dir, lock, _ = folder.open_or_create(None, spec.fingerprint, new_record)
        stack.callback(lock.release)
        record = run_dir.record()
        with run_dir.writer() as writer:
            for inst in bench.instances:
                if inst.id in lines:
                    writer.write_line(lines[inst.id])
        ordered = [preds[i.id] for i in bench.instances if i.id in preds]
        _summarise(record, bench, ordered)
        for key in ("load", "wall_predict"):  # the shards ran side by side: the longest
            vals = [s.record.timings[key] for s in shards if key in s.record.timings]
            if vals:
                record.timings[key] = max(vals)
        record.timings["merge"] = round(time.perf_counter() - t0, 4)
        record.status = "complete" if record.counts.missing == 0 else "interrupted"
        record.ended = _now()
        scores = (_score_into(run_dir, record, bench, ordered, tau, n_resamples, seed)
                  if score else None)
        run_dir.write_record(record)
    return MergeResult(run_dir, record, scores, missing_shards, missing_ids)

