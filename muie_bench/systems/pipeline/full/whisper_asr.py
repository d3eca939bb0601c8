"""ASR with openai-whisper (PyTorch), word timestamps: an alternative to faster-whisper.

Same interface as :class:`muie_bench.systems.pipeline.asr.WhisperASR` (``load``,
``transcribe(samples, rate, prompt) -> Transcript``), so the grounders use either. ``model``
is a checkpoint file (``tiny.en.pt``) or a model name whose checkpoint lies in
``download_root``; nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from muie_bench.errors import UserError
from muie_bench.systems.pipeline.asr import Transcript
from muie_bench.systems.pipeline.common import Word, resample
from muie_bench.systems.pipeline.full.common import require, resolve_device
from muie_bench.systems.pipeline.full.settings import OpenAIWhisperSettings

SETTING = "whisper.model"


class OpenAIWhisperASR:
    def __init__(self, settings: OpenAIWhisperSettings, device: str = "auto") -> None:
        self.cfg = settings
        self.device_setting = settings.device or device
        self.device = ""
        self._model: Any = None

    def checkpoint(self) -> Path:
        """The checkpoint file ``model`` names; UserError naming the setting when missing."""
        p = Path(self.cfg.model).expanduser()
        if p.is_file():
            return p
        named = Path(self.cfg.download_root).expanduser() / f"{self.cfg.model}.pt"
        if named.is_file():
            return named
        raise UserError(f"{SETTING}: openai-whisper checkpoint {self.cfg.model!r} not found (neither a "
                        f"file nor {named}); give a local .pt file (-o {SETTING}=/path/tiny.en.pt)")

    def load(self) -> Any:
        if self._model is None:
            path = self.checkpoint()
            whisper = require("whisper", SETTING)
            self.device = resolve_device(self.device_setting, "whisper.device")
            try:
                self._model = whisper.load_model(str(path), device=self.device)
            except Exception as e:
                raise UserError(f"{SETTING}: cannot load {str(path)!r} ({type(e).__name__}: "
                                f"{str(e).splitlines()[0][:120] if str(e) else ''})") from None
        return self._model

    def transcribe(self, samples: np.ndarray[Any, Any], rate: int,
                   prompt: str | None = None) -> Transcript:
        """Transcript of mono ``samples``; word times in seconds, clipped to the audio."""
        audio = resample(samples, rate, 16000)
        if audio.size == 0:
            return Transcript("")
        model = self.load()
        duration = audio.size / 16000
        kw: dict[str, Any] = {"language": self.cfg.language, "word_timestamps": True,
                              "condition_on_previous_text": False, "initial_prompt": prompt or None,
                              "temperature": self.cfg.temperature, "verbose": None,
                              "fp16": self.cfg.fp16 and self.device.startswith("cuda")}
        if self.cfg.sample_len > 0:
            kw["sample_len"] = self.cfg.sample_len
        if self.cfg.beam_size > 0:
            kw["beam_size"] = self.cfg.beam_size
        if not model.is_multilingual:
            kw["language"] = "en"
        result = model.transcribe(audio, **kw)
        words: list[Word] = []
        for seg in result.get("segments", []):
            for w in seg.get("words", []):
                t = str(w["word"]).strip()
                s, e = max(0.0, float(w["start"])), min(duration, float(w["end"]))
                if t and e > s:
                    words.append(Word(t, s, e))
        return Transcript(" ".join(str(result.get("text", "")).split()), words)
