"""COCO run-length encoded masks: validation and conversion for pycocotools.

pycocotools trusts its input: a malformed ``counts`` string can make it loop for ever or
read garbage, and masks of different sizes silently score 0. Every mask therefore passes
:func:`rle_error` (a pure-Python decode of the run lengths) before it reaches pycocotools.
"""

from __future__ import annotations

from typing import Any

from muie_bench.schema import RLE

CocoRle = dict[str, Any]


def rle_runs(counts: str) -> list[int]:
    """Decode a COCO compressed counts string into run lengths (pycocotools' rleFrString).

    Raises ValueError on a character outside the alphabet ('0'..'o'), a truncated number
    or a negative run.
    """
    runs: list[int] = []
    p, n = 0, len(counts)
    while p < n:
        x = k = 0
        more = True
        while more:
            if p >= n:
                raise ValueError("truncated run length")
            c = ord(counts[p]) - 48
            if not 0 <= c < 64:
                raise ValueError(f"character {counts[p]!r} is not in the RLE alphabet")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        if x < 0:
            raise ValueError("negative run length")
        runs.append(x)
    return runs


def rle_error(rle: RLE) -> str | None:
    """Why ``rle`` is not a valid mask of its size (runs must sum to height x width), or None."""
    try:
        total = sum(rle_runs(rle.counts))
    except ValueError as e:
        return str(e)
    h, w = rle.size
    if total != h * w:
        return f"run lengths sum to {total}, not height x width = {h * w}"
    return None


def to_coco(rle: RLE) -> CocoRle:
    """The dict pycocotools.mask functions take (counts as bytes)."""
    return {"size": [rle.size[0], rle.size[1]], "counts": rle.counts.encode("ascii")}
