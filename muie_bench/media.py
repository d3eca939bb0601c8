"""Lazy media decoding, confined to a benchmark directory.

Images decode to ``HxWx3 uint8`` (Pillow), audio to mono ``float32`` plus its sample rate
(soundfile for WAV/FLAC/OGG, PyAV for anything else), video to an iterator of ``HxWx3 uint8``
frames plus fps (PyAV). Probes (:meth:`MediaReader.image_size`, :meth:`audio_duration`,
:meth:`video_info`) read headers only. Every path is resolved and must stay under the root,
symlinks included.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from muie_bench.errors import UserError
from muie_bench.schema import check_relative_path

if TYPE_CHECKING:  # numpy is imported where media are decoded (not at CLI start-up)
    import numpy as np


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    frames: int
    height: int
    width: int

    @property
    def duration(self) -> float:
        return self.frames / self.fps


def confined(root: Path, rel: str) -> Path:
    """``root / rel`` resolved; raises :class:`UserError` if it leaves ``root`` or is missing."""
    try:
        check_relative_path(rel)
    except ValueError as e:
        raise UserError(str(e)) from None
    base = root.resolve()
    p = (base / rel).resolve()
    if not p.is_relative_to(base):
        raise UserError(f"{rel}: resolves outside the benchmark directory {base} (symlink?)")
    if not p.is_file():
        raise UserError(f"{rel}: media file not found under {base}")
    return p


class MediaReader:
    """Decodes the media files of one benchmark directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, rel: str) -> Path:
        return confined(self.root, rel)

    # ------------------------------------------------------------------ image
    def image(self, rel: str) -> np.ndarray[Any, np.dtype[np.uint8]]:
        """RGB pixels, shape (H, W, 3), uint8."""
        import numpy as np
        from PIL import Image

        with Image.open(self.path(rel)) as im:
            return np.asarray(im.convert("RGB"))

    def image_size(self, rel: str) -> tuple[int, int]:
        """(height, width) from the header."""
        from PIL import Image

        with Image.open(self.path(rel)) as im:
            w, h = im.size
        return h, w

    # ------------------------------------------------------------------ audio
    def audio(self, rel: str) -> tuple[np.ndarray[Any, np.dtype[np.float32]], int]:
        """Mono float32 samples in [-1, 1] and the sample rate."""
        import numpy as np

        p = self.path(rel)
        try:
            import soundfile as sf

            data, rate = sf.read(str(p), dtype="float32", always_2d=True)
            return np.ascontiguousarray(data.mean(axis=1), dtype=np.float32), int(rate)
        except Exception:  # not a libsndfile format: decode with FFmpeg
            return _decode_audio_av(p)

    def audio_duration(self, rel: str) -> float:
        """Duration in seconds from the header (decodes only if the header lacks it)."""

        p = self.path(rel)
        try:
            import soundfile as sf

            info = sf.info(str(p))
            return float(info.frames) / float(info.samplerate)
        except Exception:
            samples, rate = _decode_audio_av(p)
            return len(samples) / rate

    # ------------------------------------------------------------------ full checks
    def check_image(self, rel: str) -> tuple[int, int]:
        """(height, width) after decoding every pixel (a truncated file raises)."""
        from PIL import Image

        with Image.open(self.path(rel)) as im:
            im.load()
            w, h = im.size
        return h, w

    def check_audio(self, rel: str) -> float:
        """Duration in seconds of the decoded samples (a truncated file raises or is short)."""
        samples, rate = self.audio(rel)
        if rate <= 0:
            raise UserError(f"{rel}: sample rate {rate} Hz")
        return len(samples) / rate

    def check_video(self, rel: str) -> VideoInfo:
        """The header's :class:`VideoInfo` after decoding every frame; frames short of the
        header's count (a truncated file) raise :class:`UserError`."""
        import av

        info = self.video_info(rel)
        with av.open(str(self.path(rel))) as c:
            n = sum(1 for _ in c.decode(video=0))
        if n < info.frames:
            raise UserError(f"{rel}: {n} frames decode, the header says {info.frames} (truncated?)")
        return info

    # ------------------------------------------------------------------ video
    def video_info(self, rel: str) -> VideoInfo:
        return _video_info(self.path(rel))

    def video_frames(self, rel: str) -> Iterator[np.ndarray[Any, np.dtype[np.uint8]]]:
        """Decoded RGB frames in order, each (H, W, 3) uint8."""
        import av
        import numpy as np

        with av.open(str(self.path(rel))) as c:
            for frame in c.decode(video=0):
                yield np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)

    def video(self, rel: str) -> tuple[Iterator[np.ndarray[Any, np.dtype[np.uint8]]], float]:
        """(frames iterator, fps)."""
        return self.video_frames(rel), self.video_info(rel).fps

    def video_audio(self, rel: str) -> tuple[np.ndarray[Any, np.dtype[np.float32]], int] | None:
        """The audio track of a video file, or None when it has none."""
        import av

        p = self.path(rel)
        with av.open(str(p)) as c:
            if not c.streams.audio:
                return None
        return _decode_audio_av(p)


def _decode_audio_av(p: Path) -> tuple[np.ndarray[Any, np.dtype[np.float32]], int]:
    import av
    import numpy as np

    chunks: list[np.ndarray[Any, np.dtype[np.float32]]] = []
    with av.open(str(p)) as c:
        if not c.streams.audio:
            raise UserError(f"{p}: no audio stream")
        stream = c.streams.audio[0]
        rate = int(stream.rate or stream.codec_context.sample_rate)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in c.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.float32))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1).astype(np.float32))
    data = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return data, rate


@lru_cache(maxsize=256)
def _video_info(p: Path) -> VideoInfo:
    import av

    with av.open(str(p)) as c:
        if not c.streams.video:
            raise UserError(f"{p}: no video stream")
        s = c.streams.video[0]
        rate = s.average_rate or s.base_rate or Fraction(25)
        n = s.frames
        if not n:  # container without a frame count: count by decoding
            n = sum(1 for _ in c.decode(s))
        return VideoInfo(float(rate), int(n), int(s.codec_context.height), int(s.codec_context.width))
