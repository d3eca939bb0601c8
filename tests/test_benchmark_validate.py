"""`muie-bench validate` on bad benchmarks: one clear `file:line: field: message` line each,
a non-zero exit and never a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from muie_bench.cli import main

Mutator = Callable[[Path, list[dict[str, Any]], dict[str, Any]], None]
LINE = re.compile(r"^(?P<file>\S+):(?P<line>\d+): (?P<field>[^:]+): (?P<msg>.+)$")


def _load(root: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    lines = (root / "instances.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines], json.loads((root / "manifest.json").read_text())


def _save(root: Path, insts: list[dict[str, Any]], manifest: dict[str, Any], rehash: bool = True) -> None:
    text = "".join((i if isinstance(i, str) else json.dumps(i)) + "\n" for i in insts)
    (root / "instances.jsonl").write_text(text)
    if rehash:
        manifest["files"]["instances.jsonl"] = hashlib.sha256(text.encode()).hexdigest()
    (root / "manifest.json").write_text(json.dumps(manifest))


def _inst(insts: list[dict[str, Any]], iid: str) -> dict[str, Any]:
    return next(i for i in insts if i["id"] == iid)


def _ent(insts: list[dict[str, Any]], iid: str, k: int = 0) -> dict[str, Any]:
    ent: dict[str, Any] = _inst(insts, iid)["gold"]["entities"][k]
    return ent


def run_validate(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    old = sys.argv
    sys.argv = ["muie-bench", "validate", str(root)]
    code = 0
    try:
        main()
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        sys.argv = old
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, [x for x in err.splitlines() if x.strip()]


def _set(path: list[Any], value: Any) -> Mutator:
    """Mutator that sets insts[<id>]...path = value."""

    def m(root: Path, insts: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
        obj: Any = _inst(insts, path[0])
        for key in path[1:-1]:
            obj = obj[key]
        obj[path[-1]] = value

    return m


def _symlink_outside(root: Path, insts: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    outside = root.parent / "outside.png"
    (root / "media" / "ti-ner-0.png").rename(outside)
    os.symlink(outside, root / "media" / "ti-ner-0.png")


def _dup_instance(root: Path, insts: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    insts.append(json.loads(json.dumps(insts[0])))


def _dup_mention(root: Path, insts: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    _ent(insts, "ti-ner-0", 1)["id"] = "e1"


def _bad_json(root: Path, insts: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    insts[2] = "{not json"  # type: ignore[call-overload]


def _missing_media(root: Path, insts: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    (root / "media" / "ta-ner-0.wav").unlink()


def _count(root: Path, insts: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    manifest["sets"][0]["count"] = 5


def _media_hash(root: Path, insts: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    manifest["files"]["media/i-ee-0.png"] = "0" * 64


def _label_removed(root: Path, insts: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    manifest["sets"][0]["entity_types"] = ["PER", "LOC"]  # ORG is used by ti-ner


CASES: dict[str, tuple[Mutator, str, str]] = {
    # name: (mutation, field fragment, message fragment)
    "span_outside_text": (_set(["ti-ner-0", "gold", "entities", 0, "span"], [0, 999]), "gold", "outside the text"),
    "span_text_mismatch": (_set(["ti-ner-0", "gold", "entities", 0, "text"], "Somebody"), "gold.entities[0].span", "covers"),
    "span_end_before_start": (_set(["ti-ner-0", "gold", "entities", 0, "span"], [5, 5]), "span", "start < end"),
    "span_without_text": (_set(["ia-re-0", "gold", "entities", 0, "span"], [0, 3]), "gold", "no text"),
    "audio_negative": (_set(["ta-ner-0", "gold", "entities", 0, "audio_spans"], [[-0.5, 0.2]]), "audio_spans", "before 0"),
    "audio_end_le_start": (_set(["ta-ner-0", "gold", "entities", 0, "audio_spans"], [[0.8, 0.3]]), "audio_spans", "end <= start"),
    "audio_past_duration": (_set(["ta-ner-0", "gold", "entities", 0, "audio_spans"], [[0.3, 9.0]]), "audio_spans", "after the audio"),
    "rle_size_vs_image": (_set(["ti-ner-0", "gold", "entities", 0, "image_mask"], {"size": [10, 10], "counts": "0d1"}), "image_mask.size", "differs"),
    "rle_counts_invalid": (_set(["ti-ner-0", "gold", "entities", 0, "image_mask", "counts"], "!!!!"), "counts", "RLE"),
    "relation_head_dangling": (_set(["a-re-0", "gold", "relations", 0, "head"], "e9"), "gold", "names no entity"),
    "argument_dangling": (_set(["i-ee-0", "gold", "events", 0, "arguments", 0, "mention"], "zz"), "gold", "names no entity"),
    "duplicate_mention_id": (_dup_mention, "gold", "duplicate mention id"),
    "duplicate_instance_id": (_dup_instance, "id", "duplicate instance id"),
    "modality_without_input": (_set(["ti-ner-0", "image"], None), "(instance)", "is listed but"),
    "input_without_modality": (_set(["ta-ner-0", "modalities"], ["text"]), "(instance)", "not in modalities"),
    "unknown_entity_label": (_set(["ti-ner-0", "gold", "entities", 0, "type"], "PERSON"), "type", "unknown label"),
    "unknown_relation_label": (_set(["a-re-0", "gold", "relations", 0, "type"], "married_to"), "relations[0].type", "unknown label"),
    "unknown_event_type": (_set(["v-ee-0", "gold", "events", 0, "type"], "Attack"), "events[0].type", "unknown label"),
    "unknown_role": (_set(["v-ee-0", "gold", "events", 0, "arguments", 0, "role"], "Victim"), "role", "unknown role"),
    "path_dotdot": (_set(["ti-ner-0", "image"], "../tiny/media/ti-ner-0.png"), "image", "'..'"),
    "path_absolute": (_set(["ti-ner-0", "image"], "/etc/passwd"), "image", "relative"),
    "path_backslash": (_set(["ti-ner-0", "image"], "media\\ti-ner-0.png"), "image", "separators"),
    "symlink_outside": (_symlink_outside, "image", "outside the benchmark"),
    "missing_media": (_missing_media, "audio", "not found"),
    "bad_json_line": (_bad_json, "(instance)", "JSON"),
    "unknown_set": (_set(["ti-ner-0", "set"], "zz-ner"), "set", "unknown set"),
    "task_differs_from_set": (_set(["ti-ner-1", "task"], "re"), "task", "differs"),
    "grounded_outside_modalities": (_set(["ta-ner-0", "gold", "entities", 0, "image_mask"], {"size": [48, 64], "counts": "0d1"}), "gold.entities[0]", "not a modality"),
    "video_frame_past_end": (_set(["v-ee-0", "gold", "entities", 1, "video_track", "frames", "99"], {"size": [48, 64], "counts": "0d1"}), "video_track.frames.99", "frames"),
    "video_mask_size": (_set(["v-ee-1", "gold", "entities", 0, "video_track", "frames"], {"0": {"size": [8, 8], "counts": "0d1"}}), "video_track", "differs"),
    "manifest_count": (_count, "count", "found 2"),
    "media_sha256": (_media_hash, "files.media/i-ee-0.png", "sha256"),
    "label_not_in_inventory": (_label_removed, "type", "unknown label 'ORG'"),
    "missing_required_field": (_set(["a-re-1", "task"], None), "task", "Input should be"),
}


# causes that truly break two things (two instances use the label; the file and its hash)
# (the manifest's files entry of a bad media path is reported too: the same confinement applies)
EXPECTED_COUNT = {"label_not_in_inventory": 2, "missing_media": 2, "unknown_set": 2, "symlink_outside": 2}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_benchmark_gives_one_clear_line(name: str, tiny_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mutate, field, message = CASES[name]
    insts, manifest = _load(tiny_copy)
    mutate(tiny_copy, insts, manifest)
    _save(tiny_copy, insts, manifest)
    code, lines = run_validate(tiny_copy, capsys)
    assert code == 1
    problems = lines[:-1]
    assert lines[-1] == f"{len(problems)} problem(s)"
    assert len(problems) == EXPECTED_COUNT.get(name, 1), problems
    assert all(LINE.match(p) for p in problems), problems
    m = LINE.match(problems[0])
    assert m, problems[0]
    assert Path(m["file"]).name in ("instances.jsonl", "manifest.json")
    assert int(m["line"]) >= 1 if m["file"].endswith(".jsonl") else True
    assert field in m["field"], problems[0]
    assert message in m["msg"], problems[0]


def test_problem_line_names_the_right_line(tiny_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    insts, manifest = _load(tiny_copy)
    bad = next(k for k, i in enumerate(insts) if i["id"] == "a-re-1")
    insts[bad]["gold"]["relations"][0]["type"] = "married_to"
    _save(tiny_copy, insts, manifest)
    _, lines = run_validate(tiny_copy, capsys)
    assert lines[0].startswith(f"{tiny_copy / 'instances.jsonl'}:{bad + 1}: gold.relations[0].type:")


def test_every_problem_is_listed(tiny_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    insts, manifest = _load(tiny_copy)
    _set(["ti-ner-0", "gold", "entities", 0, "type"], "PERSON")(tiny_copy, insts, manifest)
    _set(["a-re-0", "gold", "relations", 0, "type"], "married_to")(tiny_copy, insts, manifest)
    _set(["v-ee-0", "image"], "/abs.png")(tiny_copy, insts, manifest)
    _save(tiny_copy, insts, manifest)
    code, lines = run_validate(tiny_copy, capsys)
    assert code == 1 and lines[-1] == "3 problem(s)"


def test_edited_instances_without_manifest_update(tiny_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    insts, manifest = _load(tiny_copy)
    insts[0]["meta"] = {"edited": True}
    _save(tiny_copy, insts, manifest, rehash=False)
    code, lines = run_validate(tiny_copy, capsys)
    assert code == 1
    assert "files.instances.jsonl: sha256" in lines[0]


def test_bad_manifest_json(tiny_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tiny_copy / "manifest.json").write_text('{"name": "x",\n  "sets": [}\n')
    code, lines = run_validate(tiny_copy, capsys)
    assert code == 1
    assert re.match(r".*manifest\.json:2: \(json\): ", lines[0])


def test_clean_benchmark_passes(tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run_validate(tiny_dir, capsys)
    assert code == 0 and lines == []


def test_cli_subprocess_no_traceback(tmp_path: Path) -> None:
    """The installed console script: one line, exit 2, for a path that is no benchmark."""
    exe = Path(sys.executable).parent / "muie-bench"
    r = subprocess.run([str(exe), "validate", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: {tmp_path}: not a benchmark directory (manifest.json missing)"
    r = subprocess.run([str(exe), "validate", "tests/data/tiny"], capture_output=True, text=True,
                       cwd=Path(__file__).parent.parent)
    assert r.returncode == 0 and "valid (14 instances)" in r.stdout
