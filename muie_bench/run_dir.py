"""Transitional: the names :mod:`muie_bench.report` still imports; use :mod:`muie_bench.run`.

Remove once ``report/`` reads runs through :class:`muie_bench.run.RunDir`.
"""

from __future__ import annotations

from pathlib import Path

from muie_bench.run.files import INSTANCE_SCORES, PREDICTIONS, SCORES, RunDir
from muie_bench.schema import Prediction, RunRecord

__all__ = ["INSTANCE_SCORES", "PREDICTIONS", "SCORES", "read_predictions_last", "read_run_record"]


def read_run_record(run_dir: Path) -> RunRecord:
    return RunDir.open(run_dir).record()


def read_predictions_last(path: Path) -> list[Prediction]:
    return RunDir(path.parent).predictions()
