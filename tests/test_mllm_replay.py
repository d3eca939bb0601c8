"""Replay backend: recorded outputs reproduce the same predictions and scores on every run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mllm_server import GrounderServer

from muie_bench.benchmark import load_benchmark
from muie_bench.errors import UserError
from muie_bench.run.runner import RunOptions, run
from muie_bench.schema import Prediction
from muie_bench.systems.mllm.replay import read_replay
from muie_bench.systems.registry import build_system

ROOT = Path(__file__).resolve().parent.parent

# recorded outputs of the 14 tiny instances, shaped like Reamo's answers
RAW: dict[str, str | None] = {
    "ti-ner-0": "(Mara Velto, PER)(Quillon Labs, ORG)(Lumeria, LOC)<Module>ImageSegmentation"
                "</Module><Instruction>Segment the person: Mara Velto</Instruction>",
    "ti-ner-1": "(Tavi Brenn, PER)(Orvex, LOC)",
    "ta-ner-0": "(Iris Kade, PER)(Darrow, GPE)<Module>AudioSegmentation</Module>"
                "<Instruction>Segment: Iris Kade</Instruction>",
    "ta-ner-1": "I cannot hear the audio.",
    "a-re-0": "(Neva Sol, works_for, Brightwater)",
    "a-re-1": "(Jon Arle, works_for, Kestrel Corp",
    "ia-re-0": "(person, left_of, sign)",
    "ia-re-1": "[{\"subject\": \"person\", \"relation\": \"above\", \"object\": \"sign\"}]",
    "i-ee-0": "(carrying, carrying, (agent, person), (item, bag))",
    "i-ee-1": "(carrying, carrying, (agent, person))",
    "v-ee-0": "(Transport, drives, (Artifact, red car), (Destination, garage))"
              "<Module>VideoTracking</Module><Instruction>Track: red car</Instruction>",
    "v-ee-1": None,
    "tv-ee-0": "(Transport, drives, (Artifact, red car), (Destination, garage))",
    "tv-ee-1": "(Transport, drives, (Artifact, red car))",
}


def _replay_file(path: Path, raw: dict[str, str | None]) -> Path:
    path.write_text("".join(json.dumps({"id": k, "raw": v}) + "\n" for k, v in raw.items()))
    return path


def _grounder(tiny: Path) -> dict[str, Any]:
    gold = {json.loads(x)["id"]: json.loads(x) for x in
            (tiny / "instances.jsonl").read_text().splitlines()}
    return {"Mara Velto": {"mask": gold["ti-ner-0"]["gold"]["entities"][0]["image_mask"]},
            "Iris Kade": {"segments": [[0.3, 0.8]]},
            "red car": {"track": gold["v-ee-0"]["gold"]["entities"][0]["video_track"]}}


def _outputs(run_dir: Path) -> dict[str, tuple[str, str | None, str | None, str | None]]:
    out = {}
    for line in (run_dir / "predictions.jsonl").read_text().splitlines():
        p = Prediction.model_validate_json(line)
        out[p.id] = (p.output.model_dump_json(), p.raw, p.parse_error, p.error)
    return out


def test_replay_reproduces_outputs_and_scores(tiny_dir: Path, tmp_path: Path) -> None:
    replay = _replay_file(tmp_path / "reamo-outputs.jsonl", RAW)
    with GrounderServer(_grounder(tiny_dir)) as gs:
        assert isinstance(gs, GrounderServer)
        settings = {"backend": "replay", "replay_path": str(replay), "grounder": "http",
                    "image_grounder_url": gs.url, "audio_grounder_url": gs.url}
        runs = []
        for _ in range(2):
            opts = RunOptions(system="reamo", overrides=settings, benchmark=tiny_dir,
                              out=tmp_path / "runs", fresh=True, n_resamples=200,
                              workers=2)
            runs.append(run(opts).run_dir)
    a, b = (_outputs(r) for r in runs)
    assert a == b and len(a) == 14
    assert a["ta-ner-1"][2] is not None  # parse failure
    assert a["v-ee-1"][2] == "no output"
    assert a["a-re-1"][0] == '{"entities":[],"relations":[],"events":[]}'  # truncated, no tuple
    ti0 = json.loads(a["ti-ner-0"][0])
    assert ti0["entities"][0]["image_mask"] is not None
    v0 = json.loads(a["v-ee-0"][0])
    assert v0["entities"][0]["video_track"] is not None
    assert json.loads(a["ia-re-1"][0])["relations"][0]["type"] == "above"
    assert (runs[0] / "scores.json").read_bytes() == (runs[1] / "scores.json").read_bytes()
    assert (runs[0] / "instance_scores.jsonl").read_bytes() == \
        (runs[1] / "instance_scores.jsonl").read_bytes()
    scores = json.loads((runs[0] / "scores.json").read_text())
    assert scores["sets"]["i-ee"]["metrics"]["et"]["value"] == pytest.approx(100.0)
    assert scores["sets"]["ta-ner"]["parse_failures"] == 1
    assert scores["sets"]["ti-ner"]["metrics"]["i_seg"]["value"] == pytest.approx(25.0)


def test_replay_over_the_cli(tiny_dir: Path, tmp_path: Path) -> None:
    replay = _replay_file(tmp_path / "out.jsonl", RAW)
    cmd = [sys.executable, "-m", "muie_bench.cli", "run", "--system", "reamo-replay",
           "-o", f"replay_path={replay}", "-o", "grounder=none", "-b", str(tiny_dir),
           "--sets", "ti-ner,a-re", "--out", str(tmp_path / "runs")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    run_dirs = list((tmp_path / "runs").rglob("run.json"))
    assert len(run_dirs) == 1
    rec = json.loads(run_dirs[0].read_text())
    assert rec["system"]["kind"] == "reamo" and rec["counts"]["done"] == 4
    assert rec["system"]["components"]["backend"] == "replay"
    assert rec["system"]["components"]["template"].startswith("reamo-v1:")


def test_predictions_file_is_a_replay_file(tiny_dir: Path, tmp_path: Path) -> None:
    replay = _replay_file(tmp_path / "first.jsonl", RAW)
    s = {"replay_path": str(replay), "grounder": "none"}
    first = run(RunOptions(system="reamo", overrides=s, benchmark=tiny_dir, sets=["ti-ner"],
                           out=tmp_path / "r1", score=False)).run_dir
    s2 = {"replay_path": str(first / "predictions.jsonl"), "grounder": "none"}
    second = run(RunOptions(system="reamo", overrides=s2, benchmark=tiny_dir, sets=["ti-ner"],
                            out=tmp_path / "r2", score=False)).run_dir
    assert _outputs(first) == _outputs(second)


def test_instance_missing_from_replay_fails_alone(tiny_dir: Path, tmp_path: Path) -> None:
    replay = _replay_file(tmp_path / "part.jsonl", {"ti-ner-0": RAW["ti-ner-0"]})
    res = run(RunOptions(system="reamo", overrides={"replay_path": str(replay),
                                                    "grounder": "none"},
                         benchmark=tiny_dir, sets=["ti-ner"], out=tmp_path / "runs", score=False))
    assert res.record.counts.failed == 1 and res.record.counts.done == 1
    assert "no line for id 'ti-ner-1'" in res.record.errors[0].error


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "a", "raw": "x"}\n{"id": "a", "raw": "y"}\n', ":2: id: 'a' given twice"),
        ('{"id": "a", "raw": "x"}\nnot json\n', ":2: (json):"),
        ('{"id": "a"}\n', ":1: raw: missing"),
        ('{"raw": "x"}\n', ":1: id: missing"),
        ('{"id": "a", "raw": 3}\n', ":1: raw: expected a string or null"),
        ('["a", "x"]\n', ":1: (line): expected a JSON object"),
    ],
)
def test_bad_replay_files(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text(content)
    with pytest.raises(UserError) as e:
        read_replay(p)
    assert message in str(e.value) and str(p) in str(e.value)


def test_bad_replay_file_stops_the_run_with_one_line(tiny_dir: Path, tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text('{"id": "ti-ner-0", "raw": "x"}\n{oops\n')
    system = build_system("reamo", {"replay_path": str(p), "grounder": "none"})
    with pytest.raises(UserError, match=r"bad\.jsonl:2: \(json\)"):
        system.setup(load_benchmark(tiny_dir))


def test_default_builtin_grounder_carries_out_invocations(tiny_dir: Path, tmp_path: Path) -> None:
    """The default grounder is the pipeline's BuiltinGrounder (offline components)."""
    pytest.importorskip("muie_bench.systems.pipeline.grounders")
    replay = _replay_file(tmp_path / "r.jsonl", {"v-ee-0": RAW["v-ee-0"]})
    system = build_system("reamo", {"replay_path": str(replay)})
    bench = load_benchmark(tiny_dir).filter(ids=["v-ee-0"])
    system.setup(bench)
    pred = system.predict(bench.get("v-ee-0"), bench)
    assert pred.error is None
    rec = pred.trace["invocations"][0]
    assert (rec["modality"], rec["target"], rec["found"]) == ("video", "red car", True)
    track = pred.output.entities[0].video_track
    assert track is not None and track.frames
    info = bench.media.video_info("media/v-ee-0.mp4")
    assert all(m.size == (info.height, info.width) for m in track.frames.values())


def _render_gold(inst: Any) -> str:
    """The gold annotation written in the prompt's tuple format (what a perfect model says)."""
    g = inst.gold
    if inst.task == "ner":
        return "".join(f"({m.text}, {m.type})"
                       for m in sorted(g.entities, key=lambda m: m.span or (0, 0)))
    if inst.task == "re":
        return "".join(f"({g.entity(r.head).text}, {r.type}, {g.entity(r.tail).text})"
                       for r in g.relations)
    return "".join(
        f"({e.type}, {e.trigger.text}"
        + "".join(f", ({a.role}, {g.entity(a.mention).text})" for a in e.arguments) + ")"
        for e in g.events)


def test_gold_as_tuples_scores_100_on_mini(mini_dir: Path, tmp_path: Path) -> None:
    """Prompt format, parser and label inventories agree on all 15 sets of the bundled
    benchmark: the gold written as tuples and replayed scores 100 on every IE metric."""
    bench = load_benchmark(mini_dir)
    replay = _replay_file(tmp_path / "gold.jsonl", {i.id: _render_gold(i) for i in bench})
    res = run(RunOptions(system="reamo", overrides={"replay_path": str(replay),
                                                    "grounder": "none"},
                         benchmark=mini_dir, out=tmp_path / "runs", n_resamples=20))
    assert res.scores is not None and len(res.scores.sets) == 15
    for set_id, ss in res.scores.sets.items():
        ie = {k: v.value for k, v in ss.metrics.items() if k in ("f1", "et", "ea")}
        assert ie and all(v == pytest.approx(100.0) for v in ie.values()), (set_id, ie)
        assert ss.parse_failures == 0
