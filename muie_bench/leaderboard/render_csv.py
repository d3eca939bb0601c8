"""The leaderboard as CSV, long format: one line per (group, system, set, metric) cell, then
per row the overall cells (``macro_<metric>``, ``avg``, ``mean_rank``)."""

from __future__ import annotations

import csv
from typing import TextIO

from muie_bench.leaderboard.model import OVERALL, REPORTED_LABEL, Cell, Leaderboard

HEADER = ["group", "source", "benchmark", "benchmark_sha256", "system", "run_id", "status",
          "flags", "table", "set", "modalities", "metric", "value", "ci_low", "ci_high",
          "value_text"]


def _vals(c: Cell) -> list[str]:
    v = "" if c.value is None else f"{c.value:.4f}"
    lo, hi = ("", "") if c.ci is None else (f"{c.ci[0]:.4f}", f"{c.ci[1]:.4f}")
    return [v, lo, hi, c.text or ""]


def write_csv(lb: Leaderboard, f: TextIO) -> None:
    """Write to an open text file (opened with ``newline=""``)."""
    w = csv.writer(f)
    w.writerow(HEADER)
    for g in lb.groups:
        src = REPORTED_LABEL if g.reported else "measured"
        tables = g.tables()
        for r in g.rows:
            base = [g.title, src, g.benchmark.get("name", ""), g.benchmark.get("sha256", ""),
                    r.system, r.run_id, r.status, "; ".join(r.flags)]
            for t in tables:
                for s, m in t.columns:
                    c = r.cells.get((s.id, m))
                    if c is not None:
                        w.writerow([*base, t.title, s.id, s.modality_label, m, *_vals(c)])
            for m, c in r.macro.items():
                w.writerow([*base, OVERALL, "", "", f"macro_{m}", *_vals(c)])
            for name, v in (("avg", r.avg), ("mean_rank", r.mean_rank)):
                if v is not None:
                    w.writerow([*base, OVERALL, "", "", name, f"{v:.4f}", "", "", ""])
