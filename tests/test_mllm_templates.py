"""Prompt templates as data: every template's rendering pinned for one instance of every bundled
set, the authors' template (vicuna_v1 turn, natural label names), and ``prompt -o template=``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from muie_bench.benchmark import Benchmark, load_benchmark
from muie_bench.errors import UserError
from muie_bench.systems.prompts import build_prompt, template_names, template_sha256
from muie_bench.systems.registry import build_system

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "benchmark_data" / "muie-synth-mini"
SNAPSHOT = Path(__file__).resolve().parent / "mllm_template_snapshots.json"
AUTHORS = "reamo-authors-v1"
VICUNA = ("A chat between a curious user and an artificial intelligence assistant. The assistant "
          "gives helpful, detailed, and polite answers to the user's questions.")


@pytest.fixture(scope="module")
def mini() -> Benchmark:
    return load_benchmark(MINI)


def _first_of_each_set(bench: Benchmark) -> dict[str, str]:
    out: dict[str, str] = {}
    for inst in bench:
        out.setdefault(inst.set, inst.id)
    return out


def _render(bench: Benchmark) -> dict[str, dict[str, dict[str, object]]]:
    out: dict[str, dict[str, dict[str, object]]] = {}
    for version in template_names():
        out[version] = {}
        for sid, iid in _first_of_each_set(bench).items():
            p = build_prompt(bench.get(iid), bench.manifest.set(sid), version)
            out[version][iid] = {"system": p.system, "user": p.user,
                                 "media": [list(m) for m in p.media], "turn": p.as_text()}
    return out


def test_templates_match_snapshot(mini: Benchmark) -> None:
    """Set MUIE_UPDATE_SNAPSHOTS=1 to rewrite the snapshot after a deliberate template change
    (and bump the template's version)."""
    got = _render(mini)
    if os.environ.get("MUIE_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n")
    assert got == json.loads(SNAPSHOT.read_text())
    assert set(got) >= {"reamo-v1", AUTHORS}
    assert all(len(v) == 15 for v in got.values())


def test_authors_template_lists_natural_names_for_every_set(mini: Benchmark) -> None:
    for sid, iid in _first_of_each_set(mini).items():
        spec = mini.manifest.set(sid)
        p = build_prompt(mini.get(iid), spec, AUTHORS)
        lines = p.user.splitlines()
        cand = next(ln for ln in lines if ln.startswith("Candidate "))
        listed = cand.split(": ", 1)[1]
        if spec.task == "ner":
            assert listed == ", ".join(spec.label_name(x) for x in spec.entity_types)
        elif spec.task == "re":
            assert listed == ", ".join(spec.label_name(x) for x in spec.relation_types)
        else:
            assert listed == "; ".join(
                f"{spec.label_name(t)} ({', '.join(spec.label_name(r) for r in rs)})"
                for t, rs in spec.event_types.items())
        raw_only = [x for x in spec.labels() if spec.label_name(x) != x]
        assert not any(f" {x}," in f" {listed}," for x in raw_only), (sid, listed)


def test_authors_template_layout(mini: Benchmark) -> None:
    ids = _first_of_each_set(mini)
    ti = build_prompt(mini.get(ids["ti-re"]), mini.manifest.set("ti-re"), AUTHORS)
    assert ti.system == VICUNA
    lines = ti.user.splitlines()
    assert "(subject entity, relation, object entity)" in lines[0]
    assert lines[1] == "Candidate relation labels: member_of, peer, couple, place_of_residence, " \
                       "locate_at, subsidiary"
    assert lines[-2] == f"Input Text: {mini.get(ids['ti-re']).text}"
    assert lines[-1] == "Input Image:"
    turn = ti.as_text()
    assert turn == f"{VICUNA} USER: <image>\n{ti.user} ASSISTANT:"
    assert ti.as_text({"image": "<img>"}).startswith(f"{VICUNA} USER: <img>\n")
    ee = build_prompt(mini.get(ids["ti-ee"]), mini.manifest.set("ti-ee"), AUTHORS)
    assert "(Type: event type, Trigger: trigger word, Role1: argument1" in ee.user
    assert "Candidate event types and their roles: meet (entity, place); transport (artifact, " \
           "destination, origin); demonstrate (entity, place)" in ee.user
    va = build_prompt(mini.get(ids["va-ee"]), mini.manifest.set("va-ee"), AUTHORS)
    assert va.as_text().startswith(f"{VICUNA} USER: <video><audio>\n")
    assert va.user.splitlines()[-2:] == ["Input Video:", "Input Audio:"]
    assert "Input Text" not in va.user
    t_only = build_prompt(mini.get(ids["a-ner"]), mini.manifest.set("a-ner"), AUTHORS)
    assert "<concept>" in t_only.user and "<Module>" not in t_only.user


def test_reamo_v1_is_unchanged(mini: Benchmark) -> None:
    """reamo-v1 keeps the raw labels and has no conversation format (its runs stay comparable)."""
    ids = _first_of_each_set(mini)
    p = build_prompt(mini.get(ids["ti-re"]), mini.manifest.set("ti-re"), "reamo-v1")
    assert "Candidate relation labels: /per/org/member_of, /per/per/peer" in p.user
    assert p.conversation is None
    assert p.as_text() == f"{p.system}\n\n{p.user}"


def test_template_setting_selects_and_fingerprints(tmp_path: Path) -> None:
    replay = tmp_path / "r.jsonl"
    replay.write_text("")
    a = build_system("reamo", {"replay_path": str(replay), "template": AUTHORS})
    b = build_system("reamo", {"replay_path": str(replay)})
    assert a.components()["template"] == f"{AUTHORS}:{template_sha256(AUTHORS)[:16]}"
    assert a.fingerprint() != b.fingerprint()
    with pytest.raises(UserError, match="no such prompt template"):
        build_system("reamo", {"replay_path": str(replay), "template": "reamo-authors-v0"})


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "muie_bench.cli", "prompt", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "COLUMNS": "400"})


def test_prompt_command_takes_o_template(tiny_dir: Path) -> None:
    proc = _cli("ti-ner-0", "-b", str(tiny_dir), "-o", f"template={AUTHORS}")
    assert proc.returncode == 0, proc.stderr
    bench = load_benchmark(tiny_dir)
    p = build_prompt(bench.get("ti-ner-0"), bench.manifest.set("ti-ner"), AUTHORS)
    assert p.user in proc.stdout and "[vicuna_v1]" in proc.stdout
    assert "Candidate category labels: person, organization, location, miscellaneous" in proc.stdout
    assert p.as_text() in proc.stdout
    bad = _cli("ti-ner-0", "-b", str(tiny_dir), "-o", "model=x")
    assert bad.returncode != 0 and "only -o template=VERSION" in bad.stderr
    missing = _cli("ti-ner-0", "-b", str(tiny_dir), "-o", "template=nope")
    assert missing.returncode != 0 and "no such prompt template" in missing.stderr


def test_paper_style_answer_through_the_reamo_system(mini: Benchmark, tmp_path: Path) -> None:
    """A recorded answer in the authors' format, replayed: names mapped, <concept> invoked,
    special tokens and reasoning noted in the trace."""
    raw = ("UIE Let's think step by step. The text says Anselm Quill traveled.\nAnswer: (Type: "
           "transport, Trigger: traveled, Artifact: Anselm Quill <concept>, Origin: Port Averly, "
           "Destination: Tamsin Bay <concept>)</s>")
    replay = tmp_path / "r.jsonl"
    replay.write_text(json.dumps({"id": "ti-ee-0000", "raw": raw}) + "\n")
    system = build_system("reamo-replay", {"replay_path": str(replay), "template": AUTHORS,
                                           "grounder": "none"})
    inst = mini.get("ti-ee-0000")
    pred = system.predict(inst, mini)
    assert pred.error is None and pred.parse_error is None
    ev = pred.output.events[0]
    assert ev.type == "Movement:Transport" and ev.trigger.span == (13, 21)
    assert [(a.role, pred.output.entity(a.mention).text) for a in ev.arguments] == [
        ("Artifact", "Anselm Quill"), ("Origin", "Port Averly"), ("Destination", "Tamsin Bay")]
    notes = pred.trace["parse_notes"]
    assert "event type 'transport' -> 'Movement:Transport' (name)" in notes
    assert any("UIE" in n for n in notes) and any("reasoning" in n for n in notes)
    assert [(r["module"], r["modality"], r["target"]) for r in pred.trace["invocations"]] == [
        ("<concept>", "image", "Anselm Quill"), ("<concept>", "image", "Tamsin Bay")]
