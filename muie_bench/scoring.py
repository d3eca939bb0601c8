"""The ``muie-bench score`` command: score a predictions file or re-score a run directory,
print the table, write the score files.

The scoring itself is :func:`muie_bench.metrics.evaluate.score` (pure); this module reads
and writes the files around it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from muie_bench.errors import UserError
from muie_bench.jsonl import iter_lines, parse_line, read_models
from muie_bench.run.files import INSTANCE_SCORES, SCORES, ScoreFilesWriter
from muie_bench.schema import MetricValue, Prediction, Scores, SetScores

if TYPE_CHECKING:
    from muie_bench.benchmark import BenchmarkIndex
    from muie_bench.metrics.evaluate import Samples, SetColumns


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


#: a predictions file up to this size is kept parsed between the two passes of
#: :func:`score_command`; a larger one is parsed again line by line (bounded memory)
KEEP_PREDICTIONS_BYTES = 16 << 20


class _PredictionIndex:
    """Pass 1 over a predictions file: every line parsed and validated (the errors of
    :func:`read_predictions`, in line order), the byte range of every id's line, and the
    parsed predictions themselves when the file is small (:data:`KEEP_PREDICTIONS_BYTES`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ranges: dict[str, tuple[int, int, int]] = {}  # id -> (line, start, end)
        self.order: list[str] = []
        self.keep = path.stat().st_size <= KEEP_PREDICTIONS_BYTES
        self.parsed: dict[str, Prediction] = {}

    def scan(self) -> Iterator[Prediction]:
        """Parse every line, yielding the predictions (UserError on a bad or repeated line)."""
        for line in iter_lines(self.path):
            p = parse_line(line, Prediction, self.path, "prediction")
            first = self.ranges.get(p.id)
            if first is not None:
                raise UserError(f"{self.path}:{line.n}: id: duplicate prediction id {p.id!r} "
                                f"(first on line {first[0]})")
            self.ranges[p.id] = (line.n, line.start, line.end)
            self.order.append(p.id)
            if self.keep:
                self.parsed[p.id] = p
            yield p

    def get(self, f: BinaryIO, pred_id: str) -> Prediction | None:
        """The prediction of ``pred_id`` (read again from ``f`` when not kept), or None."""
        if self.keep:
            return self.parsed.get(pred_id)
        where = self.ranges.get(pred_id)
        if where is None:
            return None
        f.seek(where[1])
        return Prediction.model_validate_json(f.read(where[2] - where[1]))


def _set_groups(index: BenchmarkIndex) -> list[list[str]] | None:
    """Sets in groups balanced by the bytes of their instances, one per worker process
    (:func:`~muie_bench.metrics.evaluate.balanced_groups`), or None."""
    from muie_bench.metrics.evaluate import balanced_groups

    size: dict[str, int] = {}
    for sid, b in zip(index.sets, index.line_bytes(), strict=True):
        size[sid] = size.get(sid, 0) + b
    return balanced_groups(size, len(index))


def _score_group(set_ids: list[str]) -> tuple[dict[str, SetColumns], list[tuple[int, str]],
                                               dict[str, tuple[SetScores, Samples]]]:
    """In a worker: score the instances of ``set_ids`` (columns, instance score lines with
    their positions in the benchmark, set scores)."""
    from muie_bench.metrics.evaluate import _SHARED, ScoreColumns, score_instances, set_scores

    index: BenchmarkIndex = _SHARED["index"]  # type: ignore[assignment]
    preds: _PredictionIndex = _SHARED["preds"]  # type: ignore[assignment]
    options: tuple[float, int, int] = _SHARED["options"]  # type: ignore[assignment]
    tau, n_resamples, seed = options
    want = set(set_ids)
    positions = [k for k, sid in enumerate(index.sets) if sid in want]
    acc = ScoreColumns()
    lines: list[tuple[int, str]] = []
    with open(preds.path, "rb") as f:
        pairs = ((inst, preds.get(f, inst.id)) for inst in index.instances(want))
        for pos, s in zip(positions, score_instances(pairs, tau, validate_masks=True), strict=True):
            acc.add(s)
            lines.append((pos, s.model_dump_json()))
    specs = {sp.id: sp for sp in index.manifest.sets}
    done = {sid: set_scores(specs[sid], cs, n_resamples, seed) for sid, cs in acc.sets.items()}
    return acc.sets, lines, done


def _score_parallel(index: BenchmarkIndex, preds: _PredictionIndex, groups: list[list[str]],
                    writer: ScoreFilesWriter, tau: float, n_resamples: int, seed: int
                    ) -> Scores | None:
    """Score the groups of sets in forked workers and assemble the same files as the serial
    path; None (the caller scores serially, which reports any error exactly) when a worker
    fails."""
    from muie_bench.metrics.evaluate import aggregate_columns, merge_columns, run_forked

    results = run_forked(_score_group, groups, {"index": index, "preds": preds,
                                                "options": (tau, n_resamples, seed)})
    if results is None:
        return None
    acc = merge_columns(cols for cols, _, _ in results)
    done: dict[str, tuple[SetScores, Samples]] = {}
    lines: list[tuple[int, str]] = []
    for _, group_lines, group_done in results:
        done.update(group_done)
        lines.extend(group_lines)
    lines.sort()
    for _, line in lines:
        writer.add_line(line)
    return aggregate_columns(index.manifest, acc, index.info(), tau, n_resamples, seed, done)


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

    Streams: the benchmark is checked once per sha256 (:func:`checked_index`), the
    predictions are parsed and validated in a first pass (errors as :func:`read_predictions`
    and :func:`~muie_bench.metrics.evaluate.score` report them, in the same order), then
    instances are parsed, scored (mask IoUs batched per chunk) and folded into per-set
    columns one by one, the instance scores written as they come. Memory does not grow
    with the benchmark beyond the per-set columns (and the predictions of a small file).
    The files are those :func:`~muie_bench.metrics.evaluate.score` gives, byte for byte.
    """
    from muie_bench.benchmark import checked_index
    from muie_bench.metrics.evaluate import (
        ScoreColumns,
        aggregate_columns,
        mask_error,
        score_instances,
    )
    from muie_bench.run.runner import check_scoring_options

    check_scoring_options(tau, n_resamples, seed)
    out_dir = out if out is not None else predictions.parent
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir}: not a folder")
    index, gold_error = checked_index(benchmark)
    if not predictions.is_file():
        raise UserError(f"{predictions}: no such predictions file")
    preds = _PredictionIndex(predictions)
    for _ in preds.scan():
        pass
    ids = set(index.ids)
    for pid in preds.order:
        if pid not in ids:
            raise UserError(f"prediction id {pid!r} is not an instance of benchmark "
                            f"{index.name!r} ({len(index)} instances selected)")
    del ids
    if gold_error is not None:
        raise UserError(gold_error)
    writer = ScoreFilesWriter(out_dir)
    try:
        scores = None
        groups = _set_groups(index)
        if groups is not None:
            scores = _score_parallel(index, preds, groups, writer, tau, n_resamples, seed)
        if scores is None:
            acc = ScoreColumns()
            with open(predictions, "rb") as f:
                pairs = ((inst, preds.get(f, inst.id)) for inst in index.instances())
                try:
                    for s in score_instances(pairs, tau, validate_masks=True):
                        acc.add(s)
                        writer.add(s)
                except UserError as e:
                    # predicted masks are validated while scoring (the IoU decoding is the
                    # check); on any error the first invalid mask in file order wins, as it
                    # always did
                    err = mask_error((f"prediction {p.id!r}: output", p.output.mentions())
                                     for p in _PredictionIndex(predictions).scan()
                                     if p.parse_error is None)
                    if err is not None:
                        raise UserError(err) from e
                    raise
            scores = aggregate_columns(index.manifest, acc, index.info(), tau, n_resamples, seed)
    except BaseException:
        writer.abort()
        raise
    writer.finish(scores)
    if console is not None:
        title = (f"{index.name} {index.version}: {predictions} "
                 f"(tau {tau:g}, 95% CI over {n_resamples} resamples)")
        console.print(scores_table(scores, title))
        console.print(
            f"{scores.instances} instances, {scores.missing} missing, {scores.failed} failed, "
            f"parse failures {scores.parse_failure_rate:.1f}%; wrote {out_dir / SCORES} "
            f"and {out_dir / INSTANCE_SCORES}",
            markup=False, highlight=False,
        )
    return scores
