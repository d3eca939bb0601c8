"""The rich table the CLI prints for ``compare`` (a run's lines and exit status:
:mod:`muie_bench.run.summary`; the leaderboard's tables: :mod:`muie_bench.leaderboard.render_terminal`)."""

from __future__ import annotations

from rich.table import Table

from muie_bench.compare import CompareResult
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
