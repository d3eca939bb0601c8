"""PNG bar charts of a leaderboard (matplotlib, Agg backend): per group, one chart per table
(every set x metric cell, one bar per system, 95 % CI as error bars) and one of the overall
macro averages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from muie_bench.errors import UserError
from muie_bench.leaderboard.model import OVERALL, Cell, Leaderboard, Row
from muie_bench.paper_sets import COLUMN_TITLES
from muie_bench.text import slug


def write_plots(lb: Leaderboard, out_dir: Path) -> dict[str, str]:
    """Write the charts into ``out_dir``; returns ``"<group key>/<table title>" -> file name``
    (``<group key>-<table slug>.png``, ``<group key>-overall.png``)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError("the leaderboard charts need matplotlib (pip install matplotlib, "
                        "or use --no-plots)") from None

    images: dict[str, str] = {}
    for g in lb.groups:
        for t in g.tables():
            labels = [f"{s.id}\n{COLUMN_TITLES.get(m, m)}" for s, m in t.columns]
            keys = [(s.id, m) for s, m in t.columns]
            name = f"{g.key}-{slug(t.title)}.png"
            _bars(plt, t.rows, labels, [[r.cells.get(k) for k in keys] for r in t.rows],
                  f"{t.title} — {g.title}", out_dir / name)
            images[f"{g.key}/{t.title}"] = name
        ms = g.overall_metrics()
        if ms:
            name = f"{g.key}-overall.png"
            _bars(plt, g.rows, [f"macro {COLUMN_TITLES[m]}" for m in ms],
                  [[r.macro.get(m) for m in ms] for r in g.rows], f"{OVERALL} — {g.title}",
                  out_dir / name)
            images[f"{g.key}/{OVERALL}"] = name
    return images


def _bars(plt: Any, rows: list[Row], labels: list[str], values: list[list[Cell | None]],
          title: str, path: Path) -> None:
    import numpy as np

    n_sys = max(len(rows), 1)
    width = 0.8 / n_sys
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(labels) + 2), 3.6), dpi=100)
    for i, (row, cells) in enumerate(zip(rows, values, strict=True)):
        vals = [c.value if c is not None and c.value is not None else np.nan for c in cells]
        err_lo = [(c.value - c.ci[0]) if c is not None and c.ci and c.value is not None else 0.0
                  for c in cells]
        err_hi = [(c.ci[1] - c.value) if c is not None and c.ci and c.value is not None else 0.0
                  for c in cells]
        has_ci = any(err_lo) or any(err_hi)
        ax.bar(x + (i - (n_sys - 1) / 2) * width, vals, width, label=row.label,
               yerr=[err_lo, err_hi] if has_ci else None, capsize=2)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("%")
    ax.set_ylim(0, 118)  # room for the legend above 100
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=6, ncol=min(n_sys, 5), loc="upper center")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
