"""Rich tables that the CLI prints for comparisons and leaderboards (a run's lines and exit
status: :mod:`muie_bench.run.summary`)."""

from __future__ import annotations

from rich.table import Table

from muie_bench.compare import CompareResult
from muie_bench.leaderboard import Leaderboard, column_header, overall_header, overall_rows, table_rows
from muie_bench.paper_sets import COLUMN_TITLES


def compare_table(res: CompareResult) -> Table:
    a, b = res.a, res.b
    t = Table(title=f"B - A: A = {a.system.name} ({a.run_id}), B = {b.system.name} ({b.run_id})")
    for col in ("set", "mod", "metric", "A", "B", "B - A", "p", "paired"):
        t.add_column(col, justify="left" if col in ("set", "mod", "metric") else "right")
    for r in res.rows:
        star = " *" if r.p_value < 0.05 else ""
        t.add_row(r.set, r.modalities, {**COLUMN_TITLES, "grounded_f1": "Gr-F1"}.get(r.metric, r.metric),
                  "–" if r.a is None else f"{r.a:.1f}", "–" if r.b is None else f"{r.b:.1f}",
                  f"{r.diff:+.1f}", f"{r.p_value:.3f}{star}", str(r.paired))
    return t


def leaderboard_tables(lb: Leaderboard) -> list[Table]:
    """The leaderboard's tables for a terminal: values without CIs (the files have them)."""
    out = []
    for g in lb.groups:
        for title, sets in [*g.tables(), ("Overall", [])]:
            if title == "Overall":
                header, rows = overall_header(g), overall_rows(g, with_ci=False)
            else:
                header = ["system"] + [column_header(s, m) for s in sets for m in s.columns]
                rows = table_rows(g, sets, with_ci=False)
            t = Table(title=f"{g.title}: {title}", title_justify="left")
            for i, h in enumerate(header):
                t.add_column(h.replace(" ", "\n", 1) if i else h,
                             justify="left" if i == 0 else "right")
            for r in rows:
                t.add_row(*r)
            out.append(t)
    return out
