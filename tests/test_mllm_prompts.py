"""Prompts: snapshot of every tiny instance's prompt, template versioning and hashing."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from muie_bench.benchmark import load_benchmark
from muie_bench.errors import UserError
from muie_bench.systems.prompts import (
    build_prompt,
    load_template,
    template_names,
    template_sha256,
)
from muie_bench.systems.registry import build_system

SNAPSHOT = Path(__file__).resolve().parent / "mllm_prompt_snapshots.json"


def _render(tiny: Path) -> dict[str, dict[str, object]]:
    bench = load_benchmark(tiny)
    out: dict[str, dict[str, object]] = {}
    for inst in bench:
        p = build_prompt(inst, bench.manifest.set(inst.set))
        out[inst.id] = {"system": p.system, "user": p.user, "media": [list(m) for m in p.media]}
    return out


def test_prompts_match_snapshot(tiny_dir: Path) -> None:
    """Set MUIE_UPDATE_SNAPSHOTS=1 to rewrite the snapshot after a deliberate template change
    (and bump the template version)."""
    got = _render(tiny_dir)
    if os.environ.get("MUIE_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n")
    assert got == json.loads(SNAPSHOT.read_text())


def test_prompt_content(tiny_dir: Path) -> None:
    got = _render(tiny_dir)
    ner = str(got["ti-ner-0"]["user"])
    assert ner.startswith("Please recognize all entity words and categorize them")
    assert '"(entity1, label1)(entity2, label2)"' in ner
    assert "Candidate category labels: PER, ORG, LOC, MISC." in ner
    assert "Text: Mara Velto joined Quillon Labs in Lumeria." in ner
    assert "<Module>ImageSegmentation</Module>" in ner
    assert "carrying (agent, item, place)" in str(got["i-ee-0"]["user"])
    assert "Text:" not in str(got["a-re-0"]["user"])
    assert got["ia-re-0"]["media"] == [["image", "media/ia-re-0.png"],
                                       ["audio", "media/ia-re-0.wav"]]


def test_template_is_versioned_data() -> None:
    assert "reamo-v1" in template_names()
    tpl = load_template("reamo-v1")
    assert tpl["version"] == "reamo-v1"
    path = Path(__file__).resolve().parent.parent / "muie_bench/systems/prompt_templates/reamo-v1.json"
    assert template_sha256("reamo-v1") == hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(UserError, match="no such prompt template"):
        load_template("reamo-v0")


def test_template_hash_is_in_the_fingerprint(tmp_path: Path) -> None:
    replay = tmp_path / "r.jsonl"
    replay.write_text("")
    system = build_system("reamo", {"replay_path": str(replay)})
    comp = system.components()
    assert comp["template"] == f"reamo-v1:{template_sha256('reamo-v1')[:16]}"
    with pytest.raises(UserError, match="template 'reamo-v0'"):
        build_system("reamo", {"replay_path": str(replay), "template": "reamo-v0"})


def test_prompt_command_prints_the_snapshot(tiny_dir: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-m", "muie_bench.cli", "prompt", "ia-re-0", "-b",
                           str(tiny_dir)], capture_output=True, text=True, cwd=root, timeout=120)
    assert proc.returncode == 0, proc.stderr
    snap = json.loads(SNAPSHOT.read_text())["ia-re-0"]
    assert snap["user"] in proc.stdout
    assert "[image] media/ia-re-0.png" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "muie_bench.cli", "prompt", "nope", "-b",
                          str(tiny_dir)], capture_output=True, text=True, cwd=root, timeout=120)
    assert bad.returncode == 2 and "unknown instance id 'nope'" in bad.stderr
