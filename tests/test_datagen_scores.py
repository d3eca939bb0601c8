"""On the bundled mini benchmark the oracle system scores 100 everywhere, empty 0."""

from __future__ import annotations

from pathlib import Path

from muie_bench.benchmark import load_benchmark
from muie_bench.metrics.evaluate import score
from muie_bench.paper_sets import PAPER_SETS
from muie_bench.systems.registry import build_system


def _scores(mini_dir: Path, system: str) -> dict[str, dict[str, float]]:
    bench = load_benchmark(mini_dir)
    sys_ = build_system(system)
    sys_.setup(bench)
    preds = [sys_.predict(i, bench) for i in bench.instances]
    scores, _ = score(bench, preds, n_resamples=0)
    return {s: {m: v.value for m, v in ss.metrics.items()} for s, ss in scores.sets.items()}


def test_oracle_scores_100_and_empty_0_on_every_column(mini_dir: Path) -> None:
    oracle = _scores(mini_dir, "oracle")
    empty = _scores(mini_dir, "empty")
    for ps in PAPER_SETS:
        for col in (*ps.columns, "grounded_f1"):
            assert oracle[ps.id][col] == 100.0, (ps.id, col, oracle[ps.id])
            assert empty[ps.id][col] == 0.0, (ps.id, col, empty[ps.id])
