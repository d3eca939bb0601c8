"""muie_bench.masks: the same numbers as pycocotools.mask, and malformed input refused."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from muie_bench import masks
from muie_bench.schema import RLE


def _random_masks(n: int, h: int, w: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = [np.zeros((h, w), dtype=bool), np.ones((h, w), dtype=bool)]
    for _ in range(n):
        m = np.zeros((h, w), dtype=bool)
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        m[y0:y0 + rng.integers(1, h + 1), x0:x0 + rng.integers(1, w + 1)] = True
        m ^= rng.random((h, w)) < 0.05  # speckle: many short runs
        out.append(m)
    return out


def _coco(m: np.ndarray) -> dict:
    return mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))


@pytest.mark.parametrize(("h", "w"), [(1, 1), (7, 13), (48, 64), (300, 2)])
def test_encode_decode_round_trip_and_match_pycocotools(h: int, w: int) -> None:
    for m in _random_masks(12, h, w, seed=h * 1000 + w):
        rle = masks.encode(m)
        assert rle.size == (h, w)
        assert rle.counts == _coco(m)["counts"].decode()
        assert np.array_equal(masks.decode(rle), m)
        assert masks.area(rle) == int(m.sum())
        assert masks.bbox(rle) == tuple(float(v) for v in mask_utils.toBbox(_coco(m)))


def test_encode_takes_any_nonzero_as_set() -> None:
    a = np.array([[0, 2], [255, 0]], dtype=np.uint8)
    assert np.array_equal(masks.decode(masks.encode(a)), a != 0)
    with pytest.raises(ValueError, match="2-D"):
        masks.encode(np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="2-D"):
        masks.encode(np.zeros((0, 4)))


def test_bbox_of_an_empty_mask_is_zero() -> None:
    assert masks.bbox(masks.encode(np.zeros((5, 4), dtype=bool))) == (0.0, 0.0, 0.0, 0.0)


def test_iou_and_merge_match_pycocotools() -> None:
    ms = _random_masks(8, 40, 30, seed=7)
    rles = [masks.encode(m) for m in ms]
    for i, a in enumerate(ms):
        for j, b in enumerate(ms):
            inter, union = int((a & b).sum()), int((a | b).sum())
            want = float(mask_utils.iou([_coco(a)], [_coco(b)], [0])[0][0])
            assert masks.iou(rles[i], rles[j]) == want
            assert want == (inter / union if union else 0.0)
    union = masks.merge(rles[2:6])
    assert np.array_equal(masks.decode(union), np.logical_or.reduce(ms[2:6]))
    inter = masks.merge(rles[2:6], intersect=True)
    assert np.array_equal(masks.decode(inter), np.logical_and.reduce(ms[2:6]))
    assert masks.merge([rles[3]]) == rles[3]


def test_malformed_or_mismatched_masks_are_refused() -> None:
    good = masks.encode(np.eye(4, dtype=bool))
    with pytest.raises(ValueError, match="sum to 15, not height x width = 16"):
        masks.area(RLE(size=(4, 4), counts="0?"))  # runs 0, 15
    with pytest.raises(ValueError, match="outside the RLE alphabet"):
        masks.decode(RLE(size=(4, 4), counts="~~"))
    with pytest.raises(ValueError, match="truncated"):
        masks.decode(RLE(size=(4, 4), counts="h"))
    with pytest.raises(ValueError, match="different sizes"):
        masks.iou(good, masks.encode(np.eye(5, dtype=bool)))
    with pytest.raises(ValueError, match="no masks"):
        masks.merge([])


def test_the_run_check_agrees_with_the_metrics_decoder() -> None:
    from muie_bench.metrics.rle import rle_runs

    for m in _random_masks(20, 33, 17, seed=3):
        counts = _coco(m)["counts"].decode()
        assert masks._runs_total(counts) == int(rle_runs(counts).sum()) == m.size
