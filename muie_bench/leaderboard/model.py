"""The leaderboard model: cells, rows, groups, tables, and the text every renderer shows.

Renderers (Markdown, CSV, HTML, charts, terminal) only lay this model out; no wording or
number is decided in a renderer. Definitions:

- a :class:`Group` holds the rows measured on one benchmark (or the paper's reported rows);
- a :class:`Table` is one of the paper's tables restricted to the sets some row of the group
  has, with the rows having at least one of its cells;
- per row: ``macro[m]`` = the macro average of metric ``m`` over the row's sets (from
  scores.json; for reported rows the mean of the row's cells of ``m``), ``avg`` = mean of all
  the row's cells, ``mean_rank`` = mean over cells of the row's rank among the group's rows
  having that cell (1 = best, ties share the mean rank).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from muie_bench.paper_sets import COLUMN_TITLES, PAPER_SET_BY_ID, modality_label

REPORTED_LABEL = "reported (MUIE-Bench, paper)"

#: the paper's tables: title, set ids in column order
LAYOUT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("T+I and I", ("ti-ner", "ti-re", "ti-ee", "i-ner", "i-re", "i-ee")),
    ("T+A and A", ("ta-ner", "ta-re", "a-ner", "a-re")),
    ("T+V and V", ("tv-ee", "v-ee")),
    ("Mixed: T+I+A, I+A, V+A", ("tia-ner", "ia-re", "va-ee")),
)
OTHER_SETS = "Other sets"
OVERALL = "Overall"
METRIC_ORDER = ("f1", "et", "ea", "i_seg", "a_seg", "v_trck")


# --------------------------------------------------------------------------- text


@dataclass(frozen=True)
class Span:
    """A piece of running text: ``plain``, ``code`` (a path, a command) or ``bold``."""

    text: str
    style: Literal["plain", "code", "bold"] = "plain"


Text = tuple[Span, ...]


def plain_text(text: Text) -> str:
    return "".join(s.text for s in text)


def intro(runs_dir: str, ci_where: str) -> Text:
    """The paragraph under the title; ``ci_where`` says where a renderer puts the CI
    ("in parentheses" or "below")."""
    return (
        Span("Measured rows come from the runs under "), Span(runs_dir, "code"),
        Span("; cells are percent with the 95 % bootstrap confidence interval "
             f"{ci_where}. ⚠ marks a run that is incomplete, has failed instances or covers a "
             "subset (see the notes under each group). Rows labelled "),
        Span(REPORTED_LABEL, "bold"),
        Span(" are the paper's published numbers, verbatim, measured on the paper's test set: "
             "they are shown in their own tables and are not comparable cell by cell with runs "
             "on another benchmark."),
    )


#: the paper publishes no overall table: say that this one is derived here
REPORTED_OVERALL_NOTE = (
    "Derived here from the paper's reported cells (macro average over the sets each system "
    "reports, mean rank among the systems reporting each cell); the paper publishes no such table."
)


# --------------------------------------------------------------------------- cells, rows


@dataclass
class Cell:
    value: float | None
    ci: tuple[float, float] | None = None
    text: str | None = None  # verbatim published string (reported rows)

    def main(self) -> str:
        """The value as shown: the published string, else one decimal; "–" when absent."""
        if self.value is None:
            return "–"
        return self.text if self.text is not None else f"{self.value:.1f}"

    def show(self, with_ci: bool = True) -> str:
        """``value (low–high)``, or the value alone without a CI."""
        if with_ci and self.value is not None and self.ci is not None:
            return f"{self.main()} ({self.ci[0]:.1f}–{self.ci[1]:.1f})"
        return self.main()


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

    @property
    def modality_label(self) -> str:
        return modality_label(list(self.modalities))  # type: ignore[arg-type]


def column_header(s: SetInfo, m: str) -> str:
    return f"{s.id} {COLUMN_TITLES.get(m, m)}"


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

    @property
    def n_cells(self) -> int:
        return sum(1 for c in self.cells.values() if c.value is not None)


@dataclass
class Table:
    """One table of a group: its sets (in column order) and the rows having any of its cells."""

    title: str
    sets: list[SetInfo]
    rows: list[Row]

    @property
    def columns(self) -> list[tuple[SetInfo, str]]:
        return [(s, m) for s in self.sets for m in s.columns]

    def header(self) -> list[str]:
        return ["system"] + [column_header(s, m) for s, m in self.columns]

    def cell(self, row: Row, s: SetInfo, m: str) -> Cell:
        return row.cells.get((s.id, m), Cell(None))


@dataclass
class Group:
    """Rows measured on one benchmark (or the reported rows)."""

    title: str
    benchmark: dict[str, str]
    sets: dict[str, SetInfo]
    rows: list[Row]
    reported: bool = False
    unscored: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """A file-name-safe id of the group (chart file names)."""
        if self.reported:
            return "reported-paper"
        b = self.benchmark
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in
                       f"{b.get('name', '')}-{b.get('version', '')}-{b.get('sha256', '')[:8]}")

    @property
    def with_ci(self) -> bool:
        """Whether cells show CIs (reported rows have none)."""
        return not self.reported

    def tables(self) -> list[Table]:
        """The paper's tables restricted to the sets some row has, then the other sets."""
        present = {s for r in self.rows for (s, _m) in r.cells}
        chosen: list[tuple[str, list[SetInfo]]] = []
        used: set[str] = set()
        for title, ids in LAYOUT:
            sets = [self.sets[i] for i in ids if i in self.sets and i in present]
            used.update(ids)
            if sets:
                chosen.append((title, sets))
        other = [s for sid, s in self.sets.items() if sid not in used and sid in present]
        if other:
            chosen.append((OTHER_SETS, other))
        return [Table(title, sets, [r for r in self.rows
                                    if any((s.id, m) in r.cells for s in sets for m in s.columns)])
                for title, sets in chosen]

    def overall_metrics(self) -> list[str]:
        return [m for m in METRIC_ORDER if any(m in r.macro for r in self.rows)]

    def overall_header(self) -> list[str]:
        return ["system"] + [f"macro {COLUMN_TITLES[m]}" for m in self.overall_metrics()] + [
            "avg", "mean rank", "cells"]

    def overall_rows(self, with_ci: bool = True) -> list[list[str]]:
        """Per row: label, macro cells, avg (1 decimal), mean rank (2 decimals), cell count."""
        ms = self.overall_metrics()
        out = []
        for r in self.rows:
            cells = [r.macro.get(m, Cell(None)).show(with_ci) for m in ms]
            avg = "–" if r.avg is None else f"{r.avg:.1f}"
            rank = "–" if r.mean_rank is None else f"{r.mean_rank:.2f}"
            out.append([r.label, *cells, avg, rank, str(r.n_cells)])
        return out

    def overall_note(self) -> str | None:
        return REPORTED_OVERALL_NOTE if self.reported else None

    def notes(self) -> list[Text]:
        """Flags of flagged rows, runs not scored yet, and (measured groups) each row's run."""
        out: list[Text] = [(Span(r.system, "bold"), Span(": " + "; ".join(r.flags)))
                           for r in self.rows if r.flags]
        out += [(Span("not scored yet (run "), Span(f"muie-bench score {d}", "code"), Span("): "),
                 Span(d, "code")) for d in self.unscored]
        if not self.reported:
            out += [(Span(f"{r.system}: run "), Span(r.run_id, "code"),
                     Span(f" ({r.kind}, fingerprint {r.fingerprint})")) for r in self.rows]
        return out

    def finish(self) -> None:
        """Fill macro (when absent), avg and mean rank of every row; sort measured rows by avg
        (descending, then system name); reported rows keep the paper's order."""
        for r in self.rows:
            if not r.macro:
                for m in METRIC_ORDER:
                    vals = [c.value for (_s, mm), c in r.cells.items()
                            if mm == m and c.value is not None]
                    if vals:
                        r.macro[m] = Cell(sum(vals) / len(vals))
            vals = [c.value for c in r.cells.values() if c.value is not None]
            r.avg = sum(vals) / len(vals) if vals else None
        ranks: dict[int, list[float]] = {id(r): [] for r in self.rows}
        all_cells = {k for r in self.rows for k, c in r.cells.items() if c.value is not None}
        for k in all_cells:
            having = [(r.cells[k].value, r) for r in self.rows
                      if k in r.cells and r.cells[k].value is not None]
            for v, r in having:
                better = sum(1 for w, _ in having if w is not None and v is not None and w > v)
                equal = sum(1 for w, _ in having if w == v)
                ranks[id(r)].append(better + (equal + 1) / 2)
        for r in self.rows:
            rs = ranks[id(r)]
            r.mean_rank = sum(rs) / len(rs) if rs else None
        if not self.reported:
            self.rows.sort(key=lambda r: (-(r.avg if r.avg is not None else -1.0), r.system))


@dataclass
class Leaderboard:
    groups: list[Group]
    runs_dir: str

    def measured(self) -> list[Group]:
        return [g for g in self.groups if not g.reported]
