"""Score predictions against a benchmark: per-instance counts, per-set and macro scores.

``score_instance`` turns one (instance, prediction) pair into an :class:`InstanceScore`
(IE counts per metric and per type, grounding values per modality); ``aggregate`` turns
instance scores into :class:`Scores` (micro P/R/F1 and grounding means per set, bootstrap
CIs, macro averages); ``score`` does both for a benchmark and an iterable of predictions.

Conventions: a missing prediction and a prediction whose ``parse_error`` is set score as
an empty prediction (the latter also counts in the parse-failure rate); a metric whose set
has neither gold nor predicted items is not reported for that set (nothing to score); a
grounding metric is reported for a set when at least one instance has gold regions in its
modality.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from muie_bench.errors import UserError
from muie_bench.schema import (
    Annotation,
    Counts,
    Instance,
    InstanceScore,
    Manifest,
    Mention,
    MetricValue,
    Prediction,
    Scores,
    SetScores,
)

from .grounded import grounded_match
from .grounding import GROUNDING_METRICS, all_masks, ground_instance, task_regions
from .ie import PER_TYPE_METRICS, TASK_METRICS, match, task_items
from .rle import first_invalid, rle_error
from .stats import (
    FloatArray,
    metric_columns,
    metric_from_columns,
    metric_resamples,
    percentile_ci,
    prf,
    resample_indices,
    resample_weights,
)

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark

CI_LEVEL = 0.95
_EMPTY = Annotation()


def _pred_locations(pred_id: str, ann: Annotation) -> list[str]:
    where = f"prediction {pred_id!r}: output"
    return [f"{where}.entities[{i}]" for i in range(len(ann.entities))] + [
        f"{where}.events[{i}].trigger" for i in range(len(ann.events))
    ]


def score_instance(
    instance: Instance, prediction: Prediction | None, tau: float = 0.5, check_rle: bool = True
) -> InstanceScore:
    """Counts of every IE metric of the instance's task, grounded F1, grounding values.

    Grounding values are over the task's region mentions of both sides
    (:func:`~muie_bench.metrics.grounding.task_regions`): a mention in no tuple is ignored.

    ``prediction`` None (missing) or with ``parse_error`` set scores as empty. Raises
    UserError for a predicted mask that is not a valid RLE or whose size differs from the
    gold masks (an input error, never 0). ``check_rle=False`` skips the RLE validation for
    callers that validated every mask already (:func:`score` does, in one batch).
    """
    parse_failed = prediction is not None and prediction.parse_error is not None
    pred = _EMPTY if prediction is None or parse_failed else prediction.output
    gold = instance.gold
    gold_mentions = gold.mentions()
    pred_id = prediction.id if prediction is not None else instance.id
    grounding = ground_instance(
        gold_mentions, pred.mentions(), f"instance {instance.id!r}",
        _pred_locations(pred_id, pred), check_rle,
        task_regions(gold, instance.task), task_regions(pred, instance.task),
    )
    has_text = instance.text is not None
    g_items = task_items(gold, instance.task)
    p_items = task_items(pred, instance.task)
    counts: dict[str, Counts] = {}
    per_type: dict[str, dict[str, Counts]] = {}
    for metric in (*TASK_METRICS[instance.task], "grounded_f1"):
        gi, pi = g_items[metric], p_items[metric]
        if metric == "grounded_f1":
            tp = grounded_match(gi, pi, gold_mentions, grounding, has_text, tau)
        else:
            tp = match(gi, pi, has_text)
        counts[metric] = Counts(tp=sum(tp.values()), predicted=len(pi), gold=len(gi))
        if metric in PER_TYPE_METRICS:
            g_types = Counter(it.ptype for it in gi)
            p_types = Counter(it.ptype for it in pi)
            per_type[metric] = {
                str(t): Counts(tp=tp[t], predicted=p_types[t], gold=g_types[t])
                for t in sorted(g_types.keys() | p_types.keys(), key=str)
            }
    return InstanceScore(
        id=instance.id,
        set=instance.set,
        counts=counts,
        per_type=per_type,
        grounding={GROUNDING_METRICS[m]: g.value() for m, g in grounding.items()},
        missing=prediction is None,
        failed=prediction is not None and prediction.error is not None,
        parse_failed=parse_failed,
    )


# --------------------------------------------------------------------------- aggregation


def _ordered_metrics(scores: list[InstanceScore]) -> list[str]:
    f1_like: dict[str, None] = {}
    ground: set[str] = set()
    for s in scores:
        f1_like.update(dict.fromkeys(s.counts))
        ground.update(s.grounding)
    return [*f1_like, *(m for m in ("i_seg", "v_trck", "a_seg") if m in ground)]


def _f1_value(c: Counts) -> MetricValue:
    p, r, f = prf(c)
    return MetricValue(value=f, precision=p, recall=r, counts=c)


def aggregate(
    manifest: Manifest,
    instance_scores: list[InstanceScore],
    benchmark_info: dict[str, str],
    tau: float = 0.5,
    n_resamples: int = 1000,
    seed: int = 0,
) -> Scores:
    """Per-set metrics with bootstrap CIs, macro averages and failure counts.

    Sets appear in manifest order (only those with instance scores); an instance score
    naming a set that is not in the manifest is a UserError. Macro value = mean over the
    sets that report the metric; its CI comes from the same per-set resamples (stratified
    bootstrap: resample r of the macro is the mean of resample r of each set). Means are
    exactly rounded sums (``math.fsum``) over the count: independent of order and CPU.
    """
    by_set: dict[str, list[InstanceScore]] = {}
    for s in instance_scores:
        by_set.setdefault(s.set, []).append(s)
    known = {sp.id: sp for sp in manifest.sets}
    for sid in by_set:
        if sid not in known:
            raise UserError(f"instance scores: set {sid!r} is not in the benchmark manifest")
    sets: dict[str, SetScores] = {}
    samples: dict[str, list[tuple[float, FloatArray | None]]] = {}
    for spec in manifest.sets:
        scores = by_set.get(spec.id)
        if not scores:
            continue
        weights = (
            resample_weights(resample_indices(len(scores), n_resamples, seed, spec.id))
            if n_resamples > 0 else None
        )
        metrics: dict[str, MetricValue] = {}
        for metric in _ordered_metrics(scores):
            cols = metric_columns(scores, metric)
            if cols.shape[1] == 3:
                total = cols.sum(axis=0)
                if total[1] == 0 and total[2] == 0:
                    continue
                mv = _f1_value(Counts(tp=int(total[0]), predicted=int(total[1]), gold=int(total[2])))
            else:
                value = metric_from_columns(cols)
                if np.isnan(value):
                    continue
                mv = MetricValue(value=value, n=int(np.count_nonzero(~np.isnan(cols[:, 0]))))
            res = metric_resamples(cols, weights) if weights is not None else None
            if res is not None:
                mv.ci_low, mv.ci_high = percentile_ci(res, CI_LEVEL)
            metrics[metric] = mv
            samples.setdefault(metric, []).append((mv.value, res))
        per_type: dict[str, dict[str, MetricValue]] = {}
        for metric in PER_TYPE_METRICS:
            sums: dict[str, Counts] = {}
            for s in scores:
                for label, c in s.per_type.get(metric, {}).items():
                    sums[label] = sums[label] + c if label in sums else c
            if sums:
                per_type[metric] = {k: _f1_value(v) for k, v in sorted(sums.items())}
        sets[spec.id] = SetScores(
            set=spec.id,
            modalities=spec.modalities,
            task=spec.task,
            instances=len(scores),
            missing=sum(s.missing for s in scores),
            failed=sum(s.failed for s in scores),
            parse_failures=sum(s.parse_failed for s in scores),
            metrics=metrics,
            per_type=per_type,
        )
    macro: dict[str, MetricValue] = {}
    for metric, vals in samples.items():
        mv = MetricValue(value=math.fsum(v for v, _ in vals) / len(vals), n=len(vals))
        arrays = [r for _, r in vals if r is not None]
        if arrays and len(arrays) == len(vals):
            stacked = np.vstack(arrays)
            ok = ~np.isnan(stacked).any(axis=0)
            means = [math.fsum(col) / len(col) for col in stacked[:, ok].T.tolist()]
            mv.ci_low, mv.ci_high = percentile_ci(np.array(means, dtype=np.float64), CI_LEVEL)
        macro[metric] = mv
    n = len(instance_scores)
    missing = sum(s.missing for s in instance_scores)
    answered = n - missing
    parse_failed = sum(s.parse_failed for s in instance_scores)
    return Scores(
        benchmark=dict(benchmark_info),
        tau=tau,
        bootstrap={"resamples": n_resamples, "seed": seed, "level": CI_LEVEL,
                   "method": "percentile, instances resampled within each set"},
        sets=sets,
        macro=macro,
        instances=n,
        missing=missing,
        failed=sum(s.failed for s in instance_scores),
        parse_failure_rate=100.0 * parse_failed / answered if answered else 0.0,
    )


def score(
    benchmark: Benchmark,
    predictions: Iterable[Prediction],
    tau: float = 0.5,
    n_resamples: int = 1000,
    seed: int = 0,
) -> tuple[Scores, list[InstanceScore]]:
    """Score predictions on every instance of ``benchmark`` (a loaded :class:`Benchmark`).

    A prediction id that is not an instance of the benchmark, or a repeated id, is a
    UserError. Instances without a prediction score as empty and are counted as missing.
    """
    if not 0.0 < tau <= 1.0:
        raise UserError(f"--tau: must be in (0, 1], got {tau}")
    if n_resamples < 0:
        raise UserError(f"--resamples: must be >= 0, got {n_resamples}")
    by_id: dict[str, Prediction] = {}
    for p in predictions:
        if p.id not in benchmark:
            raise UserError(
                f"prediction id {p.id!r} is not an instance of benchmark {benchmark.name!r}"
                f" ({len(benchmark)} instances selected)"
            )
        if p.id in by_id:
            raise UserError(f"prediction id {p.id!r} appears more than once")
        by_id[p.id] = p
    _check_all_masks(benchmark, by_id)
    inst_scores = [
        score_instance(inst, by_id.get(inst.id), tau, check_rle=False) for inst in benchmark
    ]
    scores = aggregate(benchmark.manifest, inst_scores, benchmark.info(), tau, n_resamples, seed)
    return scores, inst_scores


def _check_all_masks(benchmark: Benchmark, preds: dict[str, Prediction]) -> None:
    """Validate every gold and predicted RLE of a scoring run in one vectorised batch.

    Only when a mask is invalid are the instances walked again to name its field.
    """
    owners: list[tuple[str, list[Mention]]] = [
        (f"instance {inst.id!r}: gold", inst.gold.mentions()) for inst in benchmark
    ]
    owners += [(f"prediction {p.id!r}: output", p.output.mentions())
               for p in preds.values() if p.parse_error is None]
    masks = [m for _, mentions in owners for m in all_masks(mentions)]
    if first_invalid(masks) is None:
        return
    for where, mentions in owners:
        for i, m in enumerate(mentions):
            found = [("image_mask", m.image_mask)] if m.image_mask is not None else []
            if m.video_track is not None:
                found += [(f"video_track.frames.{f}", r) for f, r in m.video_track.frames.items()]
            for field, r in found:
                err = rle_error(r)
                if err is not None:
                    raise UserError(
                        f"{where}: mention {m.id!r} (mentions[{i}]).{field}.counts: not a valid "
                        f"COCO RLE ({err})"
                    )
