"""Bootstrap confidence intervals and the paired bootstrap test."""

from __future__ import annotations

import numpy as np
import pytest

from muie_bench.errors import UserError
from muie_bench.metrics.stats import bootstrap_ci, paired_bootstrap, prf, resample_indices
from muie_bench.schema import Counts, InstanceScore


def ner_scores(tps: list[int], set_id: str = "s", gold: int = 2) -> list[InstanceScore]:
    """One instance per entry: ``gold`` gold items, ``gold`` predicted, ``tp`` correct."""
    return [InstanceScore(id=f"i{k}", set=set_id,
                          counts={"f1": Counts(tp=tp, predicted=gold, gold=gold)})
            for k, tp in enumerate(tps)]


def test_prf_edge_cases() -> None:
    assert prf(Counts()) == (0.0, 0.0, 0.0)
    assert prf(Counts(tp=0, predicted=3, gold=0)) == (0.0, 0.0, 0.0)
    p, r, f = prf(Counts(tp=1, predicted=4, gold=2))
    assert (p, r) == (25.0, 50.0) and f == pytest.approx(2 * 25 * 50 / 75)


def test_bootstrap_ci_is_reproducible_and_brackets_the_value() -> None:
    scores = ner_scores([2, 1, 0, 2, 2, 1, 0, 2, 1, 2])  # tp 13 / 20 -> 65
    v, lo, hi = bootstrap_ci(scores, "f1", n_resamples=500, seed=1)
    assert v == pytest.approx(65.0)
    assert lo is not None and hi is not None and lo < v < hi
    assert bootstrap_ci(scores, "f1", n_resamples=500, seed=1) == (v, lo, hi)
    assert bootstrap_ci(scores, "f1", n_resamples=500, seed=2) != (v, lo, hi)
    # all instances equal: every resample gives the value
    assert bootstrap_ci(ner_scores([1] * 5), "f1", 100) == (50.0, 50.0, 50.0)
    assert bootstrap_ci(scores, "f1", n_resamples=0) == (v, None, None)


def test_bootstrap_ci_of_a_grounding_mean_skips_instances_without_value() -> None:
    scores = [InstanceScore(id=str(k), set="s", grounding={"i_seg": x} if x is not None else {})
              for k, x in enumerate([0.2, None, 0.6, None])]
    v, lo, hi = bootstrap_ci(scores, "i_seg", n_resamples=300)
    assert v == pytest.approx(40.0)
    assert lo is not None and hi is not None and 20.0 <= lo <= v <= hi <= 60.0


def test_resample_indices_shape_and_stream() -> None:
    a = resample_indices(7, 11, seed=0, stream="x")
    assert a.shape == (11, 7) and a.min() >= 0 and a.max() < 7
    assert np.array_equal(a, resample_indices(7, 11, seed=0, stream="x"))
    assert not np.array_equal(a, resample_indices(7, 11, seed=0, stream="y"))


def test_paired_bootstrap() -> None:
    a = ner_scores([1] * 30 + [0] * 30)  # F1 25
    b = ner_scores([2] * 30 + [1] * 30)  # F1 75: better on every instance
    diff, p = paired_bootstrap(a, b, "s", "f1", n_resamples=1000)
    assert diff == pytest.approx(50.0) and p < 0.01
    diff, p = paired_bootstrap(b, a, "s", "f1", n_resamples=1000)
    assert diff == pytest.approx(-50.0) and p < 0.01
    assert paired_bootstrap(a, a, "s", "f1") == (0.0, 1.0)
    # a small difference on noisy data is not significant
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, 60).tolist()
    x[0] = 0
    y = x[:]
    y[0] = 1
    diff, p = paired_bootstrap(ner_scores(x), ner_scores(y), "s", "f1", n_resamples=1000)
    assert 0 < diff < 2 and p > 0.2


def test_paired_bootstrap_needs_the_same_ids_and_a_defined_metric() -> None:
    a = ner_scores([1, 2, 0])
    with pytest.raises(UserError, match="'i2' is only in the first run"):
        paired_bootstrap(a, a[:2], "s", "f1")
    with pytest.raises(UserError, match="no instances"):
        paired_bootstrap(a, a, "other", "f1")
    with pytest.raises(UserError, match="not defined"):
        paired_bootstrap(a, a, "s", "i_seg")
