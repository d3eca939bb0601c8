"""The metrics package: IE F1, grounding IoU, grounded F1, aggregation and statistics.

Modules: :mod:`.ie` (mention keys, matching, IE counts), :mod:`.grounding` (I-Seg, V-Trck,
A-Seg), :mod:`.grounded` (grounded F1), :mod:`.stats` (P/R/F1, bootstrap, paired test),
:mod:`.evaluate` (score a benchmark: pure functions over instances and predictions).
Depends only on numpy, scipy and pycocotools; reading and writing files is elsewhere
(:mod:`muie_bench.scoring`, :mod:`muie_bench.run`).
"""

from __future__ import annotations

from .evaluate import (
    aggregate,
    score,
    score_instance,
)
from .stats import bootstrap_ci, paired_bootstrap

__all__ = [
    "aggregate",
    "bootstrap_ci",
    "paired_bootstrap",
    "score",
    "score_instance",
]
