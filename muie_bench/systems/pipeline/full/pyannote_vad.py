"""Speech activity (and optional speaker diarization) with pyannote.audio.

``speech(samples, rate)``: speech regions ``[(start_s, end_s)]`` inside the audio, from a
segmentation model (``pyannote/segmentation-3.0`` or a local checkpoint) run as pyannote's
``VoiceActivityDetection`` pipeline. ``speakers(...)``: ``[(start_s, end_s, speaker)]``
from a diarization pipeline when ``diarization`` names one. Waveforms are passed in memory
(``{"waveform": (1, n) tensor, "sample_rate": sr}``), so no audio decoder is needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from muie_bench.errors import UserError
from muie_bench.metrics.grounding import span_union
from muie_bench.systems.pipeline.full.common import is_local, local_weights, require, resolve_device
from muie_bench.systems.pipeline.full.settings import PyannoteSettings

SETTING = "pyannote.model"


class PyannoteSpeech:
    def __init__(self, settings: PyannoteSettings, device: str = "auto") -> None:
        self.cfg = settings
        self.device_setting = settings.device or device
        self.device = ""
        self._vad: Any = None
        self._diar: Any = None

    def load(self) -> None:
        if self._vad is not None:
            return
        require("pyannote.audio", SETTING)
        import torch
        from pyannote.audio import Model
        from pyannote.audio.pipelines import VoiceActivityDetection

        self.device = resolve_device(self.device_setting, "pyannote.device")
        ref = local_weights(self.cfg.model, SETTING, "segmentation model") if is_local(self.cfg.model) \
            else self.cfg.model
        try:
            model = Model.from_pretrained(ref, local_files_only=True) if not is_local(ref) \
                else Model.from_pretrained(ref)
        except Exception as e:
            raise UserError(f"{SETTING}: cannot load segmentation model {self.cfg.model!r} offline "
                            f"({type(e).__name__}); give a local checkpoint directory") from None
        if model is None:
            raise UserError(f"{SETTING}: segmentation model {self.cfg.model!r} not found")
        vad = VoiceActivityDetection(segmentation=model, batch_size=self.cfg.batch_size)
        vad.instantiate({"min_duration_on": self.cfg.min_duration_on,
                         "min_duration_off": self.cfg.min_duration_off})
        self._vad = vad.to(torch.device(self.device))
        if self.cfg.diarization:
            from pyannote.audio import Pipeline

            try:
                self._diar = Pipeline.from_pretrained(self.cfg.diarization)
            except Exception as e:
                raise UserError(f"pyannote.diarization: cannot load {self.cfg.diarization!r} "
                                f"({type(e).__name__})") from None
            if self._diar is None:
                raise UserError(f"pyannote.diarization: {self.cfg.diarization!r} not found")
            self._diar.to(torch.device(self.device))

    @staticmethod
    def _input(samples: np.ndarray[Any, Any], rate: int) -> dict[str, Any]:
        import torch

        return {"waveform": torch.from_numpy(np.asarray(samples, np.float32)).reshape(1, -1),
                "sample_rate": int(rate)}

    def speech(self, samples: np.ndarray[Any, Any], rate: int) -> list[tuple[float, float]]:
        """Sorted, disjoint speech regions within ``[0, duration]``; [] for empty audio."""
        if samples.size == 0:
            return []
        self.load()
        duration = samples.size / rate
        ann = self._vad(self._input(samples, rate))
        spans = [(max(0.0, float(s.start)), min(duration, float(s.end)))
                 for s in ann.get_timeline().support()]
        return span_union([(a, b) for a, b in spans if b > a])

    def speakers(self, samples: np.ndarray[Any, Any], rate: int) -> list[tuple[float, float, str]]:
        """Speaker turns (start, end, label) when ``diarization`` is set, else []."""
        if samples.size == 0 or not self.cfg.diarization:
            return []
        self.load()
        out = self._diar(self._input(samples, rate))
        ann = getattr(out, "speaker_diarization", out)
        duration = samples.size / rate
        return [(max(0.0, float(seg.start)), min(duration, float(seg.end)), str(label))
                for seg, _, label in ann.itertracks(yield_label=True)]
