"""Grounding IoU: I-Seg (image masks), V-Trck (video mask tracks), A-Seg (audio time spans).

Conventions: the IoU of two empty regions is 1, of an empty and a non-empty
region 0; masks of different sizes are an input error (:class:`UserError`), never 0.

The **regions** of an annotation are the mentions its task's tuples refer to, on both the
gold and the predicted side (:func:`task_regions`): NER, the entities; RE, the heads and
tails of the relations; EE, the arguments of the events and, in a modality where some gold
trigger of the instance is grounded, the triggers. A mention in no tuple is not a region
(it neither caps a perfect answer nor earns credit); a region counts in a modality when it
carries a grounding there.

Per instance and modality, the gold regions ``G`` and predicted regions ``K`` are matched
one-to-one by the Hungarian algorithm maximising the summed IoU; the smaller side is
padded with empty matches to ``P = max(|G|, |K|)`` that score 0, and the instance value is
the matched IoU sum divided by ``P`` (:func:`hungarian_mean`).

Every sum of floats here is exactly rounded (``math.fsum``), so no value depends on the
order of the mentions, on the matching order or on the CPU's SIMD width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pycocotools import mask as mask_utils
from scipy.optimize import linear_sum_assignment

from muie_bench.errors import UserError
from muie_bench.schema import RLE, Annotation, AudioSpan, Mention, Modality, Task, VideoTrack

from .rle import first_invalid, rle_areas, to_coco

FloatMatrix = NDArray[np.float64]

#: grounding metric id of each media modality
GROUNDING_METRICS: dict[Modality, str] = {"image": "i_seg", "video": "v_trck", "audio": "a_seg"}


def hungarian_mean(iou: FloatMatrix) -> float:
    """Mean IoU of the best one-to-one matching of the rows (gold) and columns (predicted).

    ``sum of matched IoUs / max(rows, cols)``: unmatched regions on the larger side score 0.
    A 0x0 matrix gives 1.0 (nothing to ground, nothing predicted); 0 rows and k > 0
    columns gives 0.0.

    Exactly invariant to the order of the columns (predicted regions): the columns are
    put in a canonical (lexicographic) order before matching, and the matched IoUs are
    summed exactly rounded (``math.fsum``), so tied matchings of equal real sum give the
    same value too.
    """
    g, k = iou.shape
    p = max(g, k)
    if p == 0:
        return 1.0
    if g == 0 or k == 0:
        return 0.0
    canonical = iou[:, np.lexsort(iou[::-1])]
    rows, cols = linear_sum_assignment(canonical, maximize=True)
    total: float = math.fsum(canonical[rows, cols].tolist())
    return total / int(p)


# --------------------------------------------------------------------------- image masks


def mask_iou_matrix(gold: Sequence[RLE], pred: Sequence[RLE]) -> FloatMatrix:
    """IoU of every gold mask (rows) with every predicted mask (columns), on RLE.

    ``|A & B| / |A | B|`` computed by ``pycocotools.mask.iou`` without decoding; two empty
    masks score 1. All masks must have one size (checked by :func:`check_masks`).
    """
    if not gold or not pred:
        return np.zeros((len(gold), len(pred)))
    g = [to_coco(m) for m in gold]
    k = [to_coco(m) for m in pred]
    iou = np.asarray(mask_utils.iou(g, k, [0] * len(k)), dtype=np.float64).reshape(len(g), len(k))
    g_empty = rle_areas(gold) == 0
    k_empty = rle_areas(pred) == 0
    if g_empty.any() and k_empty.any():
        iou[np.outer(g_empty, k_empty)] = 1.0
    return iou


def check_masks(
    masks: Sequence[tuple[str, RLE]], size: tuple[int, int] | None, check_rle: bool = True
) -> None:
    """Raise UserError for an invalid RLE or one whose size differs from ``size``.

    ``masks`` are (location, mask) pairs; the location names the offending field. All
    masks are validated in one vectorised pass (:func:`first_invalid`) unless
    ``check_rle`` is False (the caller validated them already).
    """
    if size is not None:
        for where, m in masks:
            if m.size != size:
                raise UserError(
                    f"{where}.size: mask size {list(m.size)} differs from the gold mask size "
                    f"{list(size)}"
                )
    bad = first_invalid([m for _, m in masks]) if check_rle else None
    if bad is not None:
        raise UserError(f"{masks[bad[0]][0]}.counts: not a valid COCO RLE ({bad[1]})")


# --------------------------------------------------------------------------- video tracks


def track_iou_matrix(gold: Sequence[VideoTrack], pred: Sequence[VideoTrack]) -> FloatMatrix:
    """Track IoU of every gold track (rows) with every predicted track (columns).

    A pair's IoU is the mean, over the frames where either track has a mask, of the
    per-frame mask IoU; a frame present on one side only scores 0. Two tracks with no
    frames score 1. Frame indices are compared as they are (fps is not used).
    Per-frame IoUs are computed once per frame for all pairs present in it and summed
    exactly rounded (``math.fsum``) per pair.
    """
    n_g, n_k = len(gold), len(pred)
    if n_g == 0 or n_k == 0:
        return np.zeros((n_g, n_k))
    parts: dict[tuple[int, int], list[float]] = {}
    by_frame_g: dict[int, list[tuple[int, RLE]]] = {}
    for i, t in enumerate(gold):
        for f, m in t.frames.items():
            by_frame_g.setdefault(f, []).append((i, m))
    by_frame_k: dict[int, list[tuple[int, RLE]]] = {}
    for j, t in enumerate(pred):
        for f, m in t.frames.items():
            by_frame_k.setdefault(f, []).append((j, m))
    for f, gs in by_frame_g.items():
        ks = by_frame_k.get(f)
        if not ks:
            continue
        iou = mask_iou_matrix([m for _, m in gs], [m for _, m in ks]).tolist()
        for a, (i, _) in enumerate(gs):
            for b, (j, _) in enumerate(ks):
                parts.setdefault((i, j), []).append(iou[a][b])
    inter = np.zeros((n_g, n_k))
    for (i, j), vals in parts.items():
        inter[i, j] = math.fsum(vals)
    frames_g = [set(t.frames) for t in gold]
    frames_k = [set(t.frames) for t in pred]
    union = np.array(
        [[len(a | b) for b in frames_k] for a in frames_g], dtype=np.float64
    ).reshape(n_g, n_k)
    out = np.ones((n_g, n_k))
    nz = union > 0
    out[nz] = inter[nz] / union[nz]
    return out


def check_tracks(
    tracks: Sequence[tuple[str, VideoTrack]], size: tuple[int, int] | None, check_rle: bool = True
) -> None:
    """Raise UserError for an invalid frame mask or one whose size differs from ``size``."""
    check_masks([(f"{where}.frames.{f}", m) for where, t in tracks for f, m in t.frames.items()],
                size, check_rle)


# --------------------------------------------------------------------------- audio spans


def span_union(spans: Sequence[AudioSpan]) -> list[tuple[float, float]]:
    """Sorted, disjoint intervals covering the union of ``spans`` (touching ones merge)."""
    out: list[tuple[float, float]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def span_iou(a: Sequence[AudioSpan], b: Sequence[AudioSpan]) -> float:
    """1-D IoU of the unions of two lists of [start, end] time spans, in [0, 1].

    Two empty lists score 1; an empty and a non-empty list 0. Lengths and the intersection
    are exactly rounded sums (``math.fsum``). A non-finite time (NaN, +-inf) is a
    ValueError: it has no place on a time axis (the file readers reject it first).
    """
    for s, e in (*a, *b):
        if not (math.isfinite(s) and math.isfinite(e)):
            raise ValueError(f"audio span [{s}, {e}]: times must be finite numbers")
    ua, ub = span_union(a), span_union(b)
    len_a = math.fsum(e - s for s, e in ua)
    len_b = math.fsum(e - s for s, e in ub)
    if len_a <= 0 and len_b <= 0:
        return 1.0
    pieces: list[float] = []
    i = j = 0
    while i < len(ua) and j < len(ub):
        lo = max(ua[i][0], ub[j][0])
        hi = min(ua[i][1], ub[j][1])
        if hi > lo:
            pieces.append(hi - lo)
        if ua[i][1] < ub[j][1]:
            i += 1
        else:
            j += 1
    inter = math.fsum(pieces)
    return min(1.0, inter / math.fsum((len_a, len_b, -inter)))


def span_iou_matrix(
    gold: Sequence[Sequence[AudioSpan]], pred: Sequence[Sequence[AudioSpan]]
) -> FloatMatrix:
    """:func:`span_iou` of every gold span list (rows) with every predicted one (columns)."""
    out = np.zeros((len(gold), len(pred)))
    for i, a in enumerate(gold):
        for j, b in enumerate(pred):
            out[i, j] = span_iou(a, b)
    return out


# --------------------------------------------------------------------------- per instance


@dataclass
class ModalityGrounding:
    """Gold and predicted regions of one modality in one instance and their IoU matrix.

    ``gold`` / ``pred`` are indices into the instance's gold / predicted mention lists
    (:meth:`Annotation.mentions` order) of the mentions grounded in this modality.
    """

    modality: Modality
    gold: list[int]
    pred: list[int]
    iou: FloatMatrix
    gold_empty: list[bool]

    def value(self) -> float:
        """The instance's grounding value (:func:`hungarian_mean` of the IoU matrix)."""
        return hungarian_mean(self.iou)

    def pair_iou(self, gold_mention: int, pred_mention: int) -> float:
        """IoU of one gold and one predicted mention's regions in this modality.

        A predicted mention without a region here counts as an empty region (IoU 1 with an
        empty gold region, else 0). A gold mention not grounded here raises KeyError.
        """
        r = self._rows[gold_mention]
        c = self._cols.get(pred_mention)
        if c is not None:
            return float(self.iou[r, c])
        return 1.0 if self.gold_empty[r] else 0.0

    def __post_init__(self) -> None:
        self._rows = {m: r for r, m in enumerate(self.gold)}  # O(1) pair lookups
        self._cols = {m: c for c, m in enumerate(self.pred)}


def all_masks(mentions: Sequence[Mention]) -> list[RLE]:
    """Every image mask and video frame mask of ``mentions``, in mention order."""
    out: list[RLE] = []
    for m in mentions:
        if m.image_mask is not None:
            out.append(m.image_mask)
        if m.video_track is not None:
            out.extend(m.video_track.frames.values())
    return out


def _gold_size(masks: list[RLE], where: str) -> tuple[int, int] | None:
    sizes = {tuple(m.size) for m in masks}
    if len(sizes) > 1:
        raise UserError(f"{where}: gold masks have different sizes {sorted(sizes)}")
    return next(iter(sizes)) if sizes else None  # type: ignore[return-value]


@dataclass(frozen=True)
class Regions:
    """Indices (in :meth:`Annotation.mentions` order) of an annotation's region mentions.

    ``mentions``: entity mentions some tuple refers to; ``triggers``: event triggers (regions
    only in a modality where some gold trigger of the instance is grounded).
    """

    mentions: frozenset[int]
    triggers: frozenset[int]


def task_regions(ann: Annotation, task: Task) -> Regions:
    """The region mentions of ``ann`` for ``task`` (the definition in the module docstring)."""
    index = {m.id: i for i, m in enumerate(ann.mentions())}
    if task == "ner":
        return Regions(frozenset(range(len(ann.entities))), frozenset())
    if task == "re":
        return Regions(frozenset(index[r.head] for r in ann.relations)
                       | frozenset(index[r.tail] for r in ann.relations), frozenset())
    args = frozenset(index[a.mention] for e in ann.events for a in e.arguments)
    return Regions(args, frozenset(index[e.trigger.id] for e in ann.events))


def _selected(mentions: Sequence[Mention], regions: Regions | None, triggers: bool) -> list[int]:
    """Indices of the region mentions (every mention when ``regions`` is None)."""
    if regions is None:
        return list(range(len(mentions)))
    keep = regions.mentions | regions.triggers if triggers else regions.mentions
    return sorted(keep)


def _masks(mentions: Sequence[Mention], sel: Sequence[int]) -> tuple[list[int], list[RLE]]:
    """Indices and image masks of the selected mentions that carry one."""
    pairs = [(i, m) for i in sel if (m := mentions[i].image_mask) is not None]
    return [i for i, _ in pairs], [r for _, r in pairs]


def _tracks(mentions: Sequence[Mention], sel: Sequence[int]) -> tuple[list[int], list[VideoTrack]]:
    """Indices and video tracks of the selected mentions that carry one."""
    pairs = [(i, t) for i in sel if (t := mentions[i].video_track) is not None]
    return [i for i, _ in pairs], [t for _, t in pairs]


def ground_instance(
    gold: Sequence[Mention],
    pred: Sequence[Mention],
    where: str,
    pred_where: Sequence[str],
    check_rle: bool = True,
    gold_regions: Regions | None = None,
    pred_regions: Regions | None = None,
) -> dict[Modality, ModalityGrounding]:
    """IoU matrices of every modality in which some gold region is grounded.

    ``where`` names the instance (for gold errors); ``pred_where[i]`` names predicted
    mention i's field (for prediction errors). ``gold_regions`` / ``pred_regions``
    (:func:`task_regions`) select the region mentions; None: every mention is a region.
    Modalities without gold regions are absent (an instance without gold groundings in a
    modality is not in that modality's mean), so predicted regions there are neither
    checked nor scored; mentions that are not regions are neither. ``check_rle=False``
    skips the RLE validation (sizes are always checked) for callers that validated every
    mask.
    """
    def trig(mod: Modality) -> bool:  # triggers are regions in mod: a gold trigger is grounded
        if gold_regions is None:
            return True
        return any(mod in gold[t].grounded_modalities() for t in gold_regions.triggers)

    out: dict[Modality, ModalityGrounding] = {}
    gi, gm = _masks(gold, _selected(gold, gold_regions, trig("image")))
    if gi:
        size = _gold_size(gm, where)
        pi, pm = _masks(pred, _selected(pred, pred_regions, trig("image")))
        check_masks([(f"{where}: gold mask", m) for m in gm]
                    + [(f"{pred_where[j]}.image_mask", pm[n]) for n, j in enumerate(pi)], size,
                    check_rle)
        iou = mask_iou_matrix(gm, pm)
        empty = [bool(a == 0) for a in rle_areas(gm)]
        out["image"] = ModalityGrounding("image", gi, pi, iou, empty)
    gv, gt = _tracks(gold, _selected(gold, gold_regions, trig("video")))
    if gv:
        size = _gold_size([m for t in gt for m in t.frames.values()], where)
        pv, pt = _tracks(pred, _selected(pred, pred_regions, trig("video")))
        check_tracks([(f"{where}: gold track", t) for t in gt]
                     + [(f"{pred_where[j]}.video_track", pt[n]) for n, j in enumerate(pv)], size,
                     check_rle)
        out["video"] = ModalityGrounding(
            "video", gv, pv, track_iou_matrix(gt, pt), [not t.frames for t in gt]
        )
    audio_trig = trig("audio")
    ga = [i for i in _selected(gold, gold_regions, audio_trig) if gold[i].audio_spans is not None]
    if ga:
        gs = [gold[i].audio_spans or [] for i in ga]
        pa = [j for j in _selected(pred, pred_regions, audio_trig)
              if pred[j].audio_spans is not None]
        ps = [pred[j].audio_spans or [] for j in pa]
        out["audio"] = ModalityGrounding(
            "audio", ga, pa, span_iou_matrix(gs, ps), [not s for s in gs]
        )
    return out
