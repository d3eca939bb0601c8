"""What the CLI prints for runs and comparisons (lines, rich tables), and the exit status of a run
with failed instances. The leaderboard's tables are in :mod:`muie_bench.leaderboard.render_terminal`."""

from __future__ import annotations

from rich.table import Table

from muie_bench.compare import CompareResult
from muie_bench.paper_sets import COLUMN_TITLES
from muie_bench.runner import RunResult

#: exit status of ``muie-bench run`` when instances failed: FAILED_EXIT_BASE + min(n, 95)
FAILED_EXIT_BASE = 160
FAILED_EXIT_CAP = 95


def failed_exit_code(failed: int) -> int:
    """0 when nothing failed, else 160 + the number of failed instances (capped at 95).

    160+ stays clear of 1/2 (user errors) and of 128+signal (up to 159).
    """
    return 0 if failed <= 0 else FAILED_EXIT_BASE + min(failed, FAILED_EXIT_CAP)


def run_lines(res: RunResult) -> list[str]:
    rec = res.record
    c = rec.counts
    how = "resumed" if res.resumed else "new run"
    lines = [
        f"run {rec.run_id} ({how}): {res.run_dir}",
        f"system {rec.system.name} ({rec.system.kind}, fingerprint {rec.system.fingerprint}) on "
        f"{rec.benchmark.get('name')} {rec.benchmark.get('version')}",
        f"predicted now {res.predicted_now}, already done {res.already_done}; total "
        f"{c.get('total', 0)}: {c.get('done', 0)} ok, {c.get('failed', 0)} failed, "
        f"{c.get('missing', 0)} missing; status {rec.status}",
    ]
    wall = rec.timings.get("wall_predict")
    if wall and res.predicted_now:
        lines.append(f"prediction: {res.predicted_now / wall:.1f} instances/s this session")
    stages = {k[6:]: v for k, v in rec.timings.items() if k.startswith("stage.")}
    if stages:
        lines.append("stage seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
    if rec.trace_totals:
        lines.append("trace totals: " + ", ".join(f"{k} {v:g}" for k, v in rec.trace_totals.items()))
    for e in rec.errors[:5]:
        lines.append(f"  failed {e.get('id')}: {e.get('error')}")
    if len(rec.errors) > 5 or c.get("failed", 0) > 5:
        lines.append(f"  ... {c.get('failed', 0)} failed in all (see run.json / predictions.jsonl)")
    return lines


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
