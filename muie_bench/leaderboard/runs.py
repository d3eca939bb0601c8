"""The one place the leaderboard reads run directories: run.json and scores.json."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from muie_bench.benchmark import format_validation_error
from muie_bench.errors import UserError
from muie_bench.run_dir import RUN_JSON, SCORES, read_run_record
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
    for p in sorted(runs_dir.rglob(RUN_JSON)):
        d = p.parent
        sp = d / SCORES
        try:
            rec = read_run_record(d)
            scores = (Scores.model_validate_json(sp.read_text(encoding="utf-8"))
                      if sp.is_file() else None)
        except OSError as e:
            raise UserError(f"{e.filename or d}: cannot read ({e.strerror})") from None
        except ValidationError as e:
            raise UserError(format_validation_error(e, f"{sp}:1")[0]) from None
        except ValueError as e:  # not UTF-8
            raise UserError(f"{sp}:1: (scores): {e}") from None
        out.append(RunFiles(d, rec, scores))
    return out
