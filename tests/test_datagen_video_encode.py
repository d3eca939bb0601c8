"""H.264 encoding is reproducible within a process, across fresh ones and across CPUs."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest

from muie_bench.datagen import video as V


def test_encode_mp4_same_bytes_every_time() -> None:
    """Frames sent to libx264 without timestamps gave other bytes on some encodes (its rate
    control reads them); with pts = i every encode of the same frames is identical."""
    rng = np.random.default_rng(7)
    bg = rng.integers(0, 256, (V.H, V.W, 3), dtype=np.uint8)
    square = np.full((20, 20, 3), (230, 70, 70), np.uint8)
    actor = V.Actor("a", square, np.ones((20, 20), bool), V.linear_path((0, 40), (170, 60)))
    frames, _ = V.render(bg, [actor])
    digests = set()
    for _ in range(8):
        digests.add(hashlib.sha256(V.encode_mp4(frames)).hexdigest())
        _ = [np.ones(n) for n in rng.integers(1, 10_000, 50)]  # churn the heap in between
    assert len(digests) == 1


def test_encoded_frames_carry_their_timestamps() -> None:
    """Decoded frame i is at exactly i / fps seconds: the encoder got explicit timestamps."""
    import io

    import av

    frames = [np.full((V.H, V.W, 3), 40 + 5 * i, np.uint8) for i in range(12)]
    with av.open(io.BytesIO(V.encode_mp4(frames))) as c:
        s = c.streams.video[0]
        times = [float(f.pts * s.time_base) for f in c.decode(s)]
    assert times == [i / V.FPS for i in range(12)]


# ---------------------------------------------------------------- CPU independence
#: x264 capability names, each including the ones before it (x264's own naming).
_TIERS = ["SSE2", "SSSE3", "SSE4.2", "AVX", "AVX2", "AVX512"]


def _v_ee_0001_frames(monkeypatch: pytest.MonkeyPatch) -> list[V.U8]:
    """The frames of mini's ``v-ee-0001``, one of the clips whose bytes differed on an AMD EPYC."""
    from muie_bench.datagen.build import build_instance

    seen: list[list[V.U8]] = []
    real = V.encode_mp4

    def keep(frames: list[V.U8], fps: int = V.FPS) -> bytes:
        seen.append(frames)
        return real(frames, fps)

    with monkeypatch.context() as m:
        m.setattr(V, "encode_mp4", keep)
        build_instance(0, "v-ee", 1)
    assert len(seen) == 1
    return seen[0]


def _encode_logged(frames: list[V.U8], x264_cpu: str | None = None) -> tuple[bytes, str]:
    """The MP4 and the capabilities x264 says it uses ("using cpu capabilities: ...")."""
    import av.logging

    level = av.logging.get_level()
    av.logging.set_level(av.logging.INFO)
    try:
        with av.logging.Capture() as logs:
            data = V.encode_mp4(frames, x264_cpu=x264_cpu)
    finally:
        av.logging.set_level(level)
    caps = [msg for _, name, msg in logs if name == "libx264" and "cpu capabilities" in msg]
    assert len(caps) == 1, logs
    return data, caps[0].split(":", 1)[1].strip()


def _tiers_of_this_cpu(frames: list[V.U8], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The capability tiers x264 detects here (it would use all of them without ``asm=0``)."""
    with monkeypatch.context() as m:
        m.setattr(V, "X264_PARAMS", "")
        detected = set(_encode_logged(frames[:2])[1].split())
    detected |= {"SSE2"} if detected & {"SSE2Slow", "SSE2Fast"} else set()
    have = [i for i, t in enumerate(_TIERS) if t in detected]
    return _TIERS[: have[-1] + 1] if have else []


def test_generator_bytes_do_not_depend_on_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """x264 run as if on CPUs of every capability tier this one has (its ``asm`` setting)
    gives the generator's settings' bytes every time; without ``asm=0`` in them the same tiers
    give other bytes (SSE2 vs SSSE3 on any x86-64 CPU of the last 15 years; AVX2 vs AVX-512,
    the AMD EPYC vs Intel Xeon case, where AVX-512 is present), so the tiers really stand in
    for other CPUs."""
    frames = _v_ee_0001_frames(monkeypatch)
    tiers = _tiers_of_this_cpu(frames, monkeypatch)
    if len(tiers) < 2:
        pytest.skip(f"x264 has fewer than two x86 capability tiers to compare here: {tiers}")
    reference = V.encode_mp4(frames)
    with_fix = {t: V.encode_mp4(frames, x264_cpu=t) for t in tiers}
    assert all(data == reference for data in with_fix.values()), \
        {t: hashlib.sha256(d).hexdigest()[:12] for t, d in with_fix.items()}
    with monkeypatch.context() as m:
        m.setattr(V, "X264_PARAMS", "")
        without = {t: V.encode_mp4(frames, x264_cpu=t) for t in tiers}
    assert without["SSE2"] != without["SSSE3"]
    if "AVX512" in tiers:
        assert without["AVX2"] != without["AVX512"]


def test_generator_runs_no_cpu_specific_x264_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """x264 reports no CPU capabilities in use with the generator's settings, whatever it is
    told the CPU has; the same clip decodes to the frames it was made of within H.264's loss."""
    import av

    frames = _v_ee_0001_frames(monkeypatch)
    data, caps = _encode_logged(frames)
    assert caps == "none!"
    assert _encode_logged(frames, x264_cpu="SSE2")[1] == "none!"
    with av.open(io.BytesIO(data)) as c:
        decoded = [f.to_ndarray() for f in c.decode(video=0)]
    assert len(decoded) == len(frames)
    err = [np.abs(d.astype(int) - V.to_yuv420p(f).astype(int)).mean() for d, f in zip(decoded, frames, strict=True)]
    assert max(err) < 3.0
