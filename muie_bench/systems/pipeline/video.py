"""Video perception: frame sampling, per-frame detection / OCR / motion, IoU tracklets.

Frames are sampled every ``1 / sample_fps`` seconds. On each sampled frame the Haar detector
(faces, persons), optionally OCR (every ``ocr_every``-th sampled frame) and a motion
segmenter (difference to the median of the sampled frames: the moving cut-outs of a static
scene) produce boxes. Boxes are linked greedily into tracklets: same label (and same
normalised text for OCR) and IoU >= ``link_iou`` with the tracklet's last box, allowing
``max_gap`` missed samples. A tracklet becomes a per-frame track: boxes are linearly
interpolated between observations and held for half a sampling step beyond the ends; a
moving tracklet's box is cut to that frame's foreground pixels (the object's shape).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from muie_bench.schema import RLE, VideoTrack
from muie_bench.systems.pipeline.common import (
    Box,
    box_iou,
    box_to_rle,
    clip_box,
    mask_to_rle,
    norm,
)
from muie_bench.systems.pipeline.detect import HaarDetector
from muie_bench.systems.pipeline.ocr import RapidOcr


@dataclass
class Tracklet:
    label: str
    text: str = ""
    boxes: dict[int, Box] = field(default_factory=dict)
    score: float = 0.0

    def per_frame(self, n_frames: int, hold: int) -> dict[int, Box]:
        """Box of every frame the tracklet covers (interpolated, ends held ``hold`` frames)."""
        keys = sorted(self.boxes)
        out: dict[int, Box] = {}
        for a, b in itertools.pairwise(keys):
            ba, bb = np.asarray(self.boxes[a]), np.asarray(self.boxes[b])
            for f in range(a, b):
                t = (f - a) / (b - a)
                out[f] = tuple(float(v) for v in ba * (1 - t) + bb * t)  # type: ignore[assignment]
        for f in range(max(0, keys[0] - hold), keys[0]):
            out[f] = self.boxes[keys[0]]
        for f in range(keys[-1], min(n_frames, keys[-1] + hold + 1)):
            out[f] = self.boxes[keys[-1]]
        return out

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "text": self.text, "samples": len(self.boxes),
                "frames": [min(self.boxes), max(self.boxes)]}


@dataclass
class VideoPerception:
    """Sampled-frame perception of one video and its tracklets."""

    fps: float
    n_frames: int
    height: int
    width: int
    step: int
    tracklets: list[Tracklet]
    #: per-frame foreground (differs from the median background), when motion is on
    foreground: list[np.ndarray[Any, Any]] | None = None
    min_fill: float = 0.3

    def track(self, t: Tracklet) -> VideoTrack:
        """Per-frame masks: the box, cut to the frame's foreground for moving tracklets when
        the foreground fills at least ``min_fill`` of the box (the object's shape)."""
        boxes = t.per_frame(self.n_frames, hold=self.step // 2)
        frames: dict[int, RLE] = {}
        for f, b in sorted(boxes.items()):
            if t.label == "moving" and self.foreground is not None:
                x0, y0, x1, y1 = (round(v) for v in clip_box(b, self.height, self.width))
                fg = np.zeros((self.height, self.width), np.uint8)
                fg[y0:y1, x0:x1] = self.foreground[f][y0:y1, x0:x1]
                area = max(1, (x1 - x0) * (y1 - y0))
                if fg.sum() >= self.min_fill * area:
                    frames[f] = mask_to_rle(fg)
                    continue
            frames[f] = box_to_rle(b, self.height, self.width)
        return VideoTrack(fps=self.fps, frames=frames)

    def ocr_text(self) -> list[str]:
        return [t.text for t in self.tracklets if t.label == "text"]

    def to_json(self) -> dict[str, Any]:
        return {"fps": self.fps, "frames": self.n_frames, "step": self.step,
                "tracklets": [t.to_json() for t in self.tracklets]}


def yuv420p_to_rgb(y: np.ndarray[Any, Any], u: np.ndarray[Any, Any], v: np.ndarray[Any, Any]
                   ) -> np.ndarray[Any, Any]:
    """RGB of a BT.601 limited-range 4:2:0 picture, integer arithmetic only (the 8-bit fixed-point
    inverse matrix, each chroma sample used for its 2x2 block): the same bytes on every CPU,
    unlike FFmpeg's swscale, whose SIMD paths round differently from its C path."""
    h, w = y.shape
    c = y.astype(np.int32) - 16
    d = np.repeat(np.repeat(u.astype(np.int32) - 128, 2, axis=0), 2, axis=1)[:h, :w]
    e = np.repeat(np.repeat(v.astype(np.int32) - 128, 2, axis=0), 2, axis=1)[:h, :w]
    r = (298 * c + 409 * e + 128) >> 8
    g = (298 * c - 100 * d - 208 * e + 128) >> 8
    b = (298 * c + 516 * d + 128) >> 8
    rgb: np.ndarray[Any, Any] = np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)
    return rgb


def decode_rgb(path: Path, integer_yuv: bool = True) -> Iterator[np.ndarray[Any, Any]]:
    """Decoded RGB frames of a video in order. yuv420p streams (H.264 decoding is bit-exact by
    its standard) are converted by :func:`yuv420p_to_rgb` when ``integer_yuv``; other pixel
    formats, and ``integer_yuv=False``, go through swscale (``rgb24``)."""
    import av

    with av.open(str(path)) as cont:
        for frame in cont.decode(video=0):
            if integer_yuv and frame.format.name == "yuv420p":
                h, w = frame.height, frame.width
                planes = []
                for i, (ph, pw) in enumerate([(h, w), ((h + 1) // 2, (w + 1) // 2),
                                              ((h + 1) // 2, (w + 1) // 2)]):
                    plane = frame.planes[i]
                    buf = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
                    planes.append(buf[:ph, :pw])
                yield yuv420p_to_rgb(*planes)
            else:
                yield np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)


@dataclass
class VideoAnalyzer:
    #: RGB from yuv420p by integer arithmetic (:func:`decode_rgb`), not by swscale
    integer_yuv: bool = True
    sample_fps: float = 4.0
    ocr_every: int = 4
    use_ocr: bool = True
    use_motion: bool = True
    motion_threshold: float = 30.0
    motion_min_area: float = 0.002
    link_iou: float = 0.3
    max_gap: int = 2
    min_samples: int = 2

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> VideoAnalyzer:
        return cls(**settings)

    def analyze(self, frames: list[np.ndarray[Any, Any]], fps: float,
                detector: HaarDetector | None, ocr: RapidOcr | None) -> VideoPerception:
        """Tracklets of the decoded RGB ``frames`` (all frames of the video, in order)."""
        n = len(frames)
        h, w = (frames[0].shape[:2]) if n else (1, 1)
        step = max(1, round(fps / self.sample_fps))
        idx = list(range(0, n, step))
        per_sample: list[list[tuple[str, str, Box, float]]] = []
        fg = self._foreground(frames, idx) if self.use_motion and len(idx) >= 3 else None
        motion = self._motion(fg, idx) if fg is not None else {}
        for k, f in enumerate(idx):
            found: list[tuple[str, str, Box, float]] = []
            if detector is not None:
                found += [(d.label, "", d.box, d.score) for d in detector.detect(frames[f])]
            if ocr is not None and self.use_ocr and k % self.ocr_every == 0:
                found += [("text", ln.text, ln.box, ln.score) for ln in ocr.read(frames[f])]
            found += [("moving", "", b, s) for b, s in motion.get(f, [])]
            per_sample.append(found)
        tracks = self._link(idx, per_sample)
        return VideoPerception(fps, n, h, w, step, tracks, fg)

    def _foreground(self, frames: list[np.ndarray[Any, Any]], idx: list[int]
                    ) -> list[np.ndarray[Any, Any]]:
        """Per frame: pixels differing from the median of the sampled frames, opened/closed."""
        import cv2

        bg = np.median(np.stack([frames[i] for i in idx]).astype(np.int16), axis=0)
        kernel = np.ones((5, 5), np.uint8)
        out = []
        for fr in frames:
            diff = np.abs(fr.astype(np.int16) - bg).max(axis=2) > self.motion_threshold
            m = cv2.morphologyEx(diff.astype(np.uint8), cv2.MORPH_OPEN, kernel)
            out.append(cv2.morphologyEx(m, cv2.MORPH_CLOSE, kernel))
        return out

    def _motion(self, fg: list[np.ndarray[Any, Any]], idx: list[int]
                ) -> dict[int, list[tuple[Box, float]]]:
        """Boxes of the connected foreground regions of the sampled frames."""
        import cv2

        h, w = fg[0].shape
        out: dict[int, list[tuple[Box, float]]] = {}
        for i in idx:
            n, _lab, stats, _c = cv2.connectedComponentsWithStats(fg[i], connectivity=8)
            boxes = []
            for j in range(1, n):
                x, y, bw, bh, area = (int(v) for v in stats[j])
                if area >= self.motion_min_area * h * w:
                    boxes.append(((float(x), float(y), float(x + bw), float(y + bh)),
                                  float(area) / (h * w)))
            out[i] = boxes
        return out

    def _link(self, idx: list[int], per_sample: list[list[tuple[str, str, Box, float]]]
              ) -> list[Tracklet]:
        done: list[Tracklet] = []
        active: list[tuple[Tracklet, int]] = []  # tracklet, sample index of its last box
        for k, (f, found) in enumerate(zip(idx, per_sample, strict=True)):
            used: set[int] = set()
            still: list[tuple[Tracklet, int]] = []
            for t, last in active:
                lb = t.boxes[max(t.boxes)]
                best, best_iou = -1, self.link_iou
                for j, (label, text, box, _s) in enumerate(found):
                    if j in used or label != t.label or (label == "text" and
                                                          norm(text) != norm(t.text)):
                        continue
                    iou = box_iou(lb, box)
                    if iou >= best_iou:
                        best, best_iou = j, iou
                if best >= 0:
                    used.add(best)
                    t.boxes[f] = found[best][2]
                    t.score = max(t.score, found[best][3])
                    still.append((t, k))
                elif k - last <= self.max_gap * (self.ocr_every if t.label == "text" else 1):
                    still.append((t, last))
                else:
                    done.append(t)
            for j, (label, text, box, s) in enumerate(found):
                if j not in used:
                    still.append((Tracklet(label, text, {f: box}, s), k))
            active = still
        done.extend(t for t, _ in active)
        keep = [t for t in done if len(t.boxes) >= self.min_samples or t.label == "text"]
        return sorted(keep, key=lambda t: (-len(t.boxes), min(t.boxes)))
