"""COCO run-length encoded masks: validation and conversion for pycocotools.

pycocotools trusts its input: a malformed ``counts`` string can make it loop for ever or
read garbage, and masks of different sizes silently score 0. Every mask therefore passes
:func:`rle_error` (a numpy decode of the run lengths) before it reaches pycocotools.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from muie_bench.schema import RLE

CocoRle = dict[str, Any]


def rle_runs(counts: str) -> NDArray[np.int64]:
    """Decode a COCO compressed counts string into run lengths (pycocotools' rleFrString).

    Alternating runs of 0s and 1s in column-major order, starting with 0s. Vectorised
    with numpy (a mask's string is decoded in tens of microseconds). Raises ValueError on
    a character outside the alphabet ('0'..'o'), a truncated number or a negative run.
    """
    try:
        raw = counts.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("non-ASCII character in the counts string") from None
    a = np.frombuffer(raw, dtype=np.uint8).astype(np.int64) - 48
    if a.size == 0:
        return a
    if int(a.min()) < 0 or int(a.max()) >= 64:
        raise ValueError("character outside the RLE alphabet '0'..'o'")
    end = (a & 0x20) == 0
    if not end[-1]:
        raise ValueError("truncated run length")
    starts = np.flatnonzero(np.concatenate(([True], end[:-1])))
    group = np.cumsum(np.concatenate(([0], end[:-1].astype(np.int64))))
    k = np.arange(a.size) - starts[group]
    if int(k.max()) > 11:
        raise ValueError("run length too large")
    vals = np.add.reduceat((a & 0x1F) << (5 * k), starts)
    last = a[end]
    neg = (last & 0x10) != 0
    vals[neg] -= np.left_shift(1, 5 * (k[end][neg] + 1))
    vals[1::2] = np.cumsum(vals[1::2])  # runs[m] += runs[m - 2] for m > 2
    vals[2::2] = np.cumsum(vals[2::2])
    if vals.size and int(vals.min()) < 0:
        raise ValueError("negative run length")
    return vals


def rle_error(rle: RLE) -> str | None:
    """Why ``rle`` is not a valid mask of its size (runs must sum to height x width), or None."""
    try:
        total = int(rle_runs(rle.counts).sum())
    except ValueError as e:
        return str(e)
    h, w = rle.size
    if total != h * w:
        return f"run lengths sum to {total}, not height x width = {h * w}"
    return None


def rle_areas(rles: Sequence[RLE]) -> NDArray[np.int64]:
    """Foreground pixel count of every (valid) mask: the sum of its odd-indexed runs.

    Used instead of ``pycocotools.mask.area``, which fails on 256 or more masks
    (``OverflowError`` from a uint8 counter with numpy 2). Equal counts strings are decoded
    once.
    """
    seen: dict[str, int] = {}
    out = np.empty(len(rles), dtype=np.int64)
    for i, r in enumerate(rles):
        a = seen.get(r.counts)
        if a is None:
            a = seen[r.counts] = int(rle_runs(r.counts)[1::2].sum())
        out[i] = a
    return out


def to_coco(rle: RLE) -> CocoRle:
    """The dict pycocotools.mask functions take (counts as bytes)."""
    return {"size": [rle.size[0], rle.size[1]], "counts": rle.counts.encode("ascii")}


def _segmented_cumsum(x: NDArray[np.int64], seg: NDArray[np.int64]) -> NDArray[np.int64]:
    """Cumulative sums of ``x`` restarting wherever ``seg`` (non-decreasing) changes."""
    if x.size == 0:
        return x
    cs = np.cumsum(x)
    first = np.flatnonzero(np.concatenate(([True], seg[1:] != seg[:-1])))
    offset = np.zeros_like(cs)
    offset[first[1:]] = cs[first[1:] - 1]
    return cs - np.maximum.accumulate(offset)


def first_invalid(rles: Sequence[RLE]) -> tuple[int, str] | None:
    """(index, reason) of the first invalid mask among ``rles``, or None if all are valid.

    Same checks as :func:`rle_error`, decoded for many masks in one vectorised pass
    (:func:`decode_batch`, chunks of ~32k characters: the arrays stay in the CPU cache);
    the reason of a failure is taken from :func:`rle_error` on the masks one by one.
    """
    start = 0
    while start < len(rles):
        end, chars = start, 0
        while end < len(rles) and (end == start or chars < 1 << 15):
            chars += len(rles[end].counts)
            end += 1
        chunk = rles[start:end]
        if decode_batch(chunk) is None:
            for i, r in enumerate(chunk):
                err = rle_error(r)
                if err is not None:
                    return start + i, err
        start = end
    return None


class RunsBatch:
    """The run lengths of many valid masks, decoded together.

    ``runs`` holds every mask's runs back to back; mask ``i``'s are
    ``runs[first[i]:first[i + 1]]``. ``pixels[i]`` is its height x width.
    """

    __slots__ = ("_areas", "first", "local", "pixels", "rles", "runs")

    def __init__(self, rles: Sequence[RLE], runs: NDArray[np.int64], first: NDArray[np.int64],
                 local: NDArray[np.int64], pixels: NDArray[np.int64]) -> None:
        self.rles = rles
        self.runs = runs
        self.first = first
        self.local = local  # index of every run within its mask
        self.pixels = pixels
        self._areas: NDArray[np.int64] | None = None

    def __len__(self) -> int:
        return len(self.pixels)

    def coco(self, i: int) -> CocoRle:
        """Mask ``i`` as pycocotools takes it."""
        return to_coco(self.rles[i])

    def areas(self) -> NDArray[np.int64]:
        """Foreground pixels of every mask (sum of its odd-indexed runs)."""
        if self._areas is None:
            odd = np.where(self.local % 2 == 1, self.runs, 0)
            cs = np.concatenate(([0], np.cumsum(odd)))
            self._areas = cs[self.first[1:]] - cs[self.first[:-1]]
        return self._areas

    def canonical(self) -> NDArray[np.bool_]:
        """Masks without a zero-length run after the first (what every RLE encoder writes)."""
        zero = ((self.runs == 0) & (self.local >= 1)).astype(np.int64)
        cs = np.concatenate(([0], np.cumsum(zero)))
        return np.asarray((cs[self.first[1:]] - cs[self.first[:-1]]) == 0)

    def foreground(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """(starts, ends, first): the foreground intervals ``[start, end)`` (pixel offsets in
        column-major order) of every mask; mask ``i``'s are ``[first[i]:first[i + 1]]``."""
        ends = _segmented_cumsum(self.runs, np.repeat(np.arange(len(self)), np.diff(self.first)))
        odd = np.flatnonzero(self.local % 2 == 1)
        mask_of = np.repeat(np.arange(len(self)), np.diff(self.first))[odd]
        counts = np.bincount(mask_of, minlength=len(self))
        first = np.concatenate(([0], np.cumsum(counts)))
        return ends[odd - 1], ends[odd], first


def decode_batch(rles: Sequence[RLE]) -> RunsBatch | None:
    """The runs of every mask in one vectorised pass (pycocotools' ``rleFrString``), or None
    when some mask is not a valid RLE of its size (checks of :func:`rle_error`)."""
    if not rles:
        z = np.zeros(0, dtype=np.int64)
        return RunsBatch(rles, z, np.zeros(1, dtype=np.int64), z, z)
    try:
        raw = "".join([r.counts for r in rles]).encode("ascii")
    except UnicodeEncodeError:
        return None
    lens = np.fromiter((len(r.counts) for r in rles), dtype=np.int64, count=len(rles))
    if int(lens.min()) == 0:
        return None
    c = np.frombuffer(raw, dtype=np.uint8)
    if int(c.min()) < 48 or int(c.max()) >= 112:
        return None  # outside the alphabet '0'..'o'
    c = c - np.uint8(48)
    ends = np.flatnonzero(c < 32)  # the last character of every number (0x20 bit clear)
    char_end = np.cumsum(lens) - 1
    bounds = np.concatenate(([0], np.searchsorted(ends, char_end, side="right")))
    if ends.size == 0 or not np.array_equal(ends[bounds[1:] - 1], char_end):
        return None  # a mask's string ends inside a number
    starts = np.concatenate(([0], ends[:-1] + 1))
    length = ends - starts + 1
    longest = int(length.max())
    if longest > 12:
        return None
    vals = (c[starts] & 0x1F).astype(np.int64)
    for j in range(1, longest):
        sel = np.flatnonzero(length > j)
        vals[sel] |= (c[starts[sel] + j] & 0x1F).astype(np.int64) << (5 * j)
    neg = np.flatnonzero(c[ends] & 0x10)
    vals[neg] -= np.left_shift(np.int64(1), 5 * length[neg])
    per_mask = np.diff(bounds)
    mask_of = np.repeat(np.arange(len(rles)), per_mask)
    first = bounds[:-1]
    m = np.arange(vals.size) - first[mask_of]  # index of the number within its mask
    # runs[m] += runs[m - 2] for m > 2: cumulative sums along each parity within each mask
    odd = (m & 1) == 1
    even2 = ~odd & (m >= 2)
    runs = vals.copy()
    for sel in (odd, even2):
        cs = np.cumsum(np.where(sel, vals, 0))
        before = np.concatenate(([0], cs))[first]  # sum before each mask's first number
        runs[sel] = (cs - before[mask_of])[sel]
    if int(runs.min()) < 0:
        return None
    totals = np.add.reduceat(runs, first)
    pixels = np.fromiter((r.size[0] * r.size[1] for r in rles), dtype=np.int64, count=len(rles))
    if not np.array_equal(totals, pixels):
        return None
    return RunsBatch(rles, runs, bounds.astype(np.int64), m, pixels)


def pair_iou(batch: RunsBatch, a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.float64]:
    """IoU of the mask pairs ``(a[p], b[p])`` (indices into ``batch``; equal sizes), bit for
    bit what ``pycocotools.mask.iou`` returns for each pair, with two empty masks scoring 1.

    For masks without zero-length runs after the first (:meth:`RunsBatch.canonical`),
    pycocotools' run walk counts the exact intersection ``i`` and union ``u`` and returns
    ``i / u`` as a double (0 when ``i`` is 0; pairs whose boxes do not meet have ``i`` = 0).
    Here ``i`` is the sum of the overlaps of the foreground intervals, found with one
    ``searchsorted`` over all pairs (each pair placed at its own pixel offset), ``u`` is
    ``area_a + area_b - i``, and the division is the same IEEE division. A mask with
    itself is 1 (``i = u``); masks whose pixel ranges do not meet are 0 without a search.
    Pairs with a non-canonical mask go to pycocotools itself (its walk can stop early on
    such runs; pairs that share no pixel are 0 for it too).
    """
    n = len(a)
    out = np.zeros(n, dtype=np.float64)
    if n == 0:
        return out
    areas = batch.areas()
    canon = batch.canonical()
    fs, fe, ff = batch.foreground()
    counts = np.diff(ff)
    # exact shortcuts: a mask with itself (i = u: 1.0); pixel ranges that do not meet, or an
    # empty side (i = 0: 0.0, or 1.0 for two empty masks below)
    same = a == b
    lo = np.where(counts > 0, fs[np.minimum(ff[:-1], max(fs.size - 1, 0))], 0) if fs.size else counts
    hi = np.where(counts > 0, fe[np.maximum(ff[1:] - 1, 0)], 0) if fs.size else counts
    meet = (counts[a] > 0) & (counts[b] > 0) & (lo[a] < hi[b]) & (lo[b] < hi[a])
    fast = canon[a] & canon[b]
    out[fast & same & meet] = 1.0
    idx = np.flatnonzero(fast & ~same & meet)
    if idx.size:
        pa, pb = a[idx], b[idx]
        base = np.concatenate(([0], np.cumsum(batch.pixels[pa])[:-1]))
        a_s, a_e = _gather(fs, fe, ff, counts, pa, base)
        b_s, b_e = _gather(fs, fe, ff, counts, pb, base)
        b_s = np.concatenate(([-1], b_s))  # an empty interval first: every x >= 0 has one before
        b_e = np.concatenate(([-1], b_e))
        cum_len = np.concatenate(([0], np.cumsum(b_e - b_s)))

        def covered(x: NDArray[np.int64]) -> NDArray[np.int64]:
            """Foreground pixels of the b masks before position x (all pairs together)."""
            k = np.searchsorted(b_s, x, side="right")
            return np.asarray(cum_len[k] - np.maximum(b_e[k - 1] - x, 0))

        part = covered(a_e) - covered(a_s)
        cs = np.concatenate(([0], np.cumsum(part)))
        na = counts[pa]
        ends = np.cumsum(na)
        inter = cs[ends] - cs[ends - na]
        union = areas[pa] + areas[pb] - inter
        vals = np.zeros(idx.size, dtype=np.float64)
        hit = inter > 0
        vals[hit] = inter[hit].astype(np.float64) / union[hit].astype(np.float64)
        out[idx] = vals
    slow = np.flatnonzero(~fast & meet)
    if slow.size:
        from pycocotools import mask as mask_utils

        for p in slow.tolist():
            ra, rb = batch.coco(int(a[p])), batch.coco(int(b[p]))
            out[p] = float(np.asarray(mask_utils.iou([ra], [rb], [0]), dtype=np.float64).ravel()[0])
    empty = (areas[a] == 0) & (areas[b] == 0)
    out[empty] = 1.0
    return out


def _gather(fs: NDArray[np.int64], fe: NDArray[np.int64], ff: NDArray[np.int64],
            counts: NDArray[np.int64], masks: NDArray[np.int64], base: NDArray[np.int64]
            ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The foreground intervals of ``masks`` (one entry per pair), shifted by ``base``."""
    c = counts[masks]
    total = int(c.sum())
    pair = np.repeat(np.arange(len(masks)), c)
    offs = np.concatenate(([0], np.cumsum(c)[:-1]))
    pos = ff[masks][pair] + (np.arange(total) - offs[pair])
    shift = base[pair]
    return fs[pos] + shift, fe[pos] + shift
