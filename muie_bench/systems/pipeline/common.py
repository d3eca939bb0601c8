"""Small shared pieces of the pipeline: stage timing, words with times, boxes and RLE masks.

A *box* is ``(x0, y0, x1, y1)`` in pixels, half-open (``x1``/``y1`` exclusive), clipped to the
image. Masks are COCO RLE (:class:`muie_bench.schema.RLE`), encoded with pycocotools.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from muie_bench.schema import RLE
from muie_bench.text import normalise_loose

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Word:
    """A word with its time span in seconds (``start < end``)."""

    text: str
    start: float
    end: float


@contextmanager
def timed(trace: dict[str, Any], stage: str) -> Iterator[None]:
    """Adds the wall time of the block to ``trace["timings"][stage]`` (seconds, summed)."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings = trace.setdefault("timings", {})
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t0


def norm(text: str) -> str:
    """The pipelines' matching key (:func:`muie_bench.text.normalise_loose`)."""
    return normalise_loose(text)


def tokens(text: str) -> list[str]:
    """Normalised word tokens of ``text`` (letters, digits, apostrophes)."""
    return re.findall(r"[\w']+", text.casefold())


def resample(samples: np.ndarray[Any, Any], rate: int, target: int = 16000) -> np.ndarray[Any, Any]:
    """Mono float32 ``samples`` at ``rate`` resampled to ``target`` Hz (polyphase filter)."""
    if rate == target:
        return np.asarray(samples, dtype=np.float32)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate, target)
    out: np.ndarray[Any, Any] = resample_poly(samples, target // g, rate // g)
    return out.astype(np.float32)


def clip_box(box: Box, h: int, w: int) -> Box:
    x0, y0, x1, y1 = box
    return max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1)


def box_iou(a: Box, b: Box) -> float:
    """IoU of two boxes; 0 when either is empty."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area if area > 0 else 0.0


def union_box(boxes: list[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def box_to_rle(box: Box, h: int, w: int) -> RLE:
    """RLE of the pixels inside ``box`` (rounded to whole pixels) on an ``h x w`` canvas."""
    x0, y0, x1, y1 = (round(v) for v in clip_box(box, h, w))
    mask = np.zeros((h, w), dtype=np.uint8, order="F")
    if x1 > x0 and y1 > y0:
        mask[y0:y1, x0:x1] = 1
    return mask_to_rle(mask)


def mask_to_rle(mask: np.ndarray[Any, Any]) -> RLE:
    """RLE of a binary ``h x w`` mask."""
    from muie_bench import masks

    return masks.encode(mask)
