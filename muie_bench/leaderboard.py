"""Many runs -> leaderboard tables in the paper's layout (Markdown, CSV, HTML, PNG).

Inputs are only ``run.json`` and ``scores.json`` of the run directories found under a
runs folder, plus the paper's published numbers in ``benchmark_data/reported/``.

- Rows are grouped by benchmark (name, version, sha256 of instances.jsonl): rows from
  different benchmarks are never in the same table. Reported rows are their own group,
  labelled "reported (MUIE-Bench, paper)", and their values are the published strings.
- One row per system preset and settings fingerprint: of its runs, the complete one with
  the most instances, then the most recently started.
- Tables: T+I and I, T+A and A, T+V and V, mixed (T+I+A, I+A, V+A), sets outside the paper,
  and an overall table (measured rows sorted by ``avg``, reported rows in the paper's order).
  Overall: per metric the macro average over the row's sets, ``avg``
  = mean of all the row's cells, ``mean rank`` = mean over cells of the row's rank among
  the group's rows having that cell (1 = best, ties share the mean rank).
- Cells show the value with its 95 % bootstrap CI; a run that is not complete, or has
  failed instances, or covers a subset is flagged.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from muie_bench.benchmark import data_dir
from muie_bench.errors import UserError
from muie_bench.paper_sets import COLUMN_TITLES, PAPER_SET_BY_ID, columns_for, modality_label
from muie_bench.schema import RunRecord, Scores

REPORTED_LABEL = "reported (MUIE-Bench, paper)"
DEFAULT_OUT = Path("results/leaderboard")

#: the paper's tables: title, set ids in column order
LAYOUT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("T+I and I", ("ti-ner", "ti-re", "ti-ee", "i-ner", "i-re", "i-ee")),
    ("T+A and A", ("ta-ner", "ta-re", "a-ner", "a-re")),
    ("T+V and V", ("tv-ee", "v-ee")),
    ("Mixed: T+I+A, I+A, V+A", ("tia-ner", "ia-re", "va-ee")),
)
METRIC_ORDER = ("f1", "et", "ea", "i_seg", "a_seg", "v_trck")


@dataclass
class Cell:
    value: float | None
    ci: tuple[float, float] | None = None
    text: str | None = None  # verbatim published string (reported rows)

    def show(self, with_ci: bool = True) -> str:
        if self.value is None:
            return "–"
        base = self.text if self.text is not None else f"{self.value:.1f}"
        if with_ci and self.ci is not None:
            return f"{base} ({self.ci[0]:.1f}–{self.ci[1]:.1f})"
        return base


@dataclass
class SetInfo:
    id: str
    modalities: tuple[str, ...]
    task: str
    columns: tuple[str, ...]

    @property
    def title(self) -> str:
        paper = PAPER_SET_BY_ID.get(self.id)
        src = f" · {paper.source}" if paper else ""
        return f"{modality_label(list(self.modalities))}{src} ({self.id})"  # type: ignore[arg-type]


@dataclass
class Row:
    system: str
    cells: dict[tuple[str, str], Cell]
    reported: bool = False
    kind: str = ""
    fingerprint: str = ""
    run_id: str = ""
    run_dir: str = ""
    status: str = ""
    flags: list[str] = field(default_factory=list)
    macro: dict[str, Cell] = field(default_factory=dict)
    avg: float | None = None
    mean_rank: float | None = None

    @property
    def label(self) -> str:
        return self.system + (" ⚠" if self.flags else "")


@dataclass
class Group:
    """Rows measured on one benchmark (or the reported rows)."""

    title: str
    benchmark: dict[str, str]
    sets: dict[str, SetInfo]
    rows: list[Row]
    reported: bool = False
    unscored: list[str] = field(default_factory=list)

    def tables(self) -> list[tuple[str, list[SetInfo]]]:
        """The paper's tables restricted to the sets some row has, then the other sets."""
        present = {s for r in self.rows for (s, _m) in r.cells}
        out: list[tuple[str, list[SetInfo]]] = []
        used: set[str] = set()
        for title, ids in LAYOUT:
            sets = [self.sets[i] for i in ids if i in self.sets and i in present]
            used.update(ids)
            if sets:
                out.append((title, sets))
        other = [s for sid, s in self.sets.items() if sid not in used and sid in present]
        if other:
            out.append(("Other sets", other))
        return out


@dataclass
class Leaderboard:
    groups: list[Group]
    runs_dir: str

    def measured(self) -> list[Group]:
        return [g for g in self.groups if not g.reported]


# --------------------------------------------------------------------------- loading


def load_reported(path: Path | None = None) -> Group:
    """The paper's published rows (benchmark_data/reported/muie-bench-paper.json)."""
    path = path or data_dir() / "reported" / "muie-bench-paper.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
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
    _finish(group)
    return group


def _scored_runs(runs_dir: Path) -> tuple[list[tuple[RunRecord, Scores, Path]], list[Path]]:
    scored: list[tuple[RunRecord, Scores, Path]] = []
    unscored: list[Path] = []
    for p in sorted(runs_dir.rglob("run.json")):
        d = p.parent
        try:
            rec = RunRecord.model_validate_json(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise UserError(f"{p}:1: (run record): {str(e).splitlines()[0]}") from None
        sp = d / "scores.json"
        if not sp.is_file():
            unscored.append(d)
            continue
        try:
            sc = Scores.model_validate_json(sp.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise UserError(f"{sp}:1: (scores): {str(e).splitlines()[0]}") from None
        scored.append((rec, sc, d))
    return scored, unscored


def _row_of(rec: RunRecord, sc: Scores, d: Path) -> Row:
    cells: dict[tuple[str, str], Cell] = {}
    for sid, ss in sc.sets.items():
        for m in columns_for(sid, ss.task, ss.modalities):
            mv = ss.metrics.get(m)
            if mv is None:
                continue
            ci = (mv.ci_low, mv.ci_high) if mv.ci_low is not None and mv.ci_high is not None else None
            cells[(sid, m)] = Cell(mv.value, ci)
    flags: list[str] = []
    counts = rec.counts
    if rec.status != "complete" or counts.get("missing", 0):
        flags.append(
            f"incomplete: {rec.status}, {counts.get('done', 0) + counts.get('failed', 0)}"
            f"/{counts.get('total', '?')} predicted"
        )
    if counts.get("failed", 0):
        flags.append(f"{counts['failed']} instance(s) failed")
    sel = {k: v for k, v in rec.selection.items() if k != "instances" and v}
    if sel:
        flags.append("subset: " + ", ".join(f"{k}={v}" for k, v in sel.items()))
    macro: dict[str, Cell] = {}
    for m, mv in sc.macro.items():
        if m in METRIC_ORDER:
            ci = (mv.ci_low, mv.ci_high) if mv.ci_low is not None and mv.ci_high is not None else None
            macro[m] = Cell(mv.value, ci)
    return Row(
        system=rec.system.name, cells=cells, kind=rec.system.kind,
        fingerprint=rec.system.fingerprint, run_id=rec.run_id, run_dir=str(d),
        status=rec.status, flags=flags, macro=macro,
    )


def _better(a: tuple[RunRecord, Scores, Path], b: tuple[RunRecord, Scores, Path]) -> bool:
    """Is run ``a`` preferred over ``b`` for the same system row."""
    def key(x: tuple[RunRecord, Scores, Path]) -> tuple[int, int, str, str]:
        rec = x[0]
        return (int(rec.status == "complete"), rec.counts.get("total", 0), rec.started, rec.run_id)

    return key(a) > key(b)


def collect(runs_dir: Path) -> list[Group]:
    """Measured groups (one per benchmark) from the run directories under ``runs_dir``."""
    scored, unscored = _scored_runs(runs_dir) if runs_dir.is_dir() else ([], [])
    by_bench: dict[tuple[str, str, str], dict[tuple[str, str], tuple[RunRecord, Scores, Path]]] = {}
    for item in scored:
        rec = item[0]
        bkey = (rec.benchmark.get("name", "?"), rec.benchmark.get("version", "?"),
                rec.benchmark.get("sha256", ""))
        skey = (rec.system.name, rec.system.fingerprint)
        slot = by_bench.setdefault(bkey, {})
        if skey not in slot or _better(item, slot[skey]):
            slot[skey] = item
    groups: list[Group] = []
    for (name, version, sha), runs in sorted(by_bench.items()):
        sets: dict[str, SetInfo] = {}
        rows: list[Row] = []
        names = [k[0] for k in runs]
        for (sys_name, fp), (rec, sc, d) in runs.items():
            row = _row_of(rec, sc, d)
            if names.count(sys_name) > 1:
                row.system = f"{sys_name} [{fp[:6]}]"
            rows.append(row)
            for sid, ss in sc.sets.items():
                sets.setdefault(sid, SetInfo(sid, tuple(ss.modalities), ss.task,
                                             columns_for(sid, ss.task, ss.modalities)))
        title = f"Measured on {name} {version} (instances sha256 {sha[:12]})"
        group = Group(title=title, benchmark={"name": name, "version": version, "sha256": sha},
                      sets=sets, rows=rows)
        group.unscored = [
            str(d) for d in unscored
            if _bench_of(d) == (name, version, sha)
        ]
        _finish(group)
        groups.append(group)
    return groups


def _bench_of(run_dir: Path) -> tuple[str, str, str]:
    try:
        b = json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("benchmark", {})
    except (OSError, json.JSONDecodeError):
        return ("", "", "")
    return (b.get("name", "?"), b.get("version", "?"), b.get("sha256", ""))


def _finish(group: Group) -> None:
    """Fill macro (when absent), avg and mean rank of every row; sort rows by avg."""
    for r in group.rows:
        if not r.macro:
            for m in METRIC_ORDER:
                vals = [c.value for (_s, mm), c in r.cells.items() if mm == m and c.value is not None]
                if vals:
                    r.macro[m] = Cell(sum(vals) / len(vals))
        vals = [c.value for c in r.cells.values() if c.value is not None]
        r.avg = sum(vals) / len(vals) if vals else None
    ranks: dict[int, list[float]] = {id(r): [] for r in group.rows}
    all_cells = {k for r in group.rows for k, c in r.cells.items() if c.value is not None}
    for k in all_cells:
        having = [(r.cells[k].value, r) for r in group.rows
                  if k in r.cells and r.cells[k].value is not None]
        for v, r in having:
            better = sum(1 for w, _ in having if w is not None and v is not None and w > v)
            equal = sum(1 for w, _ in having if w == v)
            ranks[id(r)].append(better + (equal + 1) / 2)
    for r in group.rows:
        rs = ranks[id(r)]
        r.mean_rank = sum(rs) / len(rs) if rs else None
    if not group.reported:  # reported rows keep the paper's order
        group.rows.sort(key=lambda r: (-(r.avg if r.avg is not None else -1.0), r.system))


def build(runs_dir: Path, reported_path: Path | None = None, with_reported: bool = True
          ) -> Leaderboard:
    groups = collect(runs_dir)
    if with_reported:
        groups.append(load_reported(reported_path))
    return Leaderboard(groups=groups, runs_dir=str(runs_dir))


# --------------------------------------------------------------------------- rendering


def column_header(s: SetInfo, m: str) -> str:
    return f"{s.id} {COLUMN_TITLES.get(m, m)}"


#: the paper publishes no overall table: say that this one is derived here
REPORTED_OVERALL_NOTE = (
    "Derived here from the paper's reported cells (macro average over the sets each system "
    "reports, mean rank among the systems reporting each cell); the paper publishes no such table."
)


def overall_metrics(group: Group) -> list[str]:
    return [m for m in METRIC_ORDER if any(m in r.macro for r in group.rows)]


def table_rows(group: Group, sets: list[SetInfo], with_ci: bool = True) -> list[list[str]]:
    out = []
    for r in group.rows:
        if not any((s.id, m) in r.cells for s in sets for m in s.columns):
            continue
        out.append([r.label] + [
            r.cells.get((s.id, m), Cell(None)).show(with_ci) for s in sets for m in s.columns
        ])
    return out


def overall_rows(group: Group, with_ci: bool = True) -> list[list[str]]:
    ms = overall_metrics(group)
    out = []
    for r in group.rows:
        cells = [r.macro.get(m, Cell(None)).show(with_ci) for m in ms]
        avg = "–" if r.avg is None else f"{r.avg:.1f}"
        rank = "–" if r.mean_rank is None else f"{r.mean_rank:.2f}"
        out.append([r.label, *cells, avg, rank, str(sum(1 for c in r.cells.values()
                                                        if c.value is not None))])
    return out


def overall_header(group: Group) -> list[str]:
    return ["system"] + [f"macro {COLUMN_TITLES[m]}" for m in overall_metrics(group)] + [
        "avg", "mean rank", "cells"]


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def esc(x: str) -> str:
        return x.replace("|", "\\|")

    lines = ["| " + " | ".join(esc(h) for h in header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(lb: Leaderboard, images: dict[str, str] | None = None) -> str:
    """The leaderboard as Markdown; ``images`` maps a table key to a PNG file name."""
    out = [
        "# muie-bench leaderboard",
        "",
        f"Measured rows come from the runs under `{lb.runs_dir}`; cells are percent with the "
        "95 % bootstrap confidence interval in parentheses. ⚠ marks a run that is incomplete, "
        "has failed instances or covers a subset (see the notes under each group). "
        f"Rows labelled **{REPORTED_LABEL}** are the paper's published numbers, verbatim, "
        "measured on the paper's test set: they are shown in their own tables and are not "
        "comparable cell by cell with runs on another benchmark.",
    ]
    for g in lb.groups:
        out += ["", f"## {g.title}", ""]
        for title, sets in g.tables():
            out += [f"### {title}", ""]
            header = ["system"] + [column_header(s, m) for s in sets for m in s.columns]
            out += [_md_table(header, table_rows(g, sets, with_ci=not g.reported)), ""]
        out += ["### Overall", ""]
        if g.reported:
            out += [REPORTED_OVERALL_NOTE, ""]
        out += [_md_table(overall_header(g), overall_rows(g, with_ci=not g.reported)), ""]
        if images and f"{group_key(g)}/Overall" in images:
            out += [f"![{g.title}]({images[f'{group_key(g)}/Overall']})", ""]
        notes = [f"- **{r.system}**: " + "; ".join(r.flags) for r in g.rows if r.flags]
        notes += [f"- not scored yet (run `muie-bench score {d}`): `{d}`" for d in g.unscored]
        if not g.reported:
            notes += [f"- {r.system}: run `{r.run_id}` ({r.kind}, fingerprint {r.fingerprint})"
                      for r in g.rows]
        if notes:
            out += ["Notes:", "", *notes, ""]
    return "\n".join(out).rstrip() + "\n"


def group_key(g: Group) -> str:
    if g.reported:
        return "reported-paper"
    b = g.benchmark
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in
                   f"{b.get('name', '')}-{b.get('version', '')}-{b.get('sha256', '')[:8]}")


def write_csv(lb: Leaderboard, path: Path) -> None:
    """Long format: one line per (group, system, set, metric) cell, plus the overall cells."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["group", "source", "benchmark", "benchmark_sha256", "system", "run_id",
                    "status", "flags", "table", "set", "modalities", "metric", "value",
                    "ci_low", "ci_high", "value_text"])
        for g in lb.groups:
            src = REPORTED_LABEL if g.reported else "measured"
            bname = g.benchmark.get("name", "")
            bsha = g.benchmark.get("sha256", "")
            for r in g.rows:
                base = [g.title, src, bname, bsha, r.system, r.run_id, r.status, "; ".join(r.flags)]
                for title, sets in g.tables():
                    for s in sets:
                        mods = modality_label(list(s.modalities))  # type: ignore[arg-type]
                        for m in s.columns:
                            c = r.cells.get((s.id, m))
                            if c is not None:
                                w.writerow([*base, title, s.id, mods, m, *_csv_vals(c)])
                for m, c in r.macro.items():
                    w.writerow([*base, "Overall", "", "", f"macro_{m}", *_csv_vals(c)])
                for name, v in (("avg", r.avg), ("mean_rank", r.mean_rank)):
                    if v is not None:
                        w.writerow([*base, "Overall", "", "", name, f"{v:.4f}", "", "", ""])


def _csv_vals(c: Cell) -> list[str]:
    v = "" if c.value is None else f"{c.value:.4f}"
    lo, hi = ("", "") if c.ci is None else (f"{c.ci[0]:.4f}", f"{c.ci[1]:.4f}")
    return [v, lo, hi, c.text or ""]


def write_leaderboard(runs_dir: Path, out_dir: Path = DEFAULT_OUT,
                      reported_path: Path | None = None, plots: bool = True) -> dict[str, Any]:
    """Write leaderboard.md/.csv/.html and the PNG charts; returns paths and the model."""
    from muie_bench.leaderboard_html import to_html

    lb = build(runs_dir, reported_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    images: dict[str, str] = {}
    if plots:
        from muie_bench.leaderboard_plots import write_plots

        images = write_plots(lb, out_dir)
    md = to_markdown(lb, images)
    (out_dir / "leaderboard.md").write_text(md, encoding="utf-8")
    write_csv(lb, out_dir / "leaderboard.csv")
    (out_dir / "leaderboard.html").write_text(to_html(lb, out_dir, images), encoding="utf-8")
    return {"leaderboard": lb, "markdown": md, "dir": out_dir, "images": images}
