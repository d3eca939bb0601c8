"""Overlay sheet of a benchmark: gold masks drawn on images and video frames (PNG).

One row per set that has images or video; per instance a 320x240 cell: the image with
every mention's mask tinted, outlined and labelled, or 4 frames (2x2) of the video with each track's
mask in those frames. Colours cycle per mention; labels are ``type:text`` (triggers: the
event type).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from muie_bench.errors import UserError

CELL_W, CELL_H, LABEL_W = 320, 240, 90
COLOURS = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
           (145, 30, 180), (70, 240, 240), (240, 50, 230))


def _decode(rle: Any) -> np.ndarray[Any, np.dtype[np.bool_]]:
    from pycocotools import mask as mask_utils

    m = mask_utils.decode({"size": list(rle.size), "counts": rle.counts.encode()})
    return np.asarray(m, dtype=bool)


def _outline(m: np.ndarray[Any, np.dtype[np.bool_]]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Mask pixels with a 4-neighbour outside the mask (the border of the image counts)."""
    p = np.pad(m, 1)
    inner = p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return np.asarray(m & ~inner)


def _overlay(img: np.ndarray[Any, Any], masks: list[tuple[str, Any]]) -> Image.Image:
    out = img.astype(np.float32)
    boxes = []
    for i, (label, rle) in enumerate(masks):
        m = _decode(rle)
        c = np.asarray(COLOURS[i % len(COLOURS)], np.float32)
        alpha = 0.15 if m.mean() > 0.4 else 0.45  # large "stuff" masks stay see-through
        out[m] = (1 - alpha) * out[m] + alpha * c
        out[_outline(m)] = c
        ys, xs = np.nonzero(m)
        if len(ys):
            boxes.append((label, int(xs.min()), int(ys.min()), COLOURS[i % len(COLOURS)]))
    im = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    for label, x, y, colour in boxes:
        d.text((x + 1, y + 1), label, fill=(0, 0, 0))
        d.text((x, y), label, fill=colour)
    return im


def _labelled(inst: Any) -> list[tuple[str, Any]]:
    out = [(f"{m.type or ''}:{m.text}", m) for m in inst.gold.entities]
    out += [(f"<{e.type}>", e.trigger) for e in inst.gold.events]
    return out


def _cell(bench: Any, inst: Any) -> Image.Image:
    if inst.image is not None:
        img = bench.media.image(inst.image)
        masks = [(lab, m.image_mask) for lab, m in _labelled(inst) if m.image_mask is not None]
        return _overlay(img, masks).resize((CELL_W, CELL_H))
    frames = list(bench.media.video_frames(inst.video))
    picks = np.linspace(0, len(frames) - 1, 4).round().astype(int)
    sheet = Image.new("RGB", (CELL_W, CELL_H))
    for j, fi in enumerate(picks):
        masks = [(lab, m.video_track.frames[int(fi)]) for lab, m in _labelled(inst)
                 if m.video_track is not None and int(fi) in m.video_track.frames]
        tile = _overlay(frames[fi], masks).resize((CELL_W // 2, CELL_H // 2))
        ImageDraw.Draw(tile).text((2, CELL_H // 2 - 12), f"frame {fi}", fill=(255, 255, 255))
        sheet.paste(tile, ((j % 2) * CELL_W // 2, (j // 2) * CELL_H // 2))
    return sheet


def write_preview(benchmark: str | Path, out: Path, sets: list[str] | None = None,
                  per_set: int = 3, palette: bool = False) -> Path:
    """Write the overlay sheet of ``benchmark`` to ``out`` (PNG) and return its path.
    ``palette`` stores 256 colours (a much smaller file, e.g. for documentation)."""
    from muie_bench.benchmark import load_benchmark

    bench = load_benchmark(benchmark)
    visual = [s.id for s in bench.manifest.sets if {"image", "video"} & set(s.modalities)]
    chosen = sets or visual
    for s in chosen:
        if s not in visual:
            raise UserError(f"--sets: {s!r} is not a set with images or video ({', '.join(visual)})")
    if per_set < 1:
        raise UserError(f"--per-set: must be >= 1, got {per_set}")
    rows = [(s, [i for i in bench.instances if i.set == s][:per_set]) for s in chosen]
    rows = [(s, insts) for s, insts in rows if insts]
    if not rows:
        raise UserError(f"{benchmark}: no instances in the chosen sets")
    sheet = Image.new("RGB", (LABEL_W + per_set * CELL_W, len(rows) * CELL_H), (255, 255, 255))
    d = ImageDraw.Draw(sheet)
    for r, (s, insts) in enumerate(rows):
        d.text((6, r * CELL_H + CELL_H // 2 - 6), s, fill=(0, 0, 0))
        for c, inst in enumerate(insts):
            sheet.paste(_cell(bench, inst), (LABEL_W + c * CELL_W, r * CELL_H))
            d.text((LABEL_W + c * CELL_W + 4, r * CELL_H + 2), inst.id, fill=(255, 255, 255))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if palette:
        sheet = sheet.quantize(256)
    sheet.save(out, format="PNG", optimize=True)
    return out
