"""Binary masks as COCO run-length encodings (:class:`muie_bench.schema.RLE`), exactly as
``pycocotools.mask`` computes them.

``encode`` (dense H x W array -> RLE), ``decode`` (RLE -> bool array), ``area`` (pixels
set), ``bbox`` (``(x, y, w, h)`` of the set pixels, zeros when none), ``iou`` (intersection
over union; 0.0 when both masks are empty) and ``merge`` (pixel union, or intersection).
Every RLE is checked before it reaches pycocotools (which trusts its input): a malformed
counts string or one whose runs do not cover height x width raises ValueError, as do masks
of different sizes given to ``iou`` / ``merge``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from muie_bench.schema import RLE

__all__ = ["area", "bbox", "check", "decode", "encode", "iou", "merge"]


def _runs_total(counts: str) -> int:
    """Sum of the run lengths of a compressed counts string (pycocotools' rleFrString)."""
    runs: list[int] = []
    p = 0
    while p < len(counts):
        x, k, more = 0, 0, True
        while more:
            if p >= len(counts):
                raise ValueError("truncated run length")
            c = ord(counts[p]) - 48
            if not 0 <= c < 64:
                raise ValueError(f"character {counts[p]!r} outside the RLE alphabet '0'..'o'")
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
    return sum(runs)


def check(rle: RLE) -> RLE:
    """``rle`` itself; ValueError when its runs do not decode to exactly height x width pixels."""
    h, w = rle.size
    total = _runs_total(rle.counts)
    if total != h * w:
        raise ValueError(f"RLE run lengths sum to {total}, not height x width = {h * w}")
    return rle


def _coco(rle: RLE) -> dict[str, Any]:
    check(rle)
    return {"size": [rle.size[0], rle.size[1]], "counts": rle.counts.encode("ascii")}


def _from_coco(obj: dict[str, Any]) -> RLE:
    counts = obj["counts"]
    return RLE(size=(int(obj["size"][0]), int(obj["size"][1])),
               counts=counts.decode("ascii") if isinstance(counts, bytes) else str(counts))


def encode(mask: NDArray[Any]) -> RLE:
    """The RLE of a 2-D array (nonzero = set); ValueError for another shape or an empty side."""
    from pycocotools import mask as mask_utils

    if mask.ndim != 2 or mask.shape[0] == 0 or mask.shape[1] == 0:
        raise ValueError(f"expected a non-empty 2-D mask, got shape {mask.shape}")
    return _from_coco(mask_utils.encode(np.asfortranarray(mask != 0, dtype=np.uint8)))


def decode(rle: RLE) -> NDArray[np.bool_]:
    """The H x W boolean array of ``rle``."""
    from pycocotools import mask as mask_utils

    return np.asarray(mask_utils.decode(_coco(rle)), dtype=bool)


def area(rle: RLE) -> int:
    """Number of set pixels."""
    from pycocotools import mask as mask_utils

    return int(mask_utils.area(_coco(rle)))


def bbox(rle: RLE) -> tuple[float, float, float, float]:
    """``(x, y, width, height)`` of the set pixels; ``(0, 0, 0, 0)`` for an empty mask."""
    from pycocotools import mask as mask_utils

    x, y, w, h = (float(v) for v in mask_utils.toBbox(_coco(rle)))
    return (x, y, w, h)


def _same_size(rles: Sequence[RLE]) -> None:
    sizes = {tuple(r.size) for r in rles}
    if len(sizes) > 1:
        raise ValueError(f"masks of different sizes: {sorted(sizes)}")


def iou(a: RLE, b: RLE) -> float:
    """|a ∩ b| / |a ∪ b| (pycocotools' mask IoU, no crowd); 0.0 when both are empty."""
    from pycocotools import mask as mask_utils

    _same_size([a, b])
    return float(mask_utils.iou([_coco(a)], [_coco(b)], [0])[0][0])


def merge(rles: Sequence[RLE], intersect: bool = False) -> RLE:
    """Pixel union of the masks (intersection with ``intersect=True``); ValueError if none."""
    from pycocotools import mask as mask_utils

    if not rles:
        raise ValueError("merge of no masks")
    _same_size(rles)
    if len(rles) == 1:
        return check(rles[0]).model_copy()
    return _from_coco(mask_utils.merge([_coco(r) for r in rles], intersect=int(intersect)))
