"""Short H.264 clips of cut-outs moving over a background, with exact per-frame masks.

An ``Actor`` is a cut-out and its top-left position per frame (``None`` = not in the
clip). Actors are drawn in list order (later ones occlude earlier ones); each frame's
mask of an actor is exactly its drawn, unoccluded, in-frame pixels; frames where nothing
of it is visible are left out of its track. Containers are written with
``fflags=+bitexact``, one encoder thread, explicit frame timestamps and libx264 without
CPU-specific assembly (``asm=0``), so the same frames give the same bytes on every machine.
(Frames sent without ``pts`` get timestamps PyAV does not fix; libx264's rate control reads
them, and identical frames then gave other bytes in some encodes. x264's assembly is not all
bit-exact with its C code or across instruction sets: its SSSE3-and-later intra mode search
(the "x9" kernels, the only thing x264's own ``cpu-independent`` option turns off) decides
differently from the C path and its AVX-512 version from the AVX2 one, and its float
macroblock-tree kernel need only match the C code to within 1. With assembly on, 8 of mini's
24 clips differed between x264's AVX-512 and AVX2 paths, i.e. between CPUs with and without
AVX-512.)
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from muie_bench.datagen.assets import U8, Mask
from muie_bench.datagen.compose import Scene, rle

W, H, FPS, SECONDS = 192, 144, 10, 3
N_FRAMES = FPS * SECONDS


@dataclass
class Actor:
    key: str
    rgb: U8
    mask: Mask
    path: list[tuple[int, int] | None]


def linear_path(a: tuple[float, float], b: tuple[float, float], f0: int = 0, f1: int = N_FRAMES - 1,
                n: int = N_FRAMES) -> list[tuple[int, int] | None]:
    """Moves from a to b between frames f0 and f1, holds before and after."""
    out: list[tuple[int, int] | None] = []
    for i in range(n):
        t = min(1.0, max(0.0, (i - f0) / max(1, f1 - f0)))
        out.append((round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t)))
    return out


def render(bg: U8, actors: list[Actor]) -> tuple[list[U8], dict[str, dict[int, Mask]]]:
    """Frames and, per actor, frame index -> mask (only frames where it is visible)."""
    frames: list[U8] = []
    tracks: dict[str, dict[int, Mask]] = {a.key: {} for a in actors}
    for i in range(len(actors[0].path)):
        scene = Scene(bg)
        for a in actors:
            pos = a.path[i]
            if pos is not None:
                scene.paste(a.key, a.rgb, a.mask, pos[0], pos[1])
        for key, m in scene.masks.items():
            if m.any():
                tracks[key][i] = m
        frames.append(scene.img)
    return frames, tracks


def track_json(masks: dict[int, Mask]) -> dict[str, Any]:
    return {"fps": float(FPS), "frames": {str(i): rle(m) for i, m in sorted(masks.items())}}


def union_track(*tracks: dict[int, Mask]) -> dict[int, Mask]:
    out: dict[int, Mask] = {}
    for t in tracks:
        for i, m in t.items():
            out[i] = (out[i] | m) if i in out else m.copy()
    return out


def to_yuv420p(img: U8) -> U8:
    """RGB -> planar YUV 4:2:0 (BT.601, limited range) as PyAV's (H * 3/2, W) layout.

    Integer arithmetic only (the 8-bit fixed-point BT.601 matrix, chroma averaged over 2x2
    blocks with rounding): exact, with no float rounding at .5 boundaries. Done here rather
    than by FFmpeg's swscale.
    """
    x = img.astype(np.int32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16
    u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128
    v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128
    h, w = y.shape

    def sub(c: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        blocks = c.reshape(h // 2, 2, w // 2, 2)
        total = blocks[:, 0, :, 0] + blocks[:, 0, :, 1] + blocks[:, 1, :, 0] + blocks[:, 1, :, 1]
        out: np.ndarray[Any, Any] = (total + 2) // 4
        return out

    def q(a: np.ndarray[Any, Any]) -> U8:
        out: U8 = np.clip(a, 0, 255).astype(np.uint8)
        return out

    return np.concatenate([q(y), q(sub(u)).reshape(h // 4, w), q(sub(v)).reshape(h // 4, w)], axis=0)


#: x264 parameters that make the bitstream independent of the CPU: ``asm=0`` runs x264's
#: portable C code only (the same instructions on every x86-64 CPU), never the assembly kernels
#: it would pick for the CPU it detects. Costs about 3x the encoding time (~0.2 s a clip).
X264_PARAMS = "asm=0"


def encode_mp4(frames: list[U8], fps: int = FPS, *, x264_cpu: str | None = None) -> bytes:
    """H.264 (yuv420p so browsers play it, CRF 20) in MP4, bit-exact container; frame ``i``
    has ``pts = i`` in a ``1/fps`` time base; libx264 with :data:`X264_PARAMS`.

    ``x264_cpu`` (for tests) stands in for another CPU: an x264 ``asm`` value (capability
    names such as ``"SSE2"`` or ``"AVX2"``, or a bitmask) given to x264 before
    :data:`X264_PARAMS`, as if it had detected only those capabilities. It must name only
    capabilities this CPU has (x264 would run instructions the CPU lacks otherwise).
    """
    import av

    params = X264_PARAMS if x264_cpu is None else f"asm={x264_cpu}:{X264_PARAMS}".rstrip(":")
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4", options={"fflags": "+bitexact"}) as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height = frames[0].shape[1], frames[0].shape[0]
        s.pix_fmt = "yuv420p"
        options = {"crf": "20", "preset": "medium", "threads": "1", "flags": "+bitexact"}
        if params:
            options["x264-params"] = params
        s.codec_context.options = options
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(to_yuv420p(img), format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for pkt in s.encode(frame):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return buf.getvalue()
