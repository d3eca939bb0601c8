"""What every set builder shares: the per-instance context and mention helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from muie_bench.datagen.assets import Mask
from muie_bench.datagen.compose import rle


@dataclass
class Ctx:
    """Context of one instance: its RNG, the media files it writes, the assets it uses."""

    seed: int
    set_id: str
    k: int
    rng: np.random.Generator
    files: dict[str, bytes] = field(default_factory=dict)
    assets: set[str] = field(default_factory=set)
    background: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.set_id}-{self.k:04d}"

    def media(self, ext: str, data: bytes) -> str:
        rel = f"media/{self.set_id}/{self.id}.{ext}"
        self.files[rel] = data
        return rel


def mention(
    mid: str,
    text: str,
    type_: str | None = None,
    span: tuple[int, int] | None = None,
    mask: Mask | None = None,
    audio: list[list[float]] | None = None,
    track: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A mention as the schema's JSON object (absent groundings omitted)."""
    m: dict[str, Any] = {"id": mid, "text": text}
    if type_ is not None:
        m["type"] = type_
    if span is not None:
        m["span"] = list(span)
    if mask is not None:
        if not mask.any():
            raise ValueError(f"mention {mid!r}: empty image mask")
        m["image_mask"] = rle(mask)
    if audio is not None:
        m["audio_spans"] = audio
    if track is not None:
        m["video_track"] = track
    return m
