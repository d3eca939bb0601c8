"""NaN / +-inf in any number of any file is an error naming file:line: field, never a score."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from muie_bench.benchmark import load_benchmark, non_finite_line, validate_benchmark
from muie_bench.errors import UserError, ValidationProblems
from muie_bench.metrics.grounding import span_iou
from muie_bench.run.files import read_instance_scores
from muie_bench.schema import Scores
from muie_bench.scoring import read_predictions
from muie_bench.systems.registry import build_system

#: JSON literals Python's json and pydantic's JSON parser accept for non-finite numbers
LITERALS = ["NaN", "Infinity", "-Infinity", "1e400"]


def _edit_line(path: Path, n: int, old: str, new: str) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    assert old in lines[n - 1]
    lines[n - 1] = lines[n - 1].replace(old, new, 1)
    path.write_text("\n".join(lines), encoding="utf-8")


def _problems(root: Path) -> list[str]:
    with pytest.raises(ValidationProblems) as e:
        validate_benchmark(root)
    return e.value.problems


def _audio_line(root: Path) -> int:
    for n, line in enumerate((root / "instances.jsonl").read_text().splitlines(), start=1):
        if '"audio_spans": [[0.3, 0.8]]' in line:
            return n
    raise AssertionError("no audio span in the tiny benchmark")


@pytest.mark.parametrize("literal", LITERALS)
def test_validate_rejects_a_non_finite_gold_time(tiny_copy: Path, literal: str) -> None:
    n = _audio_line(tiny_copy)
    _edit_line(tiny_copy / "instances.jsonl", n, "[[0.3, 0.8]]", f"[[{literal}, 0.9]]")
    expected = (f"{tiny_copy / 'instances.jsonl'}:{n}: gold.entities[0].audio_spans[0][0]: "
                "Input should be a finite number")
    assert expected in _problems(tiny_copy)


def test_validate_rejects_non_finite_numbers_nested_in_instance_meta(tiny_copy: Path) -> None:
    _edit_line(tiny_copy / "instances.jsonl", 1, '"meta": {', '"meta": {"q": {"w": [0.5, NaN]}, ')
    expected = (f"{tiny_copy / 'instances.jsonl'}:1: meta: q.w[1]: nan is not a finite number "
                "(NaN and infinity are not allowed)")
    assert expected in _problems(tiny_copy)


def test_validate_rejects_non_finite_numbers_in_the_manifest_on_their_line(tiny_copy: Path) -> None:
    path = tiny_copy / "manifest.json"
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    gen = next(i for i, line in enumerate(lines) if '"generator": {' in line)
    lines.insert(gen + 1, '  "seed_nan": Infinity,')
    count = next(i for i, line in enumerate(lines) if '"count":' in line)
    path.write_text("\n".join(lines), encoding="utf-8")
    assert _problems(tiny_copy) == [
        f"{path}:{gen + 2}: generator: seed_nan: inf is not a finite number "
        "(NaN and infinity are not allowed)"
    ]
    lines.pop(gen + 1)
    count -= 1
    lines[count] = lines[count].split(":")[0] + ": NaN,"
    path.write_text("\n".join(lines), encoding="utf-8")
    problems = _problems(tiny_copy)
    assert problems[0].startswith(f"{path}:{count + 1}: sets[0].count: ")


def test_non_finite_line_ignores_strings_and_finds_overflowing_numbers() -> None:
    assert non_finite_line('{"a": "NaN Infinity 1e999",\n "b": 1.5e3}') is None
    assert non_finite_line('{"a": "x\\" NaN",\n "b": [1,\n 2e400]}') == 3
    assert non_finite_line('{"a": -Infinity}') == 1


def _oracle_lines(bench_dir: Path) -> list[dict[str, object]]:
    bench = load_benchmark(bench_dir)
    oracle = build_system("oracle")
    oracle.setup(bench)
    return [json.loads(oracle.predict(i, bench).model_dump_json()) for i in bench]


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_predictions_with_nan_audio_spans_are_an_error_not_a_score(tiny_dir: Path,
                                                                     tmp_path: Path) -> None:
    rows = _oracle_lines(tiny_dir)
    first = None
    for n, row in enumerate(rows, start=1):
        for i, ent in enumerate(row["output"]["entities"]):  # type: ignore[index]
            if ent.get("audio_spans"):
                ent["audio_spans"] = [[math.nan, math.nan]]  # json.dumps writes NaN
                first = first or (n, i)
    assert first is not None
    path = _write(tmp_path / "predictions.jsonl", rows)
    with pytest.raises(UserError) as e:
        read_predictions(path)
    n, i = first
    assert str(e.value).startswith(
        f"{path}:{n}: output.entities[{i}].audio_spans[0][0]: Input should be a finite number"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "muie_bench.cli", "score", str(path), "-b", str(tiny_dir),
         "--out", str(tmp_path / "out"), "--resamples", "0"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    err = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(err) == 1 and f"{path}:{n}: output.entities[{i}].audio_spans[0][0]" in err[0]
    assert not (tmp_path / "out" / "scores.json").exists()


@pytest.mark.parametrize("field,value,message", [
    ("trace", {"timings": {"asr": math.inf}}, "trace: timings.asr: inf is not a finite number"),
    ("trace", {"calls": [{"t": -math.inf}]}, "trace: calls[0].t: -inf is not a finite number"),
    ("seconds", math.nan, "seconds: Input should be a finite number"),
])
def test_predictions_with_non_finite_trace_or_numbers_are_an_error(
    tiny_dir: Path, tmp_path: Path, field: str, value: object, message: str
) -> None:
    rows = _oracle_lines(tiny_dir)
    rows[1][field] = value
    path = _write(tmp_path / "predictions.jsonl", rows)
    with pytest.raises(UserError) as e:
        read_predictions(path)
    assert str(e.value).startswith(f"{path}:2: {message}")


@pytest.mark.parametrize("literal", LITERALS)
def test_instance_scores_with_non_finite_values_are_an_error(tmp_path: Path, literal: str) -> None:
    path = tmp_path / "instance_scores.jsonl"
    path.write_text('{"id": "a", "set": "s", "grounding": {"a_seg": 0.5}}\n'
                    f'{{"id": "b", "set": "s", "grounding": {{"a_seg": {literal}}}}}\n')
    with pytest.raises(UserError) as e:
        read_instance_scores(path)
    assert str(e.value) == f"{path}:2: grounding.a_seg: Input should be a finite number"


def test_scores_json_with_non_finite_values_is_rejected() -> None:
    base = {"benchmark": {}, "tau": 0.5, "sets": {}}
    for bad in ({"tau": "NaN"}, {"macro": {"f1": {"value": "Infinity"}}},
                {"bootstrap": {"level": "NaN"}}):
        text = json.dumps({**base, **bad}).replace('"NaN"', "NaN").replace('"Infinity"', "Infinity")
        with pytest.raises(ValueError, match="finite number"):
            Scores.model_validate_json(text)


def test_span_iou_refuses_non_finite_times() -> None:
    # was 1.0: NaN compares false with everything, so the union of [(nan, nan)] looked empty
    for bad in ([(math.nan, math.nan)], [(0.1, math.inf)], [(-math.inf, 0.5)]):
        with pytest.raises(ValueError, match="finite"):
            span_iou([(0.01, 0.94)], bad)
        with pytest.raises(ValueError, match="finite"):
            span_iou(bad, [(0.01, 0.94)])
