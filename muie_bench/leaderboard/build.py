"""Build the leaderboard model from run directories and the paper's reported numbers.

- Rows are grouped by benchmark (name, version, sha256 of instances.jsonl): rows from
  different benchmarks are never in the same group. Reported rows are their own group and
  their values are the published strings.
- One row per system preset and settings fingerprint: of its runs, the complete one with
  the most instances, then the most recently started (then the larger run id). A name
  measured with several fingerprints gets ``[<fingerprint[:6]>]`` appended.
- Flags: a run that is not complete (or has missing instances), has failed instances, or
  covers a subset (any selection but ``instances``).
"""

from __future__ import annotations

import json
from pathlib import Path

from muie_bench.benchmark import data_dir
from muie_bench.errors import UserError
from muie_bench.leaderboard.model import (
    METRIC_ORDER,
    REPORTED_LABEL,
    Cell,
    Group,
    Leaderboard,
    Row,
    SetInfo,
)
from muie_bench.leaderboard.runs import RunFiles, read_runs
from muie_bench.paper_sets import PAPER_SET_BY_ID, columns_for
from muie_bench.schema import MetricValue, RunRecord, Scores


def load_reported(path: Path | None = None) -> Group:
    """The paper's published rows (benchmark_data/reported/muie-bench-paper.json)."""
    path = path or data_dir() / "reported" / "muie-bench-paper.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: cannot read the reported numbers ({e})") from None
    rows: list[Row] = []
    for r in doc["rows"]:
        cells: dict[tuple[str, str], Cell] = {}
        for sid, metrics in r["sets"].items():
            for m, text in metrics.items():
                cells[(sid, m)] = Cell(None if text is None else float(text), None, text)
        rows.append(Row(system=r["system"], cells=cells, reported=True))
    sets = {
        s.id: SetInfo(s.id, s.modalities, s.task, s.columns) for s in PAPER_SET_BY_ID.values()
    }
    title = f"{doc.get('label', REPORTED_LABEL)} — {doc.get('setting', '')}, %, the paper's test set"
    group = Group(title=title, benchmark={"name": "MUIE-Bench (paper)"}, sets=sets, rows=rows,
                  reported=True)
    group.finish()
    return group


def _cell(mv: MetricValue) -> Cell:
    ci = (mv.ci_low, mv.ci_high) if mv.ci_low is not None and mv.ci_high is not None else None
    return Cell(mv.value, ci)


def _flags(rec: RunRecord) -> list[str]:
    flags: list[str] = []
    counts = rec.counts
    if rec.status != "complete" or counts.missing:
        flags.append(
            f"incomplete: {rec.status}, {counts.done + counts.failed}"
            f"/{counts.total} predicted"
        )
    if counts.failed:
        flags.append(f"{counts.failed} instance(s) failed")
    sel = {k: v for k, v in rec.selection.model_dump().items()
           if k != "instances" and v}
    if sel:
        flags.append("subset: " + ", ".join(f"{k}={v}" for k, v in sel.items()))
    return flags


def _row_of(rec: RunRecord, sc: Scores, d: Path) -> Row:
    cells: dict[tuple[str, str], Cell] = {}
    for sid, ss in sc.sets.items():
        for m in columns_for(sid, ss.task, ss.modalities):
            mv = ss.metrics.get(m)
            if mv is not None:
                cells[(sid, m)] = _cell(mv)
    macro = {m: _cell(mv) for m, mv in sc.macro.items() if m in METRIC_ORDER}
    return Row(
        system=rec.system.name, cells=cells, kind=rec.system.kind,
        fingerprint=rec.system.fingerprint, run_id=rec.run_id, run_dir=str(d),
        status=rec.status, flags=_flags(rec), macro=macro,
    )


def _preference(run: RunFiles) -> tuple[int, int, str, str]:
    """Larger is preferred among the runs of one system row."""
    rec = run.record
    return (int(rec.status == "complete"), rec.counts.total, rec.started, rec.run_id)


def _bench_key(rec: RunRecord) -> tuple[str, str, str]:
    b = rec.benchmark
    return (b.name, b.version, b.sha256)


def collect(runs: list[RunFiles]) -> list[Group]:
    """Measured groups (one per benchmark, sorted by name, version, sha256) of ``runs``."""
    by_bench: dict[tuple[str, str, str], dict[tuple[str, str], RunFiles]] = {}
    for run in runs:
        if run.scores is None:
            continue
        skey = (run.record.system.name, run.record.system.fingerprint)
        slot = by_bench.setdefault(_bench_key(run.record), {})
        if skey not in slot or _preference(run) > _preference(slot[skey]):
            slot[skey] = run
    groups: list[Group] = []
    for (name, version, sha), chosen in sorted(by_bench.items()):
        sets: dict[str, SetInfo] = {}
        rows: list[Row] = []
        names = [k[0] for k in chosen]
        for (sys_name, fp), run in chosen.items():
            assert run.scores is not None
            row = _row_of(run.record, run.scores, run.dir)
            if names.count(sys_name) > 1:
                row.system = f"{sys_name} [{fp[:6]}]"
            rows.append(row)
            for sid, ss in run.scores.sets.items():
                sets.setdefault(sid, SetInfo(sid, tuple(ss.modalities), ss.task,
                                             columns_for(sid, ss.task, ss.modalities)))
        group = Group(title=f"Measured on {name} {version} (instances sha256 {sha[:12]})",
                      benchmark={"name": name, "version": version, "sha256": sha},
                      sets=sets, rows=rows)
        group.unscored = [str(r.dir) for r in runs
                          if r.scores is None and _bench_key(r.record) == (name, version, sha)]
        group.finish()
        groups.append(group)
    return groups


def build(runs_dir: Path, reported_path: Path | None = None, with_reported: bool = True
          ) -> Leaderboard:
    """The leaderboard of the runs under ``runs_dir`` (an existing folder), then the reported
    rows."""
    groups = collect(read_runs(runs_dir))
    if with_reported:
        groups.append(load_reported(reported_path))
    return Leaderboard(groups=groups, runs_dir=str(runs_dir))
