"""The leaderboard as rich tables for a terminal: values without CIs (the files have them)."""

from __future__ import annotations

from rich.table import Table as RichTable

from muie_bench.leaderboard.model import OVERALL, Leaderboard


def _rich(title: str, header: list[str], rows: list[list[str]]) -> RichTable:
    t = RichTable(title=title, title_justify="left")
    for i, h in enumerate(header):
        t.add_column(h.replace(" ", "\n", 1) if i else h, justify="left" if i == 0 else "right")
    for r in rows:
        t.add_row(*r)
    return t


def leaderboard_tables(lb: Leaderboard) -> list[RichTable]:
    """Per group: each table of the paper's layout, then the overall table."""
    out = []
    for g in lb.groups:
        for t in g.tables():
            rows = [[r.label] + [t.cell(r, s, m).show(False) for s, m in t.columns] for r in t.rows]
            out.append(_rich(f"{g.title}: {t.title}", t.header(), rows))
        out.append(_rich(f"{g.title}: {OVERALL}", g.overall_header(), g.overall_rows(False)))
    return out
