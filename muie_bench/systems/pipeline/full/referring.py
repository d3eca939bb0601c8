"""Referring segmentation in process (SEEM-like): a phrase -> the best box of a text-prompted
detector (OWLv2 / OWL-ViT / Grounding DINO in transformers) -> a SAM mask inside that box.

A grounder (``ground(modality, phrase, mention_type, instance, benchmark)``): an image
gives one RLE at the image's size (None when no box scores ``threshold`` or more); a video
gives a track on ``video_frames`` evenly spaced frames (batched ``batch_size`` at a time),
each frame's mask from its own best box; audio is not grounded (None). Usable by the
pipelines (``referring.enabled``) and the MLLM systems (``-o grounder=referring``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from muie_bench.schema import RLE, Instance, VideoTrack
from muie_bench.systems.pipeline.common import mask_to_rle
from muie_bench.systems.pipeline.full.common import hf_load, require, resolve_device, torch_dtype
from muie_bench.systems.pipeline.full.settings import ReferringSettings

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark


class ReferringSegmenter:
    def __init__(self, settings: ReferringSettings, device: str = "auto") -> None:
        self.cfg = settings
        self.device_setting = settings.device or device
        self.device = ""
        self._det: Any = None
        self._det_proc: Any = None
        self._sam: Any = None
        self._sam_proc: Any = None
        #: the last grounding calls (phrase, modality, frames, best score) for traces
        self.calls: list[dict[str, Any]] = []

    def load(self) -> None:
        if self._det is not None:
            return
        tf = require("transformers", "referring.detector")
        self.device = resolve_device(self.device_setting, "referring.device")
        dtype = torch_dtype(self.cfg.dtype, self.device, "referring.dtype")
        self._det_proc = hf_load(tf.AutoProcessor, self.cfg.detector, "referring.detector",
                                 "detector")
        self._det = hf_load(tf.AutoModelForZeroShotObjectDetection, self.cfg.detector,
                            "referring.detector", "detector", dtype=dtype).to(self.device).eval()
        self._sam_proc = hf_load(tf.SamProcessor, self.cfg.sam, "referring.sam", "SAM model")
        self._sam = hf_load(tf.SamModel, self.cfg.sam, "referring.sam", "SAM model",
                            dtype=dtype).to(self.device).eval()

    def boxes(self, images: list[np.ndarray[Any, Any]], phrase: str
              ) -> list[tuple[float, tuple[float, float, float, float]] | None]:
        """The best (score, box) of ``phrase`` in each RGB image: the highest-scoring box with
        at least one pixel inside the image; None when none scores ``threshold``."""
        import torch
        from PIL import Image

        self.load()
        out: list[tuple[float, tuple[float, float, float, float]] | None] = []
        for k in range(0, len(images), self.cfg.batch_size):
            batch = [Image.fromarray(np.ascontiguousarray(a)) for a in images[k : k + self.cfg.batch_size]]
            query = phrase.strip() or "object"
            # a long phrase is cut to the text encoder's positions (16 for OWL-ViT / OWLv2)
            limit = getattr(getattr(self._det.config, "text_config", None),
                            "max_position_embeddings", None)
            kw: dict[str, Any] = {"truncation": True, "max_length": int(limit)} if limit else {}
            inputs = self._det_proc(images=batch, text=[[query]] * len(batch),
                                    return_tensors="pt", **kw).to(self.device)
            if "pixel_values" in inputs:
                inputs["pixel_values"] = inputs["pixel_values"].to(self._det.dtype)
            with torch.inference_mode():
                raw = self._det(**inputs)
            sizes = [(im.height, im.width) for im in batch]
            # OWLv2 pads images to a square (bottom / right): its boxes are relative to it
            square = getattr(self._det.config, "model_type", "") == "owlv2"
            targets = [(max(h, w), max(h, w)) for h, w in sizes] if square else sizes
            post = getattr(self._det_proc, "post_process_grounded_object_detection", None) or \
                self._det_proc.post_process_object_detection
            try:
                res = post(raw, threshold=0.0, target_sizes=targets)
            except TypeError:  # Grounding DINO's signature
                res = post(raw, inputs.input_ids, threshold=0.0, text_threshold=0.0,
                           target_sizes=targets)
            for r, (h, w) in zip(res, sizes, strict=True):
                scores = r["scores"].float().cpu().numpy()
                boxes = r["boxes"].float().cpu().numpy()
                best = None
                for i in np.argsort(-scores, kind="stable"):  # best box with area in the image
                    if float(scores[i]) < self.cfg.threshold:
                        break
                    x0, y0, x1, y1 = (float(v) for v in boxes[i])
                    box = (max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1))
                    if box[2] - box[0] >= 1 and box[3] - box[1] >= 1:
                        best = (float(scores[i]), box)
                        break
                out.append(best)
        return out

    def masks(self, images: list[np.ndarray[Any, Any]],
              boxes: list[tuple[float, float, float, float]]) -> list[RLE]:
        """SAM's best mask inside each box, at its image's size (one image per box)."""
        import torch
        from PIL import Image

        self.load()
        out: list[RLE] = []
        for k in range(0, len(images), self.cfg.batch_size):
            ims = [Image.fromarray(np.ascontiguousarray(a)) for a in images[k : k + self.cfg.batch_size]]
            bxs = [[list(b)] for b in boxes[k : k + self.cfg.batch_size]]
            inputs = self._sam_proc(images=ims, input_boxes=bxs, return_tensors="pt").to(self.device)
            inputs["pixel_values"] = inputs["pixel_values"].to(self._sam.dtype)
            with torch.inference_mode():
                raw = self._sam(**inputs, multimask_output=False)
            masks = self._sam_proc.image_processor.post_process_masks(
                raw.pred_masks.float().cpu(), inputs["original_sizes"].cpu(),
                inputs["reshaped_input_sizes"].cpu())
            for m in masks:  # (boxes, masks, h, w) per image
                out.append(mask_to_rle(np.asarray(m[0, 0].numpy() > 0, np.uint8)))
        return out

    def segment(self, images: list[np.ndarray[Any, Any]], phrase: str) -> list[RLE | None]:
        """Mask of ``phrase`` in each image (None where the detector finds no box)."""
        found = self.boxes(images, phrase)
        keep = [i for i, b in enumerate(found) if b is not None]
        got = self.masks([images[i] for i in keep], [found[i][1] for i in keep])  # type: ignore[index]
        out: list[RLE | None] = [None] * len(images)
        for i, m in zip(keep, got, strict=True):
            out[i] = m
        self.calls.append({"phrase": phrase, "images": len(images), "found": len(keep),
                           "best": round(max((b[0] for b in found if b), default=0.0), 4)})
        return out

    def ground(self, modality: Literal["image", "video", "audio"], phrase: str,
               mention_type: str | None, instance: Instance, benchmark: Benchmark
               ) -> RLE | VideoTrack | None:
        if modality == "image" and instance.image is not None:
            return self.segment([benchmark.media.image(instance.image)], phrase)[0]
        if modality == "video" and instance.video is not None:
            frames = list(benchmark.media.video_frames(instance.video))
            if not frames:
                return None
            n = min(self.cfg.video_frames, len(frames))
            idx = sorted({round(i * (len(frames) - 1) / max(1, n - 1)) for i in range(n)})
            masks = self.segment([frames[i] for i in idx], phrase)
            track = {f: m for f, m in zip(idx, masks, strict=True) if m is not None}
            fps = benchmark.media.video_info(instance.video).fps
            return VideoTrack(fps=fps, frames=track) if track else None
        return None
