"""The metrics package: IE F1, grounding IoU, grounded F1, aggregation and statistics.

Modules: :mod:`.ie` (mention keys, matching, IE counts), :mod:`.grounding` (I-Seg, V-Trck,
A-Seg), :mod:`.grounded` (grounded F1), :mod:`.stats` (P/R/F1, bootstrap, paired test),
:mod:`.evaluate` (score a benchmark, read/write score files), :mod:`.report` (the
``muie-bench score`` command). Depends only on numpy, scipy and pycocotools.
"""

from __future__ import annotations

from .evaluate import (
    aggregate,
    read_instance_scores,
    read_predictions,
    score,
    score_instance,
    write_scores,
)
from .stats import bootstrap_ci, paired_bootstrap

__all__ = [
    "aggregate",
    "bootstrap_ci",
    "paired_bootstrap",
    "read_instance_scores",
    "read_predictions",
    "score",
    "score_instance",
    "write_scores",
]
