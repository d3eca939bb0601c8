"""Cross-checks against independent implementations: dense numpy IoU, seqeval strict F1."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.scheme import IOB2

from muie_bench.metrics.evaluate import aggregate, score_instance
from muie_bench.metrics.grounding import hungarian_mean, mask_iou_matrix
from muie_bench.schema import RLE, Annotation, Instance, Manifest, Mention, Prediction, SetSpec


def dense_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def test_rle_mask_iou_equals_dense_numpy_iou() -> None:
    rng = np.random.default_rng(7)
    for trial in range(30):
        h, w = rng.integers(5, 60, size=2)
        dense = []
        for _ in range(int(rng.integers(1, 6))):
            kind = rng.integers(3)
            if kind == 0:  # random noise of random density
                m = rng.random((h, w)) < rng.random()
            elif kind == 1:  # a box
                y0, x0 = rng.integers(0, h), rng.integers(0, w)
                m = np.zeros((h, w), bool)
                m[y0:rng.integers(y0, h + 1), x0:rng.integers(x0, w + 1)] = True
            else:
                m = np.zeros((h, w), bool)  # empty
            dense.append(m)
        rles = [RLE(size=(int(h), int(w)),
                    counts=mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))["counts"]
                    .decode()) for m in dense]
        got = mask_iou_matrix(rles, rles[::-1])
        want = np.array([[dense_iou(a, b) for b in dense[::-1]] for a in dense])
        np.testing.assert_allclose(got, want, atol=1e-12, err_msg=f"trial {trial}")
        assert hungarian_mean(got) == pytest.approx(hungarian_mean(want))


TYPES = ["PER", "ORG", "LOC"]


def random_chunks(rng: np.random.Generator, n: int) -> list[tuple[int, int, str]]:
    """Non-overlapping (start token, end token exclusive, type) chunks."""
    out, i = [], 0
    while i < n:
        if rng.random() < 0.35:
            length = int(rng.integers(1, 4))
            end = min(n, i + length)
            out.append((i, end, TYPES[int(rng.integers(3))]))
            i = end + int(rng.integers(0, 2))  # sometimes adjacent chunks (B after I)
        else:
            i += 1
    return out


def bio(chunks: list[tuple[int, int, str]], n: int) -> list[str]:
    tags = ["O"] * n
    for s, e, t in chunks:
        tags[s] = f"B-{t}"
        for k in range(s + 1, e):
            tags[k] = f"I-{t}"
    return tags


def mentions(tokens: list[str], chunks: list[tuple[int, int, str]]) -> list[Mention]:
    starts = np.cumsum([0] + [len(t) + 1 for t in tokens])
    out = []
    for j, (s, e, t) in enumerate(chunks):
        a, b = int(starts[s]), int(starts[e] - 1)
        out.append(Mention(id=f"m{j}", type=t, text=" ".join(tokens[s:e]), span=(a, b)))
    return out


def test_ner_f1_equals_seqeval_strict_on_bio() -> None:
    rng = np.random.default_rng(3)
    vocab = ["ann", "bob", "paris", "the", "acme", "in", "met", "x"]
    for trial in range(5):
        y_true, y_pred, scores = [], [], []
        for k in range(40):
            n = int(rng.integers(1, 15))
            tokens = [vocab[int(i)] for i in rng.integers(0, len(vocab), n)]
            text = " ".join(tokens)
            g = random_chunks(rng, n)
            # the prediction: mostly the gold with random edits, plus random chunks
            p = [c for c in g if rng.random() < 0.6] if rng.random() < 0.7 else random_chunks(rng, n)
            y_true.append(bio(g, n))
            y_pred.append(bio(p, n))
            inst = Instance(id=f"{k}", set="t", modalities=["text"], task="ner", text=text,
                            gold=Annotation(entities=mentions(tokens, g)))
            scores.append(score_instance(inst, Prediction(
                id=inst.id, output=Annotation(entities=mentions(tokens, p)))))
        m = Manifest(name="m", version="1",
                     sets=[SetSpec(id="t", modalities=["text"], task="ner", count=40)])
        f1 = aggregate(m, scores, {"name": "m"}, n_resamples=0).sets["t"].metrics["f1"]
        kw = {"mode": "strict", "scheme": IOB2}
        assert 20 < f1.value < 95  # a real mix of hits and misses
        assert f1.value == pytest.approx(100 * f1_score(y_true, y_pred, **kw)), trial
        assert f1.precision == pytest.approx(100 * precision_score(y_true, y_pred, **kw))
        assert f1.recall == pytest.approx(100 * recall_score(y_true, y_pred, **kw))
