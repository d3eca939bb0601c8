"""Runs: the run directory (:mod:`.files`), what identifies a run (:mod:`.spec`), the
executors (:mod:`.executors`), the runner (:mod:`.runner`), the run summary and exit status
(:mod:`.summary`) and the ``run-all`` job (:mod:`.run_all`).

Only :class:`RunDir` and :class:`RunsFolder` touch the files of a run directory. This
package imports only the light modules; ``from muie_bench.run.runner import run`` for the
runner (it imports the systems).
"""

from __future__ import annotations

from .files import (
    INSTANCE_SCORES,
    PREDICTIONS,
    RUN_JSON,
    SCORES,
    PredictionScan,
    PredictionWriter,
    RunDir,
    RunLock,
    RunsFolder,
    RunWriteError,
    find_runs,
)
from .spec import RunSpec, SelectionSpec

__all__ = [
    "INSTANCE_SCORES",
    "PREDICTIONS",
    "RUN_JSON",
    "SCORES",
    "PredictionScan",
    "PredictionWriter",
    "RunDir",
    "RunLock",
    "RunSpec",
    "RunWriteError",
    "RunsFolder",
    "SelectionSpec",
    "find_runs",
]
