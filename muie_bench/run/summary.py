"""What ``muie-bench run`` prints about a run, and its exit status."""

from __future__ import annotations

from muie_bench.run.runner import RunResult

#: exit status of ``muie-bench run`` when instances failed: FAILED_EXIT_BASE + min(n, 95)
FAILED_EXIT_BASE = 160
FAILED_EXIT_CAP = 95


def failed_exit_code(failed: int) -> int:
    """0 when nothing failed, else 160 + the number of failed instances (capped at 95).

    160+ stays clear of 1/2 (user errors) and of 128+signal (up to 159).
    """
    return 0 if failed <= 0 else FAILED_EXIT_BASE + min(failed, FAILED_EXIT_CAP)


def run_lines(res: RunResult) -> list[str]:
    """The summary lines of a run: where, what, counts, speed, stage seconds, failures."""
    rec = res.record
    c = rec.counts
    how = "resumed" if res.resumed else "new run"
    lines = [
        f"run {rec.run_id} ({how}): {res.run_dir}",
        f"system {rec.system.name} ({rec.system.kind}, fingerprint {rec.system.fingerprint}) on "
        f"{rec.benchmark.name} {rec.benchmark.version}",
        f"predicted now {res.predicted_now}, already done {res.already_done}; total "
        f"{c.total}: {c.done} ok, {c.failed} failed, {c.missing} missing; status {rec.status}",
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
        lines.append(f"  failed {e.id}: {e.error}")
    if len(rec.errors) > 5 or c.failed > 5:
        lines.append(f"  ... {c.failed} failed in all (see run.json / predictions.jsonl)")
    return lines
