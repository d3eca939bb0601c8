"""Oracle / empty anchors on the tiny and mini benchmarks, the score files and the CLI."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from muie_bench.benchmark import Benchmark, load_benchmark
from muie_bench.errors import UserError
from muie_bench.metrics.evaluate import score
from muie_bench.paper_sets import columns_for
from muie_bench.run.files import read_instance_scores, write_score_files
from muie_bench.schema import RLE, Prediction, Scores
from muie_bench.scoring import read_predictions
from muie_bench.systems.registry import build_system


def predictions_of(system: str, bench: Benchmark) -> list[Prediction]:
    s = build_system(system)
    s.setup(bench)
    return [s.predict(i, bench) for i in bench]


def assert_all(scores: Scores, expected: float) -> None:
    assert scores.sets, "nothing scored"
    for sid, ss in scores.sets.items():
        for col in columns_for(sid, ss.task, ss.modalities):
            assert col in ss.metrics, (sid, col)  # every paper column is reported
        for metric, mv in ss.metrics.items():
            assert mv.value == expected, (sid, metric, mv.value)
    for metric, mv in scores.macro.items():
        assert mv.value == expected, metric


@pytest.fixture(params=["tiny", "mini"])
def bench(request: pytest.FixtureRequest, tiny_dir: Path) -> Benchmark:
    if request.param == "tiny":
        return load_benchmark(tiny_dir)
    mini_dir = request.getfixturevalue("mini_dir")  # skips when the mini benchmark is not built
    return load_benchmark(mini_dir)


def test_oracle_is_100_and_empty_is_0(bench: Benchmark) -> None:
    oracle, _ = score(bench, predictions_of("oracle", bench), n_resamples=50)
    assert_all(oracle, 100.0)
    assert oracle.missing == 0 and oracle.parse_failure_rate == 0.0
    empty, inst = score(bench, predictions_of("empty", bench), n_resamples=50)
    assert_all(empty, 0.0)
    assert len(inst) == len(bench)


def test_prediction_order_and_missing(bench: Benchmark) -> None:
    preds = predictions_of("oracle", bench)
    a, _ = score(bench, preds, n_resamples=100, seed=3)
    shuffled = preds[:]
    random.Random(1).shuffle(shuffled)
    b, _ = score(bench, shuffled, n_resamples=100, seed=3)
    assert a == b
    c, inst = score(bench, preds[1:], n_resamples=0)
    assert c.missing == 1 and sum(s.missing for s in inst) == 1
    first_set = bench.instances[0].set
    assert c.sets[first_set].missing == 1


def test_unknown_and_duplicate_prediction_ids(tiny_dir: Path) -> None:
    bench = load_benchmark(tiny_dir)
    with pytest.raises(UserError, match="'nope' is not an instance"):
        score(bench, [Prediction(id="nope")])
    first = bench.instances[0].id
    with pytest.raises(UserError, match="more than once"):
        score(bench, [Prediction(id=first), Prediction(id=first)])


def test_score_files_round_trip_and_read_errors(tiny_dir: Path, tmp_path: Path) -> None:
    bench = load_benchmark(tiny_dir)
    scores, inst = score(bench, predictions_of("oracle", bench), n_resamples=20)
    write_score_files(tmp_path, scores, inst)
    assert Scores.model_validate_json((tmp_path / "scores.json").read_text()) == scores
    assert read_instance_scores(tmp_path / "instance_scores.jsonl") == inst
    bad = tmp_path / "p.jsonl"
    bad.write_text('{"id": "a"}\n\n{"id": "b", "output": {"entities": [{"id": "m"}]}}\n')
    with pytest.raises(UserError, match=r"p\.jsonl:3: output\.entities\[0\]\.text"):
        read_predictions(bad)
    bad.write_text('{"id": "a"}\n{"id": "a"}\n')
    with pytest.raises(UserError, match=r"p\.jsonl:2: id: duplicate prediction id 'a' \(first on line 1\)"):
        read_predictions(bad)
    bad.write_text("{not json\n")
    with pytest.raises(UserError, match=r"p\.jsonl:1: "):
        read_predictions(bad)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "muie_bench.cli", *args], capture_output=True,
                          text=True, env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"}, check=False)


def test_cli_score_writes_files_and_prints_paper_columns(tiny_dir: Path, tmp_path: Path) -> None:
    bench = load_benchmark(tiny_dir)
    preds = tmp_path / "run" / "predictions.jsonl"
    preds.parent.mkdir()
    preds.write_text("".join(p.model_dump_json() + "\n" for p in predictions_of("oracle", bench)))
    r = _cli("score", str(preds), "--benchmark", str(tiny_dir), "--resamples", "30")
    assert r.returncode == 0, r.stderr
    for title in ("F1", "ET", "EA", "I-Seg", "A-Seg", "V-Trck", "macro"):
        assert title in r.stdout
    assert "100.0" in r.stdout
    data = json.loads((preds.parent / "scores.json").read_text())
    assert data["bootstrap"]["resamples"] == 30
    assert data["macro"]["f1"]["value"] == 100.0
    lines = (preds.parent / "instance_scores.jsonl").read_text().splitlines()
    assert len(lines) == len(bench)
    out = tmp_path / "elsewhere"
    r = _cli("score", str(preds), "--benchmark", str(tiny_dir), "--out", str(out), "--tau", "0.9")
    assert r.returncode == 0 and json.loads((out / "scores.json").read_text())["tau"] == 0.9
    preds.write_text('{"id": "nope"}\n')
    r = _cli("score", str(preds), "--benchmark", str(tiny_dir))
    assert r.returncode == 2
    assert r.stderr.strip() == "error: prediction id 'nope' is not an instance of benchmark " \
        f"'tiny' ({len(bench)} instances selected)"
    r = _cli("score", str(preds), "--benchmark", str(tiny_dir), "--tau", "0")
    assert r.returncode == 2 and "--tau" in r.stderr and "Traceback" not in r.stderr


def test_score_names_the_field_of_an_invalid_or_missized_mask(tiny_dir: Path) -> None:
    bench = load_benchmark(tiny_dir)
    preds = predictions_of("oracle", bench)
    target = next(p for p in preds if any(m.image_mask is not None for m in p.output.entities))
    k, m = next((k, m) for k, m in enumerate(target.output.entities) if m.image_mask is not None)
    assert m.image_mask is not None
    good = m.image_mask.counts
    m.image_mask.counts = "zzzz"  # pycocotools would loop on this; we must not
    with pytest.raises(UserError, match=rf"prediction '{target.id}': output: mention "
                       rf"'{m.id}' \(mentions\[{k}\]\)\.image_mask\.counts: not a valid COCO RLE"):
        score(bench, preds, n_resamples=0)
    m.image_mask.counts = good
    h, w = m.image_mask.size
    other = mask_utils.encode(np.asfortranarray(np.ones((h + 1, w), np.uint8)))
    m.image_mask = RLE(size=(h + 1, w), counts=other["counts"].decode())
    with pytest.raises(UserError, match=rf"output\.entities\[{k}\]\.image_mask\.size: mask size "
                       rf"\[{h + 1}, {w}\] differs from the gold mask size \[{h}, {w}\]"):
        score(bench, preds, n_resamples=0)
