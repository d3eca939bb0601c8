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
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from numpy.typing import NDArray

from muie_bench.errors import UserError
from muie_bench.schema import (
    RLE,
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
    SetSpec,
)

from .grounded import grounded_match
from .grounding import (
    GROUNDING_METRICS,
    GroundingPlan,
    MaskBank,
    all_masks,
    plan_grounding,
    task_regions,
)
from .ie import PER_TYPE_METRICS, TASK_METRICS, match, task_items
from .rle import first_invalid, rle_error
from .stats import (
    FloatArray,
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
R = TypeVar("R")
_EMPTY = Annotation()


def _pred_locations(pred_id: str, ann: Annotation) -> list[str]:
    where = f"prediction {pred_id!r}: output"
    return [f"{where}.entities[{i}]" for i in range(len(ann.entities))] + [
        f"{where}.events[{i}].trigger" for i in range(len(ann.events))
    ]


@dataclass
class _Pending:
    """An instance whose groundings are planned; its mask IoUs come from a shared bank."""

    instance: Instance
    prediction: Prediction | None
    pred: Annotation
    gold_mentions: list[Mention]
    plan: GroundingPlan


def _prepare(instance: Instance, prediction: Prediction | None, bank: MaskBank,
             check_rle: bool) -> _Pending:
    """Select and check the instance's regions, requesting their mask IoUs from ``bank``."""
    parse_failed = prediction is not None and prediction.parse_error is not None
    pred = _EMPTY if prediction is None or parse_failed else prediction.output
    gold = instance.gold
    gold_mentions = gold.mentions()
    pred_id = prediction.id if prediction is not None else instance.id
    plan = plan_grounding(
        bank, gold_mentions, pred.mentions(), f"instance {instance.id!r}",
        _pred_locations(pred_id, pred), check_rle,
        task_regions(gold, instance.task), task_regions(pred, instance.task),
    )
    return _Pending(instance, prediction, pred, gold_mentions, plan)


def _finish(p: _Pending, bank: MaskBank, ious: FloatArray, tau: float) -> InstanceScore:
    instance, prediction, pred, gold_mentions = p.instance, p.prediction, p.pred, p.gold_mentions
    grounding = p.plan.finish(bank, ious)
    has_text = instance.text is not None
    g_items = task_items(instance.gold, instance.task)
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
        parse_failed=prediction is not None and prediction.parse_error is not None,
    )


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
    bank = MaskBank()
    pending = _prepare(instance, prediction, bank, check_rle)
    return _finish(pending, bank, bank.compute(), tau)


#: a chunk of :func:`score_instances` closes once its distinct masks hold this many RLE
#: characters or it holds this many mask pairs or instances (arrays stay in the CPU cache)
CHUNK_CHARS = 1 << 15
CHUNK_PAIRS = 4096
CHUNK_INSTANCES = 256


class InvalidMasks(UserError):
    """Some mask of a chunk is not a valid RLE (:func:`mask_error` names the first one)."""


def _compute(bank: MaskBank, pending: list[_Pending], validate: bool) -> FloatArray:
    if validate:  # masks outside the bank (not regions) are checked here; the bank's by decoding
        extra = [r for p in pending for r in all_masks(p.pred.mentions()) if not bank.has(r)]
        if first_invalid(extra) is not None:
            raise InvalidMasks("a predicted mask is not a valid COCO RLE")
    try:
        return bank.compute()
    except ValueError:
        raise InvalidMasks("a mask is not a valid COCO RLE") from None


def score_instances(
    pairs: Iterable[tuple[Instance, Prediction | None]], tau: float = 0.5, check_rle: bool = False,
    validate_masks: bool = False,
) -> Iterator[InstanceScore]:
    """:func:`score_instance` of every (instance, prediction) pair, in order, streaming.

    The mask IoUs of a chunk of instances (:data:`CHUNK_CHARS`, :data:`CHUNK_PAIRS`) are
    computed in one batch; the values are those of :func:`score_instance` bit for bit.
    Errors are raised in the order :func:`score_instance` one by one would raise them.
    ``check_rle`` defaults to False: the caller validated every mask (:func:`score` does).
    ``validate_masks``: the caller did not validate the predicted masks; an invalid one
    raises :class:`InvalidMasks` (without naming it: :func:`mask_error` does that) when its
    chunk is reached. The decoding that computes the IoUs is the validation.
    """
    bank = MaskBank()
    pending: list[_Pending] = []
    for instance, prediction in pairs:
        pending.append(_prepare(instance, prediction, bank, check_rle))
        if (bank.chars >= CHUNK_CHARS or len(bank) >= CHUNK_PAIRS
                or len(pending) >= CHUNK_INSTANCES):
            ious = _compute(bank, pending, validate_masks)
            yield from (_finish(p, bank, ious, tau) for p in pending)
            bank, pending = MaskBank(), []
    if pending:
        ious = _compute(bank, pending, validate_masks)
        yield from (_finish(p, bank, ious, tau) for p in pending)


# --------------------------------------------------------------------------- aggregation


class SetColumns:
    """What aggregation needs of one set's instance scores, kept compactly (streaming).

    Per F1-style metric the (tp, predicted, gold) rows and per grounding metric the values
    (NaN where an instance has none), in instance order, as :func:`metric_columns` would
    build them from the :class:`InstanceScore` list (a metric absent from an instance counts
    0 / NaN); per-type counts summed; failure counters.
    """

    def __init__(self) -> None:
        self.n = 0
        self.counts: dict[str, array[int]] = {}  # metric -> flat tp, predicted, gold rows
        self.ground: dict[str, array[float]] = {}
        self.per_type: dict[str, dict[str, Counts]] = {}
        self.missing = self.failed = self.parse_failures = 0

    def add(self, s: InstanceScore) -> None:
        for metric, c in s.counts.items():
            col = self.counts.get(metric)
            if col is None:
                col = self.counts[metric] = array("q", bytes(24 * self.n))
            col.extend((c.tp, c.predicted, c.gold))
        for metric, col in self.counts.items():
            if metric not in s.counts:
                col.extend((0, 0, 0))
        for metric, v in s.grounding.items():
            g = self.ground.get(metric)
            if g is None:
                g = self.ground[metric] = array("d", [math.nan] * self.n)
            g.append(v)
        for metric, g in self.ground.items():
            if metric not in s.grounding:
                g.append(math.nan)
        for metric in PER_TYPE_METRICS:
            labels = s.per_type.get(metric)
            if labels:
                sums = self.per_type.setdefault(metric, {})
                for label, c in labels.items():
                    sums[label] = sums[label] + c if label in sums else c
        self.missing += s.missing
        self.failed += s.failed
        self.parse_failures += s.parse_failed
        self.n += 1

    def metrics(self) -> list[str]:
        """F1-style metrics in first-seen order, then the grounding metrics present."""
        return [*self.counts, *(m for m in ("i_seg", "v_trck", "a_seg") if m in self.ground)]

    def columns(self, metric: str) -> FloatArray:
        """``(n, 3)`` counts or ``(n, 1)`` values (:func:`metric_columns`)."""
        if metric in self.counts:
            return np.frombuffer(self.counts[metric], dtype=np.int64).astype(np.float64).reshape(self.n, 3)
        return np.frombuffer(self.ground[metric], dtype=np.float64).copy().reshape(self.n, 1)


class ScoreColumns:
    """Instance scores of a benchmark folded into :class:`SetColumns` per set (in the order
    they arrive, which is the order the bootstrap resamples index)."""

    def __init__(self) -> None:
        self.sets: dict[str, SetColumns] = {}
        self.n = self.missing = self.failed = self.parse_failed = 0

    def add(self, s: InstanceScore) -> None:
        cols = self.sets.get(s.set)
        if cols is None:
            cols = self.sets[s.set] = SetColumns()
        cols.add(s)
        self.n += 1
        self.missing += s.missing
        self.failed += s.failed
        self.parse_failed += s.parse_failed


def _f1_value(c: Counts) -> MetricValue:
    p, r, f = prf(c)
    return MetricValue(value=f, precision=p, recall=r, counts=c)


def aggregate(
    manifest: Manifest,
    instance_scores: Iterable[InstanceScore],
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
    acc = ScoreColumns()
    for s in instance_scores:
        acc.add(s)
    return aggregate_columns(manifest, acc, benchmark_info, tau, n_resamples, seed)


#: a metric's set value and its bootstrap resamples (None without resamples)
Samples = dict[str, tuple[float, "FloatArray | None"]]


#: bootstrap resamples are recomputed in blocks of this many rows (bounded memory)
RESAMPLE_BLOCK = 128


def _resamples(cols: FloatArray, idx: NDArray[np.int64]) -> FloatArray:
    """:func:`metric_resamples` over the resample index rows ``idx``, in blocks of rows:
    every row's value depends on that row only (exact sums), so the result is the same."""
    return np.concatenate([metric_resamples(cols, resample_weights(idx[r:r + RESAMPLE_BLOCK]))
                           for r in range(0, len(idx), RESAMPLE_BLOCK)])


def set_scores(spec: SetSpec, cs: SetColumns, n_resamples: int = 1000, seed: int = 0
               ) -> tuple[SetScores, Samples]:
    """The scores of one set from its columns, and per metric (value, resamples) for the
    macro average. Depends on nothing but the set (its own random stream)."""
    idx = resample_indices(cs.n, n_resamples, seed, spec.id) if n_resamples > 0 else None
    metrics: dict[str, MetricValue] = {}
    samples: Samples = {}
    for metric in cs.metrics():
        cols = cs.columns(metric)
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
        res = _resamples(cols, idx) if idx is not None else None
        if res is not None:
            mv.ci_low, mv.ci_high = percentile_ci(res, CI_LEVEL)
        metrics[metric] = mv
        samples[metric] = (mv.value, res)
    per_type: dict[str, dict[str, MetricValue]] = {}
    for metric in PER_TYPE_METRICS:
        sums = cs.per_type.get(metric)
        if sums:
            per_type[metric] = {k: _f1_value(v) for k, v in sorted(sums.items())}
    ss = SetScores(
        set=spec.id,
        modalities=spec.modalities,
        task=spec.task,
        instances=cs.n,
        missing=cs.missing,
        failed=cs.failed,
        parse_failures=cs.parse_failures,
        metrics=metrics,
        per_type=per_type,
    )
    return ss, samples


def aggregate_columns(
    manifest: Manifest,
    acc: ScoreColumns,
    benchmark_info: dict[str, str],
    tau: float = 0.5,
    n_resamples: int = 1000,
    seed: int = 0,
    done: dict[str, tuple[SetScores, Samples]] | None = None,
) -> Scores:
    """:func:`aggregate` of instance scores already folded into ``acc``. ``done`` holds
    :func:`set_scores` results computed elsewhere (e.g. in worker processes) by set id."""
    known = {sp.id: sp for sp in manifest.sets}
    for sid in acc.sets:
        if sid not in known:
            raise UserError(f"instance scores: set {sid!r} is not in the benchmark manifest")
    sets: dict[str, SetScores] = {}
    samples: dict[str, list[tuple[float, FloatArray | None]]] = {}
    for spec in manifest.sets:
        cs = acc.sets.get(spec.id)
        if cs is None or cs.n == 0:
            continue
        got = done.get(spec.id) if done is not None else None
        ss, set_samples = got if got is not None else set_scores(spec, cs, n_resamples, seed)
        sets[spec.id] = ss
        for metric, vr in set_samples.items():
            samples.setdefault(metric, []).append(vr)
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
    n = acc.n
    answered = n - acc.missing
    return Scores(
        benchmark=dict(benchmark_info),
        tau=tau,
        bootstrap={"resamples": n_resamples, "seed": seed, "level": CI_LEVEL,
                   "method": "percentile, instances resampled within each set"},
        sets=sets,
        macro=macro,
        instances=n,
        missing=acc.missing,
        failed=acc.failed,
        parse_failure_rate=100.0 * acc.parse_failed / answered if answered else 0.0,
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
    pairs = [(inst, by_id.get(inst.id)) for inst in benchmark]
    weights: dict[str, int] = {}
    for inst, _ in pairs:
        weights[inst.set] = weights.get(inst.set, 0) + 1 + len(all_masks(inst.gold.mentions()))
    groups = balanced_groups(weights, len(pairs))
    if groups is not None:
        done = _score_parallel(pairs, groups, benchmark.manifest, tau, n_resamples, seed)
        if done is not None:
            inst_scores, acc, set_done = done
            scores = aggregate_columns(benchmark.manifest, acc, benchmark.info(), tau, n_resamples,
                                       seed, set_done)
            return scores, inst_scores
    inst_scores = list(score_instances(pairs, tau))
    scores = aggregate(benchmark.manifest, inst_scores, benchmark.info(), tau, n_resamples, seed)
    return scores, inst_scores


#: benchmarks of at least this many instances are scored by forked worker processes, one
#: balanced group of sets each, when the machine has two or more cores and ``fork`` exists
PARALLEL_MIN_INSTANCES = 1000
#: at most this many worker processes
MAX_WORKERS = 2
_SHARED: dict[str, object] = {}  # what forked workers inherit


def balanced_groups(weights: dict[str, int], n: int) -> list[list[str]] | None:
    """Set ids in groups of about equal weight (largest first, each to the lightest group),
    one per worker; None when ``n`` < :data:`PARALLEL_MIN_INSTANCES`, there is one set, the
    machine has one core or no ``fork``, or other threads run (forking them is unsafe)."""
    import multiprocessing
    import os
    import threading

    if threading.active_count() > 1:
        return None

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    workers = min(MAX_WORKERS, cores)
    if (n < PARALLEL_MIN_INSTANCES or workers < 2 or len(weights) < 2
            or "fork" not in multiprocessing.get_all_start_methods()):
        return None
    groups: list[list[str]] = [[] for _ in range(workers)]
    load = [0] * workers
    for sid in sorted(weights, key=lambda k: (-weights[k], k)):
        w = load.index(min(load))
        groups[w].append(sid)
        load[w] += weights[sid]
    return [g for g in groups if g]


def run_forked(fn: Callable[[list[str]], R], groups: list[list[str]], shared: dict[str, object]
               ) -> list[R] | None:
    """``fn(group)`` for every group in forked worker processes (which inherit ``shared`` as
    this module's ``_SHARED``); None when a worker fails (the caller then works serially,
    which raises any error exactly as before)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _SHARED.update(shared)
    try:
        with ProcessPoolExecutor(len(groups), mp_context=multiprocessing.get_context("fork")) as ex:
            return list(ex.map(fn, groups))
    except Exception:
        return None
    finally:
        _SHARED.clear()


def _score_group(set_ids: list[str]) -> tuple[list[int], list[InstanceScore], dict[str, SetColumns],
                                              dict[str, tuple[SetScores, Samples]]]:
    pairs: list[tuple[Instance, Prediction | None]] = _SHARED["pairs"]  # type: ignore[assignment]
    manifest: Manifest = _SHARED["manifest"]  # type: ignore[assignment]
    options: tuple[float, int, int] = _SHARED["options"]  # type: ignore[assignment]
    tau, n_resamples, seed = options
    want = set(set_ids)
    positions = [k for k, (inst, _) in enumerate(pairs) if inst.set in want]
    inst_scores = list(score_instances((pairs[k] for k in positions), tau))
    acc = ScoreColumns()
    for sc in inst_scores:
        acc.add(sc)
    specs = {sp.id: sp for sp in manifest.sets}
    done = {sid: set_scores(specs[sid], cs, n_resamples, seed) for sid, cs in acc.sets.items()
            if sid in specs}
    return positions, inst_scores, acc.sets, done


def merge_columns(parts: Iterable[dict[str, SetColumns]]) -> ScoreColumns:
    """One :class:`ScoreColumns` from the per-set columns of disjoint groups of sets."""
    acc = ScoreColumns()
    for cols in parts:
        acc.sets.update(cols)
        for cs in cols.values():
            acc.n += cs.n
            acc.missing += cs.missing
            acc.failed += cs.failed
            acc.parse_failed += cs.parse_failures
    return acc


def _score_parallel(pairs: list[tuple[Instance, Prediction | None]], groups: list[list[str]],
                    manifest: Manifest, tau: float, n_resamples: int, seed: int
                    ) -> tuple[list[InstanceScore], ScoreColumns,
                               dict[str, tuple[SetScores, Samples]]] | None:
    results = run_forked(_score_group, groups, {"pairs": pairs, "manifest": manifest,
                                                "options": (tau, n_resamples, seed)})
    if results is None:
        return None
    ordered: list[InstanceScore | None] = [None] * len(pairs)
    done: dict[str, tuple[SetScores, Samples]] = {}
    for positions, scores, _, group_done in results:
        for k, sc in zip(positions, scores, strict=True):
            ordered[k] = sc
        done.update(group_done)
    acc = merge_columns(cols for _, _, cols, _ in results)
    if any(x is None for x in ordered):  # pragma: no cover - every instance is in a group
        return None
    return [x for x in ordered if x is not None], acc, done


def _check_all_masks(benchmark: Benchmark, preds: dict[str, Prediction]) -> None:
    """Validate every gold and predicted RLE of a scoring run (UserError on the first invalid
    one, gold first). Gold masks known valid (``benchmark.gold_masks_valid``) are skipped,
    and so are predicted masks equal to one of them."""
    known: set[tuple[tuple[int, int], str]] = set()
    if benchmark.gold_masks_valid:
        known = {(m.size, m.counts) for inst in benchmark for m in all_masks(inst.gold.mentions())}
    else:
        err = mask_error((f"instance {inst.id!r}: gold", inst.gold.mentions()) for inst in benchmark)
        if err is not None:
            raise UserError(err)
    err = mask_error(((f"prediction {p.id!r}: output", p.output.mentions())
                      for p in preds.values() if p.parse_error is None), known)
    if err is not None:
        raise UserError(err)


def _mask_fields(m: Mention) -> list[tuple[str, RLE]]:
    found = [("image_mask", m.image_mask)] if m.image_mask is not None else []
    if m.video_track is not None:
        found += [(f"video_track.frames.{f}", r) for f, r in m.video_track.frames.items()]
    return found


def mask_error(owners: Iterable[tuple[str, Sequence[Mention]]],
               known_valid: set[tuple[tuple[int, int], str]] | None = None) -> str | None:
    """``where: mention 'id' (mentions[i]).field.counts: not a valid COCO RLE (why)`` for
    the first invalid mask of the owners' mentions (in order), or None if all are valid.

    ``owners`` are ``(where, mentions)`` pairs, read once in batches (bounded memory, one
    vectorised decode per batch); masks in ``known_valid`` (``(size, counts)``) are skipped.
    """
    batch: list[tuple[str, Sequence[Mention]]] = []
    masks: list[RLE] = []

    def first_error() -> str | None:
        if first_invalid(masks) is None:
            return None
        for where, mentions in batch:
            for i, m in enumerate(mentions):
                for field, r in _mask_fields(m):
                    err = rle_error(r)
                    if err is not None:
                        return (f"{where}: mention {m.id!r} (mentions[{i}]).{field}.counts: not a "
                                f"valid COCO RLE ({err})")
        return None  # pragma: no cover - first_invalid found one

    chars = 0
    for where, mentions in owners:
        found = all_masks(mentions)
        if known_valid:
            found = [r for r in found if (r.size, r.counts) not in known_valid]
        batch.append((where, mentions))
        masks.extend(found)
        chars += sum(len(r.counts) for r in found)
        if chars >= 1 << 18:
            err = first_error()
            if err is not None:
                return err
            batch, masks, chars = [], [], 0
    return first_error() if masks else None
