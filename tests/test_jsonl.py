"""The JSON Lines reader and the typed run record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from muie_bench.errors import UserError
from muie_bench.jsonl import iter_lines, read_json_file, read_models
from muie_bench.run.spec import RunSpec, SelectionSpec
from muie_bench.schema import Prediction, RunCounts, RunError, RunRecord


def test_lines_numbered_blank_skipped_torn_tail_option(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    p.write_bytes(b'{"id": "a"}\n\n{"id": "b"}\n{"id": "c"')
    kept = list(iter_lines(p))
    assert [(x.n, x.text.strip()) for x in kept] == [(1, '{"id": "a"}'), (3, '{"id": "b"}'),
                                                    (4, '{"id": "c"')]
    assert kept[1].start == 13 and kept[1].end == 25
    assert [x.n for x in iter_lines(p, torn="skip")] == [1, 3]
    assert [m.id for _, m in read_models(p, Prediction, "prediction", torn="skip")] == ["a", "b"]
    with pytest.raises(UserError, match=r"x\.jsonl:4: \(prediction\): Invalid JSON"):
        list(read_models(p, Prediction, "prediction"))


def test_invalid_utf8_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    p.write_bytes(b'{"id": "a"}\n{"id": "\xc3("}\n')
    with pytest.raises(UserError) as e:
        list(iter_lines(p))
    assert str(e.value) == f"{p}:2: (encoding): invalid UTF-8 (byte 0xc3 at column 9)"


def test_field_errors_name_the_field(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    p.write_text('{"id": "a", "seconds": -1, "error": 5}\n')
    with pytest.raises(UserError, match=r"x\.jsonl:1: error: Input should be a valid string \(and 1 more\)$"):
        list(read_models(p, Prediction, "prediction"))


def test_whole_file_json_errors_name_their_line(tmp_path: Path) -> None:
    p = tmp_path / "run.json"
    p.write_text('{\n  "run_id": "x",\n  "system": oops\n}\n')
    with pytest.raises(UserError, match=r"run\.json:3: \(run record\): Invalid JSON"):
        read_json_file(p, RunRecord, "run record")
    p.write_bytes(b'{\n  "run_id": "\xff"\n}\n')
    with pytest.raises(UserError, match=r"run\.json:2: \(encoding\): invalid UTF-8 \(byte 0xff at column 14\)"):
        read_json_file(p, RunRecord, "run record")


OLD_RUN_JSON = {  # as written before the record had typed parts (a run still running, then done)
    "schema_version": "1", "run_id": "20261126-084606-cb81-827a", "argv": ["muie-bench", "run"],
    "system": {"name": "oracle", "kind": "oracle", "settings": {}, "fingerprint": "cb81f540",
               "components": {}},
    "benchmark": {"name": "tiny", "version": "1", "sha256": "ab" * 32, "path": "/x/tiny"},
    "selection": {"sets": None, "modalities": None, "tasks": None, "limit": None,
                  "instances": 14},
    "git": {}, "packages": {}, "host": {}, "started": "2026-11-26T08:46:06+00:00",
    "ended": None, "status": "running", "counts": {}, "timings": {"load": 0.1},
    "errors": [], "resume_key": "0123456789abcdef0123", "trace_totals": {},
    "scored_predictions_bytes": None,
}


def test_run_json_of_the_previous_code_loads_with_the_same_keys() -> None:
    rec = RunRecord.model_validate(OLD_RUN_JSON)
    assert rec.counts == RunCounts() and rec.selection.instances == 14
    assert rec.benchmark.sha256 == "ab" * 32
    done = {**OLD_RUN_JSON, "status": "complete",
            "counts": {"total": 14, "done": 13, "failed": 1, "missing": 0},
            "errors": [{"id": "ti-ner-1", "error": "RuntimeError: x"},
                       {"id": None, "error": "SetupFailed: y"}]}
    rec = RunRecord.model_validate(done)
    assert rec.counts.failed == 1 and rec.errors[0] == RunError(id="ti-ner-1", error="RuntimeError: x")
    assert json.loads(rec.model_dump_json()) == done
    # the transitional dict-style reads still answer
    assert rec.benchmark.name == "tiny"
    assert rec.selection.instances == 14 and rec.counts.total == 14
    with pytest.raises(ValueError):
        RunRecord.model_validate({**done, "counts": {"total": 1, "typo": 2}})


def test_resume_key_is_the_one_recorded_by_the_previous_code() -> None:
    # the key old runs carry in run.json: a new command must find them
    import hashlib

    sel = {"sets": ["a-re", "ti-ner"], "modalities": None, "tasks": None, "limit": 3}
    old = hashlib.sha256(json.dumps({"system": "oracle", "fingerprint": "fp", "benchmark": "sha",
                                     "selection": sel}, sort_keys=True).encode()).hexdigest()[:20]
    spec = RunSpec("oracle", "fp", "sha", SelectionSpec.of(["ti-ner", "a-re"], [], None, 3))
    assert spec.key() == old
    assert spec == RunSpec("oracle", "fp", "sha", SelectionSpec.of(["a-re", "ti-ner"], None, [], 3))
    with pytest.raises(AttributeError):
        spec.system = "x"  # type: ignore[misc]
