"""Compare two runs on the same benchmark: per set and metric, B - A with its paired
bootstrap p-value (instances resampled jointly; :func:`muie_bench.metrics.stats.paired_bootstrap`).

Only instances present in both runs' ``instance_scores.jsonl`` are paired; the metrics
compared are the paper's columns of each set (plus ``grounded_f1`` when both report it).
"""

from __future__ import annotations

from dataclasses import dataclass

from muie_bench.errors import UserError
from muie_bench.paper_sets import columns_for, modality_label
from muie_bench.run.files import RunDir
from muie_bench.schema import InstanceScore, RunRecord, Scores


@dataclass
class Comparison:
    set: str
    modalities: str
    metric: str
    a: float | None
    b: float | None
    diff: float
    p_value: float
    paired: int


@dataclass
class CompareResult:
    a: RunRecord
    b: RunRecord
    rows: list[Comparison]
    notes: list[str]


def _load(run: RunDir) -> tuple[RunRecord, Scores, list[InstanceScore]]:
    rec = run.record()
    if not run.has_scores():
        raise UserError(f"{run.path}: not scored yet (run `muie-bench score {run.path}`)")
    return rec, run.scores(), run.instance_scores()


def compare_runs(a: RunDir, b: RunDir, n_resamples: int = 1000, seed: int = 0) -> CompareResult:
    """Per set and metric: A's and B's values, B - A in points and its p-value."""
    from muie_bench.metrics.stats import paired_bootstrap

    ra, sa, ia = _load(a)
    rb, sb, ib = _load(b)
    sha_a, sha_b = ra.benchmark.sha256, rb.benchmark.sha256
    if sha_a != sha_b:
        raise UserError(
            f"{b.path}: made on benchmark {rb.benchmark.name} ({sha_b[:12]}…), "
            f"{a.path} on {ra.benchmark.name} ({sha_a[:12]}…): not comparable"
        )
    notes: list[str] = []
    rows: list[Comparison] = []
    for sid, ssa in sa.sets.items():
        ssb = sb.sets.get(sid)
        if ssb is None:
            notes.append(f"set {sid}: only in A")
            continue
        xa = [s for s in ia if s.set == sid]
        xb = [s for s in ib if s.set == sid]
        common = {s.id for s in xa} & {s.id for s in xb}
        if len(common) < max(len(xa), len(xb)):
            notes.append(f"set {sid}: {len(common)} instances in both runs "
                         f"(A has {len(xa)}, B has {len(xb)}); only those are paired")
        xa = sorted((s for s in xa if s.id in common), key=lambda s: s.id)
        xb = sorted((s for s in xb if s.id in common), key=lambda s: s.id)
        if not common:
            continue
        metrics = list(columns_for(sid, ssa.task, ssa.modalities))
        if "grounded_f1" in ssa.metrics and "grounded_f1" in ssb.metrics:
            metrics.append("grounded_f1")
        for m in metrics:
            if m not in ssa.metrics and m not in ssb.metrics:
                continue
            diff, p = paired_bootstrap(xa, xb, sid, m, n_resamples=n_resamples, seed=seed)
            va, vb = ssa.metrics.get(m), ssb.metrics.get(m)
            rows.append(Comparison(
                set=sid, modalities=modality_label(ssa.modalities), metric=m,
                a=None if va is None else va.value, b=None if vb is None else vb.value,
                diff=diff, p_value=p, paired=len(common),
            ))
    notes += [f"set {sid}: only in B" for sid in sb.sets if sid not in sa.sets]
    return CompareResult(ra, rb, rows, notes)
