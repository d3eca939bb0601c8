"""Benchmark loading, filtering, lazy media decoding, JSON Schema export and the small CLI."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from muie_bench.benchmark import load_benchmark
from muie_bench.errors import UserError
from muie_bench.schema import ALL_MODELS, Annotation, Instance, Prediction, VideoTrack
from muie_bench.systems.registry import build_system, parse_overrides

EXE = str(Path(sys.executable).parent / "muie-bench")


def test_load_and_filter(tiny_dir: Path) -> None:
    b = load_benchmark(tiny_dir)
    assert len(b) == 14 and b.name == "tiny"
    assert b.set_ids() == ["ti-ner", "ta-ner", "a-re", "ia-re", "i-ee", "v-ee", "tv-ee"]
    assert [i.id for i in b.filter(sets=["a-re"])] == ["a-re-0", "a-re-1"]
    assert {i.set for i in b.filter(tasks=["ee"])} == {"i-ee", "v-ee", "tv-ee"}
    # a single modality selects every set containing it; a combination selects exactly it
    assert {i.set for i in b.filter(modalities=["audio"])} == {"ta-ner", "a-re", "ia-re"}
    assert {i.set for i in b.filter(modalities=["T+V"])} == {"tv-ee"}
    assert {i.set for i in b.filter(modalities=["image+audio"])} == {"ia-re"}
    lim = b.filter(limit=1)
    assert len(lim) == 7 and len({i.set for i in lim}) == 7
    assert [i.id for i in b.filter(ids=["v-ee-1", "ti-ner-0"])] == ["ti-ner-0", "v-ee-1"]
    assert len(b.filter(sets=["a-re"], tasks=["ner"])) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sets": ["nope"]}, "--sets: unknown set 'nope'"),
        ({"tasks": ["qa"]}, "--tasks: unknown task 'qa'"),
        ({"modalities": ["smell"]}, "--modalities: unknown modality 'smell'"),
        ({"ids": ["x"]}, "--ids: unknown instance id 'x'"),
        ({"limit": -1}, "--limit: must be >= 0"),
    ],
)
def test_filter_errors(tiny_dir: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        load_benchmark(tiny_dir).filter(**kwargs)  # type: ignore[arg-type]


def test_media_decoding_matches_ground_truth(tiny_dir: Path) -> None:
    b = load_benchmark(tiny_dir)
    inst = b.get("ti-ner-0")
    assert inst.image is not None
    img = b.media.image(inst.image)
    assert img.shape == (48, 64, 3) and img.dtype == np.uint8
    m = inst.gold.entities[0].image_mask
    assert m is not None
    mask = mask_utils.decode({"size": list(m.size), "counts": m.counts.encode()}).astype(bool)
    assert (img[mask] == [200, 60, 60]).all() and (img[~mask] != [200, 60, 60]).any()

    a = b.get("ta-ner-0")
    assert a.audio is not None
    samples, rate = b.media.audio(a.audio)
    assert rate == 8000 and samples.dtype == np.float32 and samples.ndim == 1
    (s, e), = a.gold.entities[0].audio_spans or []
    inside = np.abs(samples[int(s * rate) : int(e * rate)]).mean()
    outside = np.abs(samples[: int(0.25 * rate)]).mean()
    assert inside > 0.2 and outside < 1e-3
    assert b.media.audio_duration(a.audio) == pytest.approx(2.0)

    v = b.get("v-ee-0")
    assert v.video is not None
    info = b.media.video_info(v.video)
    assert (info.frames, info.height, info.width, info.fps) == (12, 48, 64, 8.0)
    frames = list(b.media.video_frames(v.video))
    track = v.gold.entities[0].video_track
    assert isinstance(track, VideoTrack) and len(frames) == 12
    centres = []
    for k, f in enumerate(frames):
        r = track.frames[k]
        mk = mask_utils.decode({"size": list(r.size), "counts": r.counts.encode()}).astype(bool)
        assert f[mk][:, 0].mean() > 180  # the red square is where the track says (lossy H.264)
        centres.append(np.argwhere(mk)[:, 1].mean())
    assert all(b2 > a2 for a2, b2 in itertools.pairwise(centres))  # it moves right every frame
    assert track.extent() == (0.0, 1.5)


def test_media_paths_are_confined(tiny_copy: Path) -> None:
    b = load_benchmark(tiny_copy)
    (tiny_copy.parent / "secret.png").write_bytes(b"x")
    (tiny_copy / "media" / "link.png").symlink_to(tiny_copy.parent / "secret.png")
    with pytest.raises(UserError, match="outside the benchmark directory"):
        b.media.image("media/link.png")
    with pytest.raises(UserError, match=r"'\.\.'"):
        b.media.image("../secret.png")


def test_json_schema_validates_benchmark_lines(tiny_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "schemas"
    r = subprocess.run([EXE, "schema", "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert {p.name for p in out.iterdir()} == {f"{n}.schema.json" for n in ALL_MODELS}
    inst_schema = json.loads((out / "instance.schema.json").read_text())
    man_schema = json.loads((out / "manifest.schema.json").read_text())
    pred_schema = json.loads((out / "prediction.schema.json").read_text())
    v = jsonschema.Draft202012Validator(inst_schema)
    lines = (tiny_dir / "instances.jsonl").read_text().splitlines()
    for line in lines:
        v.validate(json.loads(line))
    jsonschema.validate(json.loads((tiny_dir / "manifest.json").read_text()), man_schema)
    # predictions written by the oracle validate too
    oracle = build_system("oracle")
    b = load_benchmark(tiny_dir)
    for inst in b:
        jsonschema.validate(json.loads(oracle.predict(inst, b).model_dump_json()), pred_schema)
    # and the schema rejects what the models reject
    bad = json.loads(lines[0])
    bad["task"] = "qa"
    with pytest.raises(jsonschema.ValidationError):
        v.validate(bad)


def test_reference_systems(tiny_dir: Path) -> None:
    b = load_benchmark(tiny_dir)
    oracle, empty = build_system("oracle"), build_system("empty")
    for inst in b:
        assert oracle.predict(inst, b).output == inst.gold
        assert empty.predict(inst, b).output == Annotation()
    assert oracle.fingerprint() != empty.fingerprint()
    with pytest.raises(UserError, match="--system 'nope': unknown system"):
        build_system("nope")
    with pytest.raises(UserError, match="setting colour: unknown setting"):
        build_system("oracle", {"colour": "red"})
    assert parse_overrides(["a=1", "b=x", "c=[1,2]", "d=a=b"]) == {"a": 1, "b": "x", "c": [1, 2], "d": "a=b"}
    with pytest.raises(UserError, match="expected key=value"):
        parse_overrides(["novalue"])


def test_prediction_roundtrip() -> None:
    p = Prediction(id="x", raw="(a, PER)", parse_error=None, trace={"timings": {"llm": 0.5}})
    assert Prediction.model_validate_json(p.model_dump_json()) == p


def test_instance_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError, match="Extra inputs"):
        Instance.model_validate({"id": "a", "set": "s", "modalities": ["text"], "task": "ner",
                                 "text": "x", "gold": {}, "colour": 1})


def test_cli_info_benchmarks_version(tiny_dir: Path) -> None:
    r = subprocess.run([EXE, "info", str(tiny_dir)], capture_output=True, text=True)
    assert r.returncode == 0 and "ia-re" in r.stdout and "image+audio" in r.stdout
    r = subprocess.run([EXE, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("muie-bench ")
    r = subprocess.run([EXE, "benchmarks"], capture_output=True, text=True)
    assert r.returncode == 0 and "muie-synth-mini" in r.stdout
    r = subprocess.run([EXE, "info", "no-such-bench"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_readme_example_instance_is_valid() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("## Data format", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    inst = Instance.model_validate_json(block)
    assert inst.gold.relations[0].type == "works_for" and inst.text is not None
    assert [inst.text[slice(*m.span)] for m in inst.gold.entities if m.span] == ["Mara Velto", "Quillon Labs"]


def test_main_keeps_typer_exit_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command ending with typer.Exit(code) exits with that code through main()."""
    import typer

    from muie_bench import cli

    @cli.app.command("zz-exit-code-test", hidden=True)
    def _exit3() -> None:
        raise typer.Exit(3)

    monkeypatch.setattr(sys, "argv", ["muie-bench", "zz-exit-code-test"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 3
