"""Face and person detection with the Haar cascades shipped in opencv-python 4.14 (``cv2.data``).

Labels: ``face`` (the ``alt2`` frontal-face cascade: on mini's small portraits it finds more
faces than the default cascade with no extra detections), ``person`` (the face box scaled to ``person_scale``
face widths wide and ``person_height`` face heights tall from ``person_top`` face heights above
the face, clipped to the image; the defaults keep the head, which is what a portrait cut-out
shows) and optionally ``upper_body`` / ``full_body`` cascades.
Boxes are ``(x0, y0, x1, y1)`` pixels. No general object detector ships with weights, so other
object classes are not detected in the offline tier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from muie_bench.errors import UserError
from muie_bench.systems.pipeline.common import Box, box_iou, clip_box


@dataclass(frozen=True)
class Detection:
    label: str
    box: Box
    score: float

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "box": [round(v, 1) for v in self.box],
                "score": round(self.score, 3)}


_CASCADES = {
    "face": "haarcascade_frontalface_alt2.xml",
    "upper_body": "haarcascade_upperbody.xml",
    "full_body": "haarcascade_fullbody.xml",
}


@dataclass
class HaarDetector:
    """Haar cascades on grayscale, histogram-equalised images."""

    labels: list[str] = field(default_factory=lambda: ["face"])
    scale_factor: float = 1.1
    min_neighbors: int = 3
    min_size: int = 24
    person_scale: float = 1.0
    person_height: float = 1.1
    person_top: float = 0.0
    nms_iou: float = 0.3
    #: images are enlarged by this factor before detection (small faces), boxes scaled back
    upscale: float = 1.0
    #: OpenCV worker threads (process-wide ``cv2.setNumThreads``); fixed, not one per core
    threads: int = 1
    _models: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> HaarDetector:
        det = cls(**settings)
        bad = [x for x in det.labels if x not in _CASCADES]
        if bad:
            raise UserError(f"grounder.detect.labels: unknown {bad}; known: {sorted(_CASCADES)}")
        return det

    def load(self) -> dict[str, Any]:
        if not self._models:
            import cv2

            cv2.setNumThreads(self.threads)
            if not hasattr(cv2, "data"):
                raise UserError(
                    "grounder.detect: this OpenCV build has no cv2.data Haar cascades; "
                    "install opencv-python==4.14.0.94 (the offline extra)"
                )
            for label in self.labels:
                c = cv2.CascadeClassifier(cv2.data.haarcascades + _CASCADES[label])
                if c.empty():
                    raise UserError(f"grounder.detect: cannot load cascade {_CASCADES[label]}")
                self._models[label] = c
        return self._models

    def detect(self, rgb: np.ndarray[Any, Any]) -> list[Detection]:
        """Detections in an RGB image; every face also yields a ``person`` box."""
        import cv2

        gray = cv2.equalizeHist(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY))
        h, w = gray.shape
        k = self.upscale
        if k != 1.0:
            gray = cv2.resize(gray, (round(w * k), round(h * k)), interpolation=cv2.INTER_CUBIC)
        out: list[Detection] = []
        for label, model in self.load().items():
            boxes, _levels, weights = model.detectMultiScale3(
                gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
                minSize=(self.min_size, self.min_size), outputRejectLevels=True,
            )
            found = [
                Detection(label, (x / k, y / k, (x + bw) / k, (y + bh) / k), float(s))
                for (x, y, bw, bh), s in zip(boxes, np.ravel(weights), strict=False)
            ]
            # canonical order (score, then position): OpenCV's threads gather candidates in
            # completion order, and ties in score must not depend on it
            found.sort(key=lambda d: (-d.score, d.box))
            out.extend(_nms(found, self.nms_iou))
        for d in [d for d in out if d.label == "face"]:
            x0, y0, x1, y1 = d.box
            fw, fh = x1 - x0, y1 - y0
            cx = (x0 + x1) / 2
            top = y0 - self.person_top * fh
            box = (cx - fw * self.person_scale / 2, top,
                   cx + fw * self.person_scale / 2, top + fh * self.person_height)
            out.append(Detection("person", clip_box(box, h, w), d.score))
        return out


def _nms(dets: list[Detection], iou: float) -> list[Detection]:
    keep: list[Detection] = []
    for d in sorted(dets, key=lambda d: -d.score):
        if all(box_iou(d.box, k.box) < iou for k in keep):
            keep.append(d)
    return keep
