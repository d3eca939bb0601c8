"""Ground truth agrees with the decoded media of the committed mini benchmark.

Images and video frames are compared with their background, rebuilt from the parameters
kept in each instance's meta: pixels inside a mask differ from it, pixels outside every
mask do not, and a track's old place shows the background again once it has moved on.
Audio: every spoken mention's time span carries speech energy, in the order of the text.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from muie_bench.benchmark import Benchmark, load_benchmark
from muie_bench.datagen.assets import background_from
from muie_bench.schema import RLE


@pytest.fixture(scope="module")
def bench(mini_dir: Path) -> Benchmark:
    return load_benchmark(mini_dir)


def _m(rle: RLE) -> np.ndarray[Any, Any]:
    return np.asarray(mask_utils.decode({"size": list(rle.size), "counts": rle.counts.encode()}), bool)


def _diff(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.abs(a.astype(np.int16) - b.astype(np.int16)).mean(axis=-1)


def test_image_masks_cover_exactly_the_pasted_pixels(bench: Benchmark) -> None:
    n = 0
    for inst in bench.instances:
        if inst.image is None:
            continue
        img = bench.media.image(inst.image)
        bg = background_from(inst.meta["background"], *img.shape[:2])
        d = _diff(img, bg)
        union = np.zeros(img.shape[:2], bool)
        stuff = None
        for m in inst.gold.entities:
            if m.image_mask is None:
                continue
            mask = _m(m.image_mask)
            if m.id in ("stuff", "place"):
                stuff = mask
                continue
            union |= mask
            assert mask.any() and d[mask].mean() > 15, (inst.id, m.id, d[mask].mean())
            n += 1
        assert np.median(d[~union]) < 6, inst.id  # JPEG noise only
        if stuff is not None:  # the background mention is everything no object covers
            assert np.array_equal(stuff, ~union), inst.id
    assert n > 100


def test_audio_spans_carry_speech_in_text_order(bench: Benchmark) -> None:
    n = 0
    for inst in bench.instances:
        if inst.audio is None:
            continue
        x, rate = bench.media.audio(inst.audio)
        voiced = x[: int(len(x) - 0.25 * rate)]
        level = float(np.sqrt(np.mean(voiced.astype(np.float64) ** 2)))
        tail = x[int(len(x) - 0.2 * rate):]
        assert np.abs(tail).max() == 0.0, inst.id  # the padding after the speech is silent
        spoken = [m for m in inst.gold.mentions() if m.audio_spans]
        for m in spoken:
            for s, e in m.audio_spans or []:
                seg = x[int(s * rate): int(e * rate)]
                assert len(seg) > 0.05 * rate, (inst.id, m.id)
                rms = float(np.sqrt(np.mean(seg.astype(np.float64) ** 2)))
                assert rms > 0.3 * level, (inst.id, m.id, rms, level)
                n += 1
        with_span = sorted((m for m in spoken if m.span), key=lambda m: m.span or (0, 0))
        starts = [(m.audio_spans or [[0.0, 0.0]])[0][0] for m in with_span]
        assert starts == sorted(starts), inst.id
        times = sorted(s for m in spoken for s in m.audio_spans or [])
        for (_, e0), (s1, _) in pairwise(times):  # different words
            assert e0 <= s1, (inst.id, times)
    assert n > 100


def test_video_tracks_follow_the_moving_pixels(bench: Benchmark) -> None:
    n = 0
    for inst in bench.instances:
        if inst.video is None:
            continue
        frames = list(bench.media.video_frames(inst.video))
        info = bench.media.video_info(inst.video)
        bg = background_from(inst.meta["background"], info.height, info.width)
        tracks = {m.id: {f: _m(r) for f, r in m.video_track.frames.items()}
                  for m in inst.gold.entities if m.video_track is not None}
        for mid, tr in tracks.items():
            for f, mask in tr.items():
                if mask.sum() >= 40:
                    assert _diff(frames[f], bg)[mask].mean() > 12, (inst.id, mid, f)
            f0, f1 = min(tr), max(tr)
            c0 = np.argwhere(tr[f0]).mean(axis=0)
            c1 = np.argwhere(tr[f1]).mean(axis=0)
            assert np.abs(c1 - c0).max() > 5, (inst.id, mid)  # every actor moves
            now = np.zeros_like(tr[f0])
            for other in tracks.values():
                if f1 in other:
                    now |= other[f1]
            left = tr[f0] & ~now
            if left.sum() > 50:  # where it was: background again at the end
                assert _diff(frames[f1], bg)[left].mean() < 8, (inst.id, mid)
                assert _diff(frames[f0], bg)[left].mean() > 12, (inst.id, mid)
                n += 1
        for e in inst.gold.events:  # a trigger track covers its arguments' masks
            assert e.trigger.video_track is not None
            tt = {f: _m(r) for f, r in e.trigger.video_track.frames.items()}
            for a in e.arguments:
                for f, mask in tracks[a.mention].items():
                    assert not (mask & ~tt[f]).any(), (inst.id, e.type, f)
    assert n > 20


def test_spatial_relations_agree_with_the_masks(bench: Benchmark) -> None:
    """i-re predicates against the gold masks: left/right/above/below by the masks' centres;
    'in the front of' only between objects whose extents overlap."""
    n = 0
    for inst in bench.instances:
        if inst.set != "i-re":
            continue
        masks = {m.id: _m(m.image_mask) for m in inst.gold.entities if m.image_mask}
        for r in inst.gold.relations:
            h, t = masks[r.head], masks[r.tail]
            (hy, hx), (ty, tx) = np.argwhere(h).mean(axis=0), np.argwhere(t).mean(axis=0)
            if r.type == "in the front of":
                (hy0, hx0), (hy1, hx1) = np.argwhere(h).min(0), np.argwhere(h).max(0)
                (ty0, tx0), (ty1, tx1) = np.argwhere(t).min(0), np.argwhere(t).max(0)
                assert hx0 <= tx1 + 1 and tx0 <= hx1 + 1 and hy0 <= ty1 + 1 and ty0 <= hy1 + 1
            else:
                expect = {"on the left of": hx < tx, "on the right of": hx > tx,
                          "above": hy < ty, "below": hy > ty}[r.type]
                assert expect, (inst.id, r)
            n += 1
    assert n >= 8
