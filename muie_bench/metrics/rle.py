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

    Same checks as :func:`rle_error`, decoded for all masks in one vectorised pass (the hot
    path: a few numpy calls per instance instead of per mask); the reason of a failure is
    taken from :func:`rle_error` on the masks one by one.
    """
    start = 0
    while start < len(rles):  # chunks of ~16k characters: arrays stay in the allocator cache
        end, chars = start, 0
        while end < len(rles) and (end == start or chars < 1 << 14):
            chars += len(rles[end].counts)
            end += 1
        chunk = rles[start:end]
        if not _all_valid(chunk):
            for i, r in enumerate(chunk):
                err = rle_error(r)
                if err is not None:
                    return start + i, err
        start = end
    return None


def _all_valid(rles: Sequence[RLE]) -> bool:
    try:
        raw = "".join(r.counts for r in rles).encode("ascii")
    except UnicodeEncodeError:
        return False
    lens = np.fromiter((len(r.counts) for r in rles), dtype=np.int64, count=len(rles))
    if int(lens.min()) == 0:
        return False
    a = np.frombuffer(raw, dtype=np.uint8).astype(np.int64) - 48
    if int(a.min()) < 0 or int(a.max()) >= 64:
        return False
    end = (a & 0x20) == 0
    if not end[np.cumsum(lens) - 1].all():
        return False  # a mask's string ends inside a number
    starts = np.flatnonzero(np.concatenate(([True], end[:-1])))
    group = np.cumsum(np.concatenate(([0], end[:-1].astype(np.int64))))
    k = np.arange(a.size) - starts[group]
    if int(k.max()) > 11:
        return False
    vals = np.add.reduceat((a & 0x1F) << (5 * k), starts)
    neg = (a[end] & 0x10) != 0
    vals[neg] -= np.left_shift(1, 5 * (k[end][neg] + 1))
    mask_of_char = np.repeat(np.arange(len(rles)), lens)
    mask_of = mask_of_char[starts]  # mask of every number
    first_num = np.flatnonzero(np.concatenate(([True], mask_of[1:] != mask_of[:-1])))
    m = np.arange(vals.size) - first_num[mask_of]  # index of the number within its mask
    for parity, lo in ((1, 1), (0, 2)):  # runs[m] += runs[m - 2] for m > 2
        sel = (m >= lo) & (m % 2 == parity)
        vals[sel] = _segmented_cumsum(vals[sel], mask_of[sel])
    if int(vals.min()) < 0:
        return False
    totals = np.add.reduceat(vals, first_num)
    if len(first_num) != len(rles):
        return False
    areas = np.fromiter((r.size[0] * r.size[1] for r in rles), dtype=np.int64, count=len(rles))
    return bool(np.array_equal(totals, areas))
