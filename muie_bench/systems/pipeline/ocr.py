"""Text in images with RapidOCR (PP-OCRv4 detection + recognition ONNX models in its wheel).

Output: lines, each with its text, score, line box and word boxes (word boxes are the union
of the recogniser's character boxes between spaces).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from muie_bench.systems.pipeline.common import Box, union_box


@dataclass(frozen=True)
class OcrWord:
    text: str
    box: Box


@dataclass(frozen=True)
class OcrLine:
    text: str
    score: float
    box: Box
    words: tuple[OcrWord, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "score": round(self.score, 4),
                "box": [round(v, 1) for v in self.box],
                "words": [[w.text, [round(v, 1) for v in w.box]] for w in self.words]}


def _quad_box(quad: Any) -> Box:
    pts = np.asarray(quad, dtype=float).reshape(-1, 2)
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()) + 1, float(
        pts[:, 1].max()) + 1


def _words(chars: list[str], quads: list[Any]) -> tuple[OcrWord, ...]:
    out: list[OcrWord] = []
    cur: list[tuple[str, Box]] = []
    for ch, q in [*zip(chars, quads, strict=False), (" ", None)]:
        if ch.isspace() or q is None:
            if cur:
                out.append(OcrWord("".join(c for c, _ in cur), union_box([b for _, b in cur])))
            cur = []
        else:
            cur.append((ch, _quad_box(q)))
    return tuple(out)


@dataclass
class RapidOcr:
    """RapidOCR on RGB arrays; lines below ``min_score`` are dropped.

    ``threads``: onnxruntime intra-op threads of each model (fixed, 1 by default, instead of
    one per core of the machine, so the work split does not follow the machine).
    """

    min_score: float = 0.5
    box_thresh: float = 0.5
    threads: int = 1
    _engine: Any = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> RapidOcr:
        return cls(**settings)

    def load(self) -> Any:
        if self._engine is None:
            from rapidocr_onnxruntime import RapidOCR

            self._engine = RapidOCR(print_verbose=False, intra_op_num_threads=self.threads,
                                    inter_op_num_threads=1)
        return self._engine

    def read(self, rgb: np.ndarray[Any, Any]) -> list[OcrLine]:
        """Text lines of an ``H x W x 3`` RGB image, top to bottom."""
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        result, _ = self.load()(bgr, return_word_box=True, text_score=self.min_score,
                                box_thresh=self.box_thresh)
        lines: list[OcrLine] = []
        for item in result or []:
            quad, text, score = item[0], str(item[1]), float(item[2])
            words: tuple[OcrWord, ...] = ()
            if len(item) >= 5 and item[3] and len(item[3]) == len(item[4]):
                words = _words(list(item[4]), list(item[3]))
            if not words:
                words = tuple(OcrWord(t, _quad_box(quad)) for t in text.split()[:1])
            if text.strip():
                lines.append(OcrLine(text.strip(), score, _quad_box(quad), words))
        return lines
