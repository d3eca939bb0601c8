"""Transitional: the name :mod:`muie_bench.report` still imports; use :mod:`muie_bench.run`.

Remove once ``report/`` calls :meth:`muie_bench.run.RunDir.benchmark`.
"""

from __future__ import annotations

from pathlib import Path

from muie_bench.benchmark import Benchmark
from muie_bench.run.files import RunDir
from muie_bench.schema import RunRecord


def _benchmark_of(record: RunRecord, run_dir: Path) -> Benchmark:
    return RunDir(run_dir).benchmark(record)
