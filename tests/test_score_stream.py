"""The streaming ``muie-bench score``: gold checked once per sha256, bounded memory, the
errors of the in-memory path in the same order, nothing written on an error."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils

import muie_bench.metrics.evaluate as evaluate
import muie_bench.scoring as scoring
from muie_bench.benchmark import checked_index, load_benchmark
from muie_bench.errors import UserError
from muie_bench.metrics.evaluate import score
from muie_bench.scoring import read_predictions, score_command

FIXTURES = Path(__file__).parent / "data" / "score_fixtures"
MINI = Path(__file__).parent.parent / "benchmark_data" / "muie-synth-mini"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("MUIE_BENCH_CACHE", str(cache))
    return cache


def _oracle_lines() -> list[dict[str, Any]]:
    data = gzip.decompress((FIXTURES / "oracle" / "predictions.jsonl.gz").read_bytes())
    return [json.loads(x) for x in data.decode().splitlines()]


def _write(tmp: Path, lines: list[dict[str, Any]]) -> Path:
    path = tmp / "preds" / "predictions.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def _image_mention(line: dict[str, Any]) -> dict[str, Any] | None:
    return next((m for m in line["output"]["entities"] if m.get("image_mask")), None)


def test_gold_is_checked_once_per_sha256(tmp_path: Path, _own_cache: Path) -> None:
    index, err = checked_index(MINI)
    assert err is None and len(index) == 120
    records = list((_own_cache / "checked").iterdir())
    assert len(records) == 1 and records[0].name.startswith(index.sha256)
    again, err = checked_index(MINI)  # from the record: same ids, sets and lines
    assert err is None and (again.ids, again.sets, again.lines) == (index.ids, index.sets, index.lines)
    assert load_benchmark(MINI).gold_masks_valid


def test_changed_instances_are_not_trusted(tmp_path: Path, _own_cache: Path) -> None:
    """A gold mask broken after the record was written is found: the sha256 differs."""
    copy = tmp_path / "mini"
    shutil.copytree(MINI, copy, ignore=shutil.ignore_patterns("media"))
    checked_index(copy)
    lines = (copy / "instances.jsonl").read_text().splitlines()
    k = next(i for i, x in enumerate(lines) if '"image_mask"' in x)
    rec = json.loads(lines[k])
    m = next(m for m in rec["gold"]["entities"] if m.get("image_mask"))
    m["image_mask"]["counts"] = "zzzz"
    lines[k] = json.dumps(rec)
    (copy / "instances.jsonl").write_text("\n".join(lines) + "\n")
    from muie_bench.benchmark import sha256_file

    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["instances.jsonl"] = sha256_file(copy / "instances.jsonl")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    _, err = checked_index(copy)
    assert err is not None and f"instance {rec['id']!r}: gold: mention {m['id']!r}" in err
    assert not load_benchmark(copy).gold_masks_valid
    preds = _write(tmp_path, [{"id": rec["id"]}])
    with pytest.raises(UserError, match=r"gold: mention .* not a valid COCO RLE"):
        score_command(preds, copy, out=tmp_path / "out")


def test_large_file_path_is_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Predictions too large to keep are read again by offset: the same bytes."""
    preds = _write(tmp_path, _oracle_lines()[::-1])
    monkeypatch.setattr(scoring, "KEEP_PREDICTIONS_BYTES", 0)
    score_command(preds, MINI, out=tmp_path / "a")
    monkeypatch.setattr(scoring, "KEEP_PREDICTIONS_BYTES", 1 << 30)
    score_command(preds, MINI, out=tmp_path / "b")
    for f in ("scores.json", "instance_scores.jsonl"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
        assert (tmp_path / "a" / f).read_bytes() == (FIXTURES / "oracle" / f).read_bytes()


def _errors_of_both_paths(tmp_path: Path, lines: list[dict[str, Any]]) -> tuple[str, str]:
    path = _write(tmp_path, lines)
    with pytest.raises(UserError) as streamed:
        score_command(path, MINI, out=tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    with pytest.raises(UserError) as in_memory:
        score(load_benchmark(MINI), read_predictions(path), n_resamples=0)
    return str(streamed.value), str(in_memory.value)


def test_an_invalid_mask_wins_over_an_earlier_size_error(tmp_path: Path) -> None:
    lines = _oracle_lines()
    with_masks = [i for i, x in enumerate(lines) if _image_mention(x) is not None]
    early, late = with_masks[0], with_masks[-1]
    m = _image_mention(lines[early])
    assert m is not None
    h, w = m["image_mask"]["size"]
    big = mask_utils.encode(np.asfortranarray(np.ones((h + 1, w), np.uint8)))
    m["image_mask"] = {"size": [h + 1, w], "counts": big["counts"].decode()}
    bad = _image_mention(lines[late])
    assert bad is not None
    bad["image_mask"]["counts"] = "zzzz"
    streamed, in_memory = _errors_of_both_paths(tmp_path, lines)
    assert streamed == in_memory
    assert f"prediction {lines[late]['id']!r}: output: mention {bad['id']!r}" in streamed
    assert "not a valid COCO RLE" in streamed


def test_size_error_and_unknown_id_as_before(tmp_path: Path) -> None:
    lines = _oracle_lines()
    m = next(_image_mention(x) for x in lines if _image_mention(x) is not None)
    assert m is not None
    h, w = m["image_mask"]["size"]
    big = mask_utils.encode(np.asfortranarray(np.ones((h, w + 2), np.uint8)))
    m["image_mask"] = {"size": [h, w + 2], "counts": big["counts"].decode()}
    streamed, in_memory = _errors_of_both_paths(tmp_path, lines)
    assert streamed == in_memory and "differs from the gold mask size" in streamed
    streamed, in_memory = _errors_of_both_paths(tmp_path, [*lines, {"id": "nope"}])
    assert streamed == in_memory and "'nope' is not an instance" in streamed


def test_a_bad_line_after_an_invalid_mask_is_reported_first(tmp_path: Path) -> None:
    """Every line is parsed before any mask is judged (as read_predictions did)."""
    lines = _oracle_lines()
    bad = next(_image_mention(x) for x in lines if _image_mention(x) is not None)
    assert bad is not None
    bad["image_mask"]["counts"] = "zzzz"
    path = _write(tmp_path, lines)
    with open(path, "a") as f:
        f.write('{"id": 3}\n')
    with pytest.raises(UserError, match=rf"{path}:{len(lines) + 1}: id: "):
        score_command(path, MINI, out=tmp_path / "out")


@pytest.mark.parametrize("name", ["perturbed", "oracle"])
def test_worker_processes_write_the_same_files(name: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evaluate, "PARALLEL_MIN_INSTANCES", 1)
    index, _ = checked_index(MINI)
    groups = scoring._set_groups(index)
    if groups is None:
        pytest.skip("one core or no fork here")
    assert sorted(s for g in groups for s in g) == sorted(set(index.sets))
    path = tmp_path / "predictions.jsonl"
    path.write_bytes(gzip.decompress((FIXTURES / name / "predictions.jsonl.gz").read_bytes()))
    score_command(path, MINI, out=tmp_path / "out")
    for f in ("scores.json", "instance_scores.jsonl"):
        assert (tmp_path / "out" / f).read_bytes() == (FIXTURES / name / f).read_bytes(), f


def test_worker_errors_are_reported_as_the_serial_path_does(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _oracle_lines()
    m = next(_image_mention(x) for x in lines if _image_mention(x) is not None)
    assert m is not None
    h, w = m["image_mask"]["size"]
    big = mask_utils.encode(np.asfortranarray(np.ones((h, w + 2), np.uint8)))
    m["image_mask"] = {"size": [h, w + 2], "counts": big["counts"].decode()}
    serial, _ = _errors_of_both_paths(tmp_path / "a", lines)
    monkeypatch.setattr(evaluate, "PARALLEL_MIN_INSTANCES", 1)
    parallel, _ = _errors_of_both_paths(tmp_path / "b", lines)
    assert parallel == serial and "differs from the gold mask size" in parallel


def test_in_memory_score_with_workers_is_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    path_preds = gzip.decompress((FIXTURES / "perturbed" / "predictions.jsonl.gz").read_bytes())
    from muie_bench.schema import Prediction

    preds = [Prediction.model_validate_json(x) for x in path_preds.splitlines() if x.strip()]
    bench = load_benchmark(MINI)
    serial = score(bench, preds)
    monkeypatch.setattr(evaluate, "PARALLEL_MIN_INSTANCES", 1)
    if evaluate.balanced_groups({"a": 1, "b": 1}, 10) is None:
        pytest.skip("one core or no fork here")
    parallel = score(bench, preds)
    assert parallel[0].model_dump_json() == serial[0].model_dump_json()
    assert [s.model_dump_json() for s in parallel[1]] == [s.model_dump_json() for s in serial[1]]
