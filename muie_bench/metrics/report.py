"""The ``muie-bench score`` command: score a predictions file, print and write the scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from muie_bench.schema import MetricValue, Scores

from .evaluate import read_predictions, score, write_scores

_EXTRA_COLUMNS = ("grounded_f1",)


def format_metric(mv: MetricValue | None) -> str:
    """``54.3`` over ``50.1-58.2`` (value and 95 % CI on a second line, percent); ``-`` if absent."""
    if mv is None:
        return "-"
    if mv.ci_low is None or mv.ci_high is None:
        return f"{mv.value:.1f}"
    return f"{mv.value:.1f}\n[dim]{mv.ci_low:.1f}-{mv.ci_high:.1f}[/dim]"


def scores_table(scores: Scores, title: str) -> Any:
    """A rich Table: one row per set with the paper's columns of that set, then the macro row.

    Columns a set does not report in the paper's layout are blank; ``Gr-F1`` (grounded F1)
    is shown for every set.
    """
    from rich.table import Table

    from muie_bench.paper_sets import COLUMN_TITLES, columns_for, modality_label

    cols = list(COLUMN_TITLES)
    t = Table(title=title)
    for name in ("set", "mod", "task", "n", "miss"):
        t.add_column(name, justify="left" if name in ("set", "mod", "task") else "right")
    for c in cols:
        t.add_column(COLUMN_TITLES[c], justify="right")
    t.add_column("Gr-F1", justify="right")
    for sid, ss in scores.sets.items():
        paper = columns_for(sid, ss.task, ss.modalities)
        row = [sid, modality_label(ss.modalities), ss.task.upper(), str(ss.instances),
               str(ss.missing)]
        row += [format_metric(ss.metrics.get(c)) if c in paper else "" for c in cols]
        row.append(format_metric(ss.metrics.get("grounded_f1")))
        t.add_row(*row)
    macro = ["macro", "", "", str(scores.instances), str(scores.missing)]
    macro += [format_metric(scores.macro.get(c)) for c in cols]
    macro.append(format_metric(scores.macro.get("grounded_f1")))
    t.add_row(*macro, style="bold")
    return t


def score_command(
    predictions: Path,
    benchmark: str | Path,
    out: Path | None = None,
    tau: float = 0.5,
    n_resamples: int = 1000,
    seed: int = 0,
    console: Any = None,
) -> Scores:
    """Score ``predictions`` (a predictions.jsonl) on ``benchmark`` and write the score files.

    ``out`` defaults to the predictions file's folder. Prints the table and a summary
    line when ``console`` (a rich Console) is given. Returns the scores.
    """
    from muie_bench.benchmark import load_benchmark

    bench = load_benchmark(benchmark)
    preds = read_predictions(predictions)
    scores, inst = score(bench, preds, tau=tau, n_resamples=n_resamples, seed=seed)
    out_dir = out if out is not None else predictions.parent
    write_scores(out_dir, scores, inst)
    if console is not None:
        title = (f"{bench.name} {bench.version}: {predictions} "
                 f"(tau {tau:g}, 95% CI over {n_resamples} resamples)")
        console.print(scores_table(scores, title))
        console.print(
            f"{scores.instances} instances, {scores.missing} missing, {scores.failed} failed, "
            f"parse failures {scores.parse_failure_rate:.1f}%; wrote {out_dir / 'scores.json'} "
            f"and {out_dir / 'instance_scores.jsonl'}",
            markup=False, highlight=False,
        )
    return scores
