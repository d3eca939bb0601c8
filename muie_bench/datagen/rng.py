"""Per-instance random generators: instance ``k`` of set ``s`` depends only on (seed, s, k)."""

from __future__ import annotations

import hashlib

import numpy as np


def instance_rng(seed: int, set_id: str, k: int, stream: str = "") -> np.random.Generator:
    """A PCG64 generator seeded from sha256 of ``seed/set/k/stream``."""
    digest = hashlib.sha256(f"muie-synth/{seed}/{set_id}/{k}/{stream}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def choice(rng: np.random.Generator, items: list[str] | tuple[str, ...]) -> str:
    """One element of ``items`` (a plain Python str, not a numpy scalar)."""
    return items[int(rng.integers(len(items)))]
