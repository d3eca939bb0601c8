"""Image captioning with transformers (BLIP, BLIP-2, GIT, Florence-2 style checkpoints).

The caption is the text the pipeline's text IE reads for an image or video without text
(caption-then-text-IE). Images are captioned in batches of ``batch_size``; a video is
captioned on ``video_frames`` evenly spaced frames, and its distinct captions are joined.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from muie_bench.systems.pipeline.full.common import hf_load, require, resolve_device, torch_dtype
from muie_bench.systems.pipeline.full.settings import CaptionerSettings

SETTING = "captioner.model"


class Captioner:
    def __init__(self, settings: CaptionerSettings, device: str = "auto") -> None:
        self.cfg = settings
        self.device_setting = settings.device or device
        self._model: Any = None
        self._processor: Any = None
        self.device = ""

    def load(self) -> None:
        """Loads processor and model once (local path, or hub name from the local cache)."""
        if self._model is not None:
            return
        tf = require("transformers", SETTING)
        self.device = resolve_device(self.device_setting, "captioner.device")
        dtype = torch_dtype(self.cfg.dtype, self.device, "captioner.dtype")
        kw = {"trust_remote_code": self.cfg.trust_remote_code}
        self._processor = hf_load(tf.AutoProcessor, self.cfg.model, SETTING, "captioning model", **kw)
        self._model = hf_load(tf.AutoModelForImageTextToText, self.cfg.model, SETTING,
                              "captioning model", dtype=dtype, **kw).to(self.device).eval()

    def caption(self, images: list[np.ndarray[Any, Any]]) -> list[str]:
        """One caption per RGB ``h x w x 3`` uint8 image (the prompt, if any, stripped)."""
        import torch
        from PIL import Image

        self.load()
        out: list[str] = []
        for k in range(0, len(images), self.cfg.batch_size):
            batch = [Image.fromarray(np.ascontiguousarray(a)) for a in images[k : k + self.cfg.batch_size]]
            kw: dict[str, Any] = {"images": batch, "return_tensors": "pt"}
            if self.cfg.prompt:
                kw["text"] = [self.cfg.prompt] * len(batch)
            inputs = self._processor(**kw).to(self.device)
            if "pixel_values" in inputs:
                inputs["pixel_values"] = inputs["pixel_values"].to(self._model.dtype)
            with torch.inference_mode():
                ids = self._model.generate(**inputs, max_new_tokens=self.cfg.max_new_tokens,
                                           num_beams=self.cfg.num_beams, do_sample=False)
            for text in self._processor.batch_decode(ids, skip_special_tokens=True):
                text = " ".join(text.split())
                if self.cfg.prompt and text.startswith(self.cfg.prompt):
                    text = text[len(self.cfg.prompt):].strip()
                out.append(text)
        return out

    def caption_video(self, frames: list[np.ndarray[Any, Any]]) -> list[str]:
        """Captions of ``video_frames`` evenly spaced frames (duplicates kept, in frame order)."""
        if not frames:
            return []
        n = min(self.cfg.video_frames, len(frames))
        idx = sorted({round(i * (len(frames) - 1) / max(1, n - 1)) for i in range(n)})
        return self.caption([frames[i] for i in idx])
