"""Aggregation and statistics over instance scores: micro P/R/F1, means, bootstrap.

Definitions (values in percent):

- precision = tp / predicted (0 when nothing is predicted), recall = tp / gold (0 when
  there is no gold), F1 = 2 tp / (predicted + gold), i.e. the harmonic mean of P and R,
  0 when both are 0. Counts are summed over the instances of a set first (micro).
- a grounding metric of a set is the mean of the instance values over the instances that
  have one (those with gold regions in that modality), times 100.
- bootstrap: the set's instances are resampled with replacement ``n_resamples`` times
  from a generator seeded with ``(seed, crc32(set id))``; the metric is recomputed on each
  resample and the CI is the percentile interval at ``level``. Every metric of one set
  uses the same resamples.
- paired bootstrap: both runs are resampled with the same indices; the two-sided p-value
  is ``(1 + #{|d_r - d| >= |d|}) / (1 + R)`` over the resample differences ``d_r``
  centred on the observed difference ``d`` (the null hypothesis shifts the distribution to
  0); ``d = 0`` gives p = 1.

Sums of grounding values are exactly rounded (``math.fsum``), so a value or CI does not
depend on the order of the instances, on the BLAS library or on the CPU's SIMD width
(counts are integers: their float sums are exact below 2**53).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from muie_bench.errors import UserError
from muie_bench.schema import Counts, InstanceScore

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

GROUNDING_METRIC_IDS = ("i_seg", "a_seg", "v_trck")


def prf(c: Counts) -> tuple[float, float, float]:
    """(precision, recall, F1) in percent from counts (see the module docstring)."""
    p = 100.0 * c.tp / c.predicted if c.predicted else 0.0
    r = 100.0 * c.tp / c.gold if c.gold else 0.0
    denom = c.predicted + c.gold
    f = 200.0 * c.tp / denom if denom else 0.0
    return p, r, f


def resample_indices(n: int, n_resamples: int, seed: int, stream: str) -> IntArray:
    """``(n_resamples, n)`` indices drawn with replacement, reproducible per (seed, stream)."""
    rng = np.random.default_rng([seed, zlib.crc32(stream.encode("utf-8"))])
    return rng.integers(0, n, size=(n_resamples, n), dtype=np.int64)


def resample_weights(idx: IntArray) -> FloatArray:
    """``(R, n)`` multiplicity of every instance in every resample (rows of ``idx``)."""
    r, n = idx.shape
    flat = (idx + n * np.arange(r, dtype=np.int64)[:, None]).ravel()
    return np.bincount(flat, minlength=r * n).reshape(r, n).astype(np.float64)


def is_grounding_metric(metric: str) -> bool:
    return metric in GROUNDING_METRIC_IDS


def metric_columns(scores: Sequence[InstanceScore], metric: str) -> FloatArray:
    """Per-instance columns of a metric: ``(n, 3)`` tp/predicted/gold, or ``(n, 1)`` values.

    Grounding values are in [0, 1], NaN where the instance has none; missing counts are 0.
    """
    if is_grounding_metric(metric):
        return np.array(
            [[s.grounding.get(metric, np.nan)] for s in scores], dtype=np.float64
        ).reshape(len(scores), 1)
    rows = []
    for s in scores:
        c = s.counts.get(metric)
        rows.append((c.tp, c.predicted, c.gold) if c is not None else (0, 0, 0))
    return np.array(rows, dtype=np.float64).reshape(len(scores), 3)


def metric_from_columns(cols: FloatArray) -> float:
    """The set value in percent (F1 from summed counts, or mean of values); NaN if undefined."""
    if cols.shape[1] == 3:
        tp, pr, gd = cols.sum(axis=0)
        return 200.0 * tp / (pr + gd) if pr + gd else 0.0
    v = cols[:, 0]
    v = v[~np.isnan(v)]
    return 100.0 * (math.fsum(v.tolist()) / v.size) if v.size else float("nan")


def metric_resamples(cols: FloatArray, weights: FloatArray) -> FloatArray:
    """The metric recomputed on each resample; NaN where undefined.

    ``weights`` is the ``(R, n)`` multiplicity matrix of :func:`resample_weights`, so a
    resample's sums are one matrix product for counts (integers: exact); a grounding
    resample sums ``multiplicity x value`` exactly rounded (``math.fsum``) per resample.
    """
    if cols.shape[1] == 3:
        s = weights @ cols  # (R, 3)
        denom = s[:, 1] + s[:, 2]
        out = np.zeros(len(weights))
        nz = denom > 0
        out[nz] = 200.0 * s[nz, 0] / denom[nz]
        return out
    v = cols[:, 0]
    present = ~np.isnan(v)
    n = weights @ present.astype(np.float64)
    terms = weights[:, present] * v[present][None, :]  # elementwise: exact IEEE products
    tot = np.array([math.fsum(row) for row in terms.tolist()], dtype=np.float64)
    out = np.full(len(weights), np.nan)
    ok = n > 0
    out[ok] = 100.0 * tot[ok] / n[ok]
    return out


def percentile_ci(samples: FloatArray, level: float = 0.95) -> tuple[float | None, float | None]:
    """Percentile interval of the finite samples at ``level``; (None, None) if there are none."""
    s = samples[np.isfinite(samples)]
    if s.size == 0:
        return None, None
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(s, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def bootstrap_ci(
    scores: Sequence[InstanceScore],
    metric: str,
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    stream: str = "",
) -> tuple[float, float | None, float | None]:
    """(value, ci_low, ci_high) in percent of one metric over ``scores`` (usually one set).

    ``stream`` (default: the set of the first score) selects the random stream, so the
    resamples of a set do not depend on which other sets are scored. No CI (None) when
    there are no instances, ``n_resamples`` is 0, or the metric is undefined.
    """
    cols = metric_columns(scores, metric)
    value = metric_from_columns(cols)
    if not scores or n_resamples <= 0:
        return value, None, None
    idx = resample_indices(len(scores), n_resamples, seed, stream or scores[0].set)
    lo, hi = percentile_ci(metric_resamples(cols, resample_weights(idx)), level)
    return value, lo, hi


def paired_bootstrap(
    a: list[InstanceScore],
    b: list[InstanceScore],
    set_id: str,
    metric: str,
    n_resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """(difference b - a in percent points, two-sided p-value) of ``metric`` on ``set_id``.

    Both runs must hold the same instance ids of the set (UserError otherwise, also when
    the set has no instances or the metric is undefined on it).
    """
    sa = {s.id: s for s in a if s.set == set_id}
    sb = {s.id: s for s in b if s.set == set_id}
    if not sa and not sb:
        raise UserError(f"paired bootstrap: set {set_id!r} has no instances in either run")
    only_a, only_b = sorted(sa.keys() - sb.keys()), sorted(sb.keys() - sa.keys())
    if only_a or only_b:
        which, ids = ("first", only_a) if only_a else ("second", only_b)
        raise UserError(
            f"paired bootstrap: set {set_id!r}: instance {ids[0]!r} is only in the {which} run "
            f"({len(only_a) + len(only_b)} ids differ); compare runs on the same instances"
        )
    ids = sorted(sa)
    ca = metric_columns([sa[i] for i in ids], metric)
    cb = metric_columns([sb[i] for i in ids], metric)
    va, vb = metric_from_columns(ca), metric_from_columns(cb)
    if np.isnan(va) or np.isnan(vb):
        raise UserError(f"paired bootstrap: metric {metric!r} is not defined on set {set_id!r}")
    diff = float(vb - va)
    if diff == 0 or n_resamples <= 0:
        return diff, 1.0
    w = resample_weights(resample_indices(len(ids), n_resamples, seed, f"paired:{set_id}"))
    d = metric_resamples(cb, w) - metric_resamples(ca, w)
    d = d[np.isfinite(d)]
    extreme = int(np.count_nonzero(np.abs(d - diff) >= abs(diff) - 1e-12))
    return diff, (1 + extreme) / (1 + d.size)
