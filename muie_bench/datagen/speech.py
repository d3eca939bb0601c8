"""Speech for the audio sets: eSpeak NG in a fresh process per utterance, exact word times.

``speak`` returns 16 kHz mono float32 samples and the start time of every word; ``spans``
turns a character range of the spoken text into the time span where it is spoken: from the
start of its first word to the start of the following word (or the end), with leading and
trailing silence trimmed at 10 ms resolution. Noise (if any) is added after the spans are
measured, at a fixed SNR.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from muie_bench.errors import UserError

RATE = 16000
# Voice variants with a "breath" noise source (e.g. +f2, +f3, +f5) vary with the clock;
# these do not (checked by tests/test_datagen_determinism.py). Chosen among those for
# intelligibility: Whisper tiny.en recognised 62-81 % of the non-name words of Re-TACRED
# style sentences with them, 31-50 % with en+m3, en+m7, en-gb-x-rp+f4.
VOICES = ("en-us", "en-us+f1", "en-us+m1", "en-us+f4", "en-us+m2", "en-gb-x-rp")
CHILD = Path(__file__).with_name("espeak_child.py")
F32 = np.ndarray[Any, np.dtype[np.float32]]


@dataclass
class Speech:
    text: str
    voice: str
    samples: F32
    words: list[tuple[int, float]]  # (char index, start seconds)

    @property
    def duration(self) -> float:
        return len(self.samples) / RATE


def speak(text: str, voice: str, wpm: int = 165) -> Speech:
    """Synthesise ``text`` (one fresh eSpeak NG process), resampled to 16 kHz."""
    from scipy.signal import resample_poly

    req = json.dumps({"text": text, "voice": voice, "rate": wpm}).encode()
    proc = subprocess.run([sys.executable, str(CHILD)], input=req, capture_output=True, check=False)
    if proc.returncode != 0:
        raise UserError(f"eSpeak NG failed for {text!r}: {proc.stderr.decode(errors='replace')[-300:]}")
    head, _, pcm = proc.stdout.partition(b"\n")
    meta = json.loads(head)
    sr = int(meta["rate"])
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0
    y = resample_poly(x, RATE, sr) if sr != RATE else x
    words = [(int(c), float(s) / sr) for c, s in meta["words"]]
    return Speech(text, voice, np.clip(y, -1, 1).astype(np.float32), words)


def _frame_rms(x: F32, hop: int) -> F32:
    n = len(x) // hop
    if n == 0:
        return np.zeros(0, np.float32)
    out: F32 = np.sqrt((x[: n * hop].reshape(n, hop).astype(np.float64) ** 2).mean(axis=1)).astype(
        np.float32)
    return out


def spans(sp: Speech, start: int, end: int) -> list[list[float]]:
    """[[start_s, end_s]] where characters [start, end) of ``sp.text`` are spoken."""
    starts = [c for c, _ in sp.words]
    if start not in starts:
        raise ValueError(f"no eSpeak word event at char {start} of {sp.text!r}")
    t0 = dict((c, t) for c, t in reversed(sp.words))[start]
    later = [t for c, t in sp.words if c >= end]
    t1 = min(later) if later else sp.duration
    hop = RATE // 100
    rms = _frame_rms(sp.samples, hop)
    thr = max(1e-4, 0.03 * float(rms.max()) if len(rms) else 0.0)
    f0, f1 = int(t0 * 100), min(len(rms), int(t1 * 100))  # frames before the next word
    active = np.nonzero(rms[f0:f1] > thr)[0]
    if len(active):
        f0, f1 = f0 + int(active[0]), f0 + int(active[-1]) + 1
    s, e = round(f0 / 100, 3), round(min(f1 / 100, sp.duration), 3)
    if e <= s:
        s, e = round(t0, 3), round(max(t1, t0 + 0.01), 3)
    return [[s, e]]


def add_noise(x: F32, rng: np.random.Generator, snr_db: float) -> F32:
    """White noise at ``snr_db`` relative to the mean power of the speech."""
    p = float(np.mean(x.astype(np.float64) ** 2))
    noise = rng.standard_normal(len(x)) * np.sqrt(p / (10 ** (snr_db / 10)))
    out: F32 = np.clip(x + noise, -1, 1).astype(np.float32)
    return out


def wav_bytes(x: F32, pad_s: float = 0.25) -> bytes:
    """16 kHz mono PCM16 WAV with ``pad_s`` of silence appended."""
    import soundfile as sf

    y = np.concatenate([x, np.zeros(int(pad_s * RATE), np.float32)])
    buf = io.BytesIO()
    sf.write(buf, y, RATE, format="WAV", subtype="PCM_16")
    return buf.getvalue()
