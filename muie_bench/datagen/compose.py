"""Image composition with exact masks: paste binary cut-outs, later layers occlude earlier.

``Scene.mask(key)`` is exactly the set of pixels whose colour came from that layer (after
occlusion by later layers and clipping at the border), so ground truth matches the pixels.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from muie_bench.datagen.assets import U8, Mask


class Scene:
    """A canvas with named layers pasted in order."""

    def __init__(self, bg: U8) -> None:
        self.img = bg.copy()
        self.h, self.w = bg.shape[:2]
        self.masks: dict[str, Mask] = {}
        self.full: dict[str, Mask] = {}  # before occlusion by later layers
        self.boxes: dict[str, tuple[int, int, int, int]] = {}

    def paste(self, key: str, rgb: U8, mask: Mask, x: int, y: int) -> None:
        """Paste with top-left (x, y); parts outside the canvas are clipped."""
        full = np.zeros((self.h, self.w), dtype=bool)
        ph, pw = mask.shape
        y0, x0 = max(0, y), max(0, x)
        y1, x1 = min(self.h, y + ph), min(self.w, x + pw)
        if y1 > y0 and x1 > x0:
            sub = mask[y0 - y : y1 - y, x0 - x : x1 - x]
            full[y0:y1, x0:x1] = sub
            region = self.img[y0:y1, x0:x1]
            region[sub] = rgb[y0 - y : y1 - y, x0 - x : x1 - x][sub]
        for k in self.masks:
            self.masks[k] &= ~full
        self.masks[key] = full
        self.full[key] = full.copy()
        self.boxes[key] = (x, y, x + pw, y + ph)

    def visible_fraction(self, key: str, area: int) -> float:
        return float(self.masks[key].sum()) / max(1, area)

    def background_mask(self) -> Mask:
        """Pixels covered by no layer."""
        covered = np.zeros((self.h, self.w), dtype=bool)
        for m in self.masks.values():
            covered |= m
        return ~covered


def rle(mask: Mask) -> dict[str, Any]:
    """COCO compressed RLE of a binary mask, as the schema's RLE object (a JSON dict)."""
    from muie_bench import masks

    r = masks.encode(mask)
    return {"size": [r.size[0], r.size[1]], "counts": r.counts}


def jpeg_bytes(img: U8, quality: int = 90) -> bytes:
    """JPEG with 4:4:4 chroma (no subsampling), so colours stay put at mask edges."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality, subsampling=0)
    return buf.getvalue()


def place(
    rng: np.random.Generator,
    canvas_hw: tuple[int, int],
    sizes: list[tuple[int, int]],
    max_overlap: float = 0.0,
    tries: int = 200,
) -> list[tuple[int, int]]:
    """Top-left positions for boxes of (h, w) inside the canvas, pairwise overlapping at most
    ``max_overlap`` of the smaller box (best effort: the last try is kept if none fits)."""
    H, W = canvas_hw
    out: list[tuple[int, int]] = []
    for h, w in sizes:
        best: tuple[int, int] = (0, 0)
        for _ in range(tries):
            x = int(rng.integers(0, max(1, W - w + 1)))
            y = int(rng.integers(0, max(1, H - h + 1)))
            best = (x, y)
            ok = True
            for (px, py), (ph, pw) in zip(out, sizes, strict=False):
                ix = max(0, min(x + w, px + pw) - max(x, px))
                iy = max(0, min(y + h, py + ph) - max(y, py))
                if ix * iy > max_overlap * min(h * w, ph * pw):
                    ok = False
                    break
            if ok:
                break
        out.append(best)
    return out
