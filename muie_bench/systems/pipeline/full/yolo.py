"""Instance segmentation and tracking with ultralytics YOLO (``*-seg.pt`` checkpoints).

Images: masks of the detected instances at the image's size, labelled with the model's
class names (COCO for the public checkpoints). Video: ``model.track`` (ByteTrack or
BoT-SORT, ``tracker``) over the frames in order, one frame per call (the tracker is
sequential; images are batched); each track id becomes a tracklet with a mask on every frame it
was seen on (frames sampled at ``sample_fps`` when set; unsampled frames have no mask).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from muie_bench.schema import RLE
from muie_bench.systems.pipeline.common import Box, mask_to_rle
from muie_bench.systems.pipeline.full.common import local_weights, require, resolve_device
from muie_bench.systems.pipeline.full.settings import YoloSettings

SETTING = "yolo.model"


@dataclass(frozen=True)
class Segment:
    """One instance: class label, score, box ``(x0, y0, x1, y1)`` and its mask."""

    label: str
    score: float
    box: Box
    mask: RLE

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "score": round(self.score, 3),
                "box": [round(v, 1) for v in self.box]}


@dataclass
class Track:
    """A tracked instance: per-frame masks (frame index -> RLE) and boxes."""

    track_id: int
    label: str
    score: float = 0.0
    masks: dict[int, RLE] = field(default_factory=dict)
    boxes: dict[int, Box] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.track_id, "label": self.label, "score": round(self.score, 3),
                "frames": [min(self.masks), max(self.masks)] if self.masks else []}


class YoloSegmenter:
    def __init__(self, settings: YoloSettings, device: str = "auto") -> None:
        self.cfg = settings
        self.device_setting = settings.device or device
        self.device = ""
        self._model: Any = None

    def load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("YOLO_OFFLINE", "1")  # no update checks, no downloads
            path = local_weights(self.cfg.model, SETTING, "YOLO segmentation checkpoint")
            ul = require("ultralytics", SETTING)
            self.device = resolve_device(self.device_setting, "yolo.device")
            try:
                self._model = ul.YOLO(path, task="segment")
            except Exception as e:
                raise load_error(e, f"{SETTING}: cannot load {path!r}") from None
        return self._model

    def _kw(self) -> dict[str, Any]:
        kw = {"imgsz": self.cfg.imgsz, "conf": self.cfg.conf, "iou": self.cfg.iou,
              "max_det": self.cfg.max_det, "device": self.device, "verbose": False,
              "retina_masks": True}
        if self.cfg.half and self.device.startswith("cuda"):
            kw["half"] = True
        return kw

    @staticmethod
    def _segments(result: Any) -> list[tuple[Segment, int | None]]:
        """(segment, track id or None) of one ultralytics result, masks at the frame size."""
        h, w = result.orig_shape
        if result.boxes is None or len(result.boxes) == 0 or result.masks is None:
            return []
        boxes = result.boxes.xyxy.cpu().numpy()
        cls = result.boxes.cls.cpu().numpy().astype(int)
        conf = result.boxes.conf.cpu().numpy()
        ids = result.boxes.id.cpu().numpy().astype(int) if result.boxes.id is not None else None
        data = result.masks.data.cpu().numpy() > 0.5
        out: list[tuple[Segment, int | None]] = []
        for k in range(len(boxes)):
            m = data[k]
            if m.shape != (h, w):  # retina masks are at the frame size; guard anyway
                import cv2

                m = cv2.resize(m.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
            box = tuple(float(v) for v in boxes[k])
            seg = Segment(result.names[int(cls[k])], float(conf[k]), box,  # type: ignore[arg-type]
                          mask_to_rle(m))
            out.append((seg, int(ids[k]) if ids is not None else None))
        return out

    def segment(self, images: list[np.ndarray[Any, Any]]) -> list[list[Segment]]:
        """Instances of each RGB image, highest score first."""
        model = self.load()
        out: list[list[Segment]] = []
        for k in range(0, len(images), self.cfg.batch_size):
            bgr = [np.ascontiguousarray(a[:, :, ::-1]) for a in images[k : k + self.cfg.batch_size]]
            for r in model.predict(bgr, **self._kw()):
                out.append(sorted((s for s, _ in self._segments(r)), key=lambda s: -s.score))
        return out

    def track(self, frames: list[np.ndarray[Any, Any]], fps: float) -> list[Track]:
        """Tracks over the RGB ``frames`` (see the module docstring), longest first."""
        model = self.load()
        step = max(1, round(fps / self.cfg.sample_fps)) if self.cfg.sample_fps > 0 else 1
        idx = list(range(0, len(frames), step))
        tracks: dict[int, Track] = {}
        for n, f in enumerate(idx):  # persist=False on the first frame resets the tracker
            bgr = np.ascontiguousarray(frames[f][:, :, ::-1])
            (r,) = model.track(bgr, persist=n > 0, tracker=self.cfg.tracker, **self._kw())
            for seg, tid in self._segments(r):
                if tid is None:
                    continue
                t = tracks.setdefault(tid, Track(tid, seg.label))
                t.masks[f] = seg.mask
                t.boxes[f] = seg.box
                t.score = max(t.score, seg.score)
        return sorted(tracks.values(), key=lambda t: (-len(t.masks), t.track_id))


def load_error(e: Exception, prefix: str) -> Exception:
    """A UserError ``prefix (first line of e)``."""
    from muie_bench.errors import UserError

    first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
    return UserError(f"{prefix} ({first})")
