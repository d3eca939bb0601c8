"""The ``muie-bench score`` command: score a predictions file or re-score a run directory,
print the table, write the score files.

The scoring itself is :func:`muie_bench.metrics.evaluate.score` (pure); this module reads
and writes the files around it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from muie_bench.errors import UserError
from muie_bench.jsonl import read_models
from muie_bench.run.files import INSTANCE_SCORES, SCORES, write_score_files
from muie_bench.schema import MetricValue, Prediction, Scores


def read_predictions(path: Path) -> list[Prediction]:
    """Parse a predictions file (blank lines skipped; a last line may lack its newline).

    A malformed line, invalid UTF-8 or a repeated id is a UserError ``file:line: field: message``.
    """
    if not path.is_file():
        raise UserError(f"{path}: no such predictions file")
    out: list[Prediction] = []
    first_line: dict[str, int] = {}
    for n, p in read_models(path, Prediction, "prediction"):
        if p.id in first_line:
            raise UserError(
                f"{path}:{n}: id: duplicate prediction id {p.id!r} (first on line {first_line[p.id]})"
            )
        first_line[p.id] = n
        out.append(p)
    return out


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
    from muie_bench.metrics.evaluate import score
    from muie_bench.run.runner import check_scoring_options

    check_scoring_options(tau, n_resamples, seed)
    out_dir = out if out is not None else predictions.parent
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir}: not a folder")
    bench = load_benchmark(benchmark)
    preds = read_predictions(predictions)
    scores, inst = score(bench, preds, tau=tau, n_resamples=n_resamples, seed=seed)
    write_score_files(out_dir, scores, inst)
    if console is not None:
        title = (f"{bench.name} {bench.version}: {predictions} "
                 f"(tau {tau:g}, 95% CI over {n_resamples} resamples)")
        console.print(scores_table(scores, title))
        console.print(
            f"{scores.instances} instances, {scores.missing} missing, {scores.failed} failed, "
            f"parse failures {scores.parse_failure_rate:.1f}%; wrote {out_dir / SCORES} "
            f"and {out_dir / INSTANCE_SCORES}",
            markup=False, highlight=False,
        )
    return scores
