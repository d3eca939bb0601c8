"""Many runs -> leaderboard tables in the paper's layout (Markdown, CSV, HTML, charts, terminal).

Inputs are only ``run.json`` and ``scores.json`` of the run directories under a runs folder
(:mod:`.runs`, the one reader), plus the paper's published numbers in
``benchmark_data/reported/``. :mod:`.build` makes the model (:mod:`.model`: groups, tables,
rows, cells, and the intro and notes text); each ``render_*`` module lays the model out in
one format; :mod:`.write` writes the files.

Tables: T+I and I, T+A and A, T+V and V, mixed (T+I+A, I+A, V+A), sets outside the paper,
and an overall table (measured rows sorted by ``avg``, reported rows in the paper's order).
"""

from muie_bench.leaderboard.build import build, collect, load_reported
from muie_bench.leaderboard.model import (
    LAYOUT,
    METRIC_ORDER,
    REPORTED_LABEL,
    Cell,
    Group,
    Leaderboard,
    Row,
    SetInfo,
    Table,
)
from muie_bench.leaderboard.runs import RunFiles, read_runs
from muie_bench.leaderboard.write import DEFAULT_OUT, LeaderboardResult, write_leaderboard

__all__ = [
    "DEFAULT_OUT", "LAYOUT", "METRIC_ORDER", "REPORTED_LABEL", "Cell", "Group", "Leaderboard",
    "LeaderboardResult", "Row", "RunFiles", "SetInfo", "Table", "build", "collect",
    "load_reported", "read_runs", "write_leaderboard",
]
