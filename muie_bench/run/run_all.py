"""The ``run-all`` command (``make run``): run several systems on one benchmark, then the
leaderboard.

Each system is run with :func:`muie_bench.run.runner.run` (so a second call resumes and is
quick), scored, and the leaderboard is written from every run under the runs folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from muie_bench.run.runner import RunOptions, RunResult, run

if TYPE_CHECKING:
    from muie_bench.leaderboard import LeaderboardResult


@dataclass
class RunAllResult:
    runs: list[RunResult]
    leaderboard: LeaderboardResult


def run_all(
    systems: list[str],
    benchmark: str | Path,
    runs_dir: Path,
    leaderboard_dir: Path,
    workers: int = 1,
    progress: bool = False,
    argv: list[str] | None = None,
    on_run: Callable[[RunResult], None] | None = None,
    plugins: list[str] | None = None,
) -> RunAllResult:
    """Run (or resume) every system in order, then write the leaderboard of ``runs_dir``.

    The leaderboard folder is checked (and created) first, so that a bad one fails before
    any system runs."""
    from muie_bench.leaderboard import write_leaderboard
    from muie_bench.leaderboard.write import prepare_out_dir

    prepare_out_dir(leaderboard_dir)
    results = []
    for name in systems:
        res = run(RunOptions(system=name, benchmark=benchmark, out=runs_dir, workers=workers,
                             progress=progress, argv=list(argv or []),
                             plugins=list(plugins or [])))
        results.append(res)
        if on_run is not None:
            on_run(res)
    return RunAllResult(results, write_leaderboard(runs_dir, leaderboard_dir))
