"""Cost of the generator's CPU-independent H.264 settings (``asm=0``: x264's C code only).

Takes the frames of the first ``--per-set`` clips of each video set (v-ee, tv-ee, va-ee;
seed 0, the clips of muie-synth-mini) and encodes every clip with the generator's settings
and with the same settings minus ``X264_PARAMS`` (x264's assembly for the CPU it detects),
interleaved, ``--rounds`` times. Prints the fastest round's seconds per clip of each, the
ratio, and how many clips get other bytes without ``asm=0``. Usage: ``python
benchmarks/bench_video_encode.py [--per-set 8] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import time

from muie_bench.datagen import video as V
from muie_bench.datagen.build import build_instance


def clip_frames(per_set: int) -> list[list[V.U8]]:
    seen: list[list[V.U8]] = []
    real = V.encode_mp4

    def keep(frames: list[V.U8], fps: int = V.FPS) -> bytes:
        seen.append(frames)
        return b""

    V.encode_mp4 = keep  # type: ignore[assignment]
    try:
        for set_id in ("v-ee", "tv-ee", "va-ee"):
            for k in range(per_set):
                build_instance(0, set_id, k)
    finally:
        V.encode_mp4 = real  # type: ignore[assignment]
    return seen


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-set", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    clips = clip_frames(args.per_set)
    fixed = V.X264_PARAMS
    best = {"asm=0": float("inf"), "cpu asm": float("inf")}
    differ = 0
    for r in range(args.rounds):
        spent = dict.fromkeys(best, 0.0)
        for frames in clips:
            t = time.perf_counter()
            a = V.encode_mp4(frames)
            spent["asm=0"] += time.perf_counter() - t
            V.X264_PARAMS = ""
            try:
                t = time.perf_counter()
                b = V.encode_mp4(frames)
                spent["cpu asm"] += time.perf_counter() - t
            finally:
                V.X264_PARAMS = fixed
            differ += r == 0 and a != b
        best = {k: min(best[k], spent[k]) for k in best}
    n = len(clips)
    print(f"{n} clips of {V.N_FRAMES} frames, {V.W}x{V.H}; fastest of {args.rounds} rounds")
    for k, s in best.items():
        print(f"  {k:8s} {s:6.2f} s  {1000 * s / n:6.1f} ms/clip")
    extra = 600 * (best["asm=0"] - best["cpu asm"]) / n
    print(f"  ratio    {best['asm=0'] / best['cpu asm']:.2f}x; "
          f"extra for the full benchmark's 600 clips: {extra:.0f} s CPU")
    print(f"  clips with other bytes without asm=0 on this CPU: {differ} of {n}")


if __name__ == "__main__":
    main()
