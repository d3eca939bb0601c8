"""The one place the leaderboard reads run directories: run.json and scores.json."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from muie_bench.errors import UserError
from muie_bench.run.files import find_runs
from muie_bench.schema import RunRecord, Scores


@dataclass(frozen=True)
class RunFiles:
    """What the leaderboard uses of one run directory (``scores`` is None when not scored)."""

    dir: Path
    record: RunRecord
    scores: Scores | None


def read_runs(runs_dir: Path) -> list[RunFiles]:
    """Every run directory (a folder holding run.json, at any depth) under ``runs_dir``, in
    path order. A missing ``runs_dir``, a file, or an unreadable run is a :class:`UserError`."""
    if not runs_dir.exists():
        raise UserError(f"{runs_dir}: no such runs folder")
    if not runs_dir.is_dir():
        raise UserError(f"{runs_dir}: not a folder of run directories")
    out: list[RunFiles] = []
    for run in find_runs(runs_dir):
        out.append(RunFiles(run.path, run.record(), run.scores() if run.scores_path.is_file() else None))
    return out
