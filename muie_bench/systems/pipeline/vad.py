"""Voice activity detection with the Silero VAD ONNX model shipped inside faster-whisper.

Runs on onnxruntime (no torch). Output: speech spans in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from muie_bench.systems.pipeline.common import resample


@dataclass
class SileroVAD:
    threshold: float = 0.5
    min_speech_ms: int = 150
    min_silence_ms: int = 150
    pad_ms: int = 30

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> SileroVAD:
        return cls(**settings)

    def speech(self, samples: np.ndarray[Any, Any], rate: int) -> list[tuple[float, float]]:
        """Speech spans ``[start_s, end_s]`` of mono ``samples``."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        audio = resample(samples, rate, 16000)
        opts = VadOptions(
            threshold=self.threshold, min_speech_duration_ms=self.min_speech_ms,
            min_silence_duration_ms=self.min_silence_ms, speech_pad_ms=self.pad_ms,
        )
        return [(c["start"] / 16000, c["end"] / 16000) for c in get_speech_timestamps(audio, opts)]
