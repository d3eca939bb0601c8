"""Full-tier components on tiny random-weight models built from their configs (no network).

Each model is written in the layout of a real checkpoint and loaded through the component's
own loading code; outputs are checked for form on the bundled tiny benchmark.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("ultralytics")
pytest.importorskip("whisper")
pytest.importorskip("pyannote.audio")
pytest.importorskip("spacy")
pytest.importorskip("rapidocr_onnxruntime")

import full_tier_models as tiny

from muie_bench.benchmark import Benchmark, load_benchmark
from muie_bench.errors import UserError
from muie_bench.schema import RLE, Prediction, VideoTrack
from muie_bench.systems.registry import build_system

TINY = Path(__file__).parent / "data" / "tiny"


@pytest.fixture(scope="module", autouse=True)
def no_network() -> Iterator[None]:
    """Sockets to anything but localhost raise; hubs are offline."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in (
                "127.0.0.1", "::1", "localhost"):
            raise RuntimeError(f"network blocked in tests: {address}")
        return real_connect(self, address)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("YOLO_OFFLINE", "1")
        mp.setattr(socket.socket, "connect", guarded)
        yield


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, no_network: None) -> dict[str, str]:
    root = tmp_path_factory.mktemp("full-tier-models")
    return {"blip": str(tiny.build_blip(root / "blip")), "ner": str(tiny.build_ner(root / "ner")),
            "owlv2": str(tiny.build_owlv2(root / "owlv2")), "sam": str(tiny.build_sam(root / "sam")),
            "yolo": str(tiny.build_yolo(root / "yolo")),
            "whisper": str(tiny.build_whisper(root / "whisper")),
            "pyannote": str(tiny.build_pyannote(root / "pyannote"))}


@pytest.fixture(scope="module")
def bench() -> Benchmark:
    return load_benchmark(TINY)


def _inst(bench: Benchmark, set_id: str) -> Any:
    return next(i for i in bench if i.set == set_id)


def _full_overrides(m: dict[str, str]) -> dict[str, Any]:
    return {"device": "cpu", "captioner.model": m["blip"], "yolo.model": m["yolo"],
            "yolo.imgsz": 64, "captioner.max_new_tokens": 6, "whisper.model": m["whisper"], "whisper.sample_len": 12,
            "pyannote.model": m["pyannote"], "referring.detector": m["owlv2"],
            "referring.sam": m["sam"], "referring.threshold": 0.0, "referring.video_frames": 3,
            "hf_ner.model": m["ner"]}


def test_captioner_images_and_video_frames(models: dict[str, str], bench: Benchmark) -> None:
    from muie_bench.systems.pipeline.full.captioner import Captioner
    from muie_bench.systems.pipeline.full.settings import CaptionerSettings

    cap = Captioner(CaptionerSettings(model=models["blip"], batch_size=2, video_frames=3,
                                       max_new_tokens=6), "cpu")
    imgs = [bench.media.image(_inst(bench, s).image) for s in ("i-ee", "ti-ner", "ia-re")]
    out = cap.caption(imgs)
    assert len(out) == 3 and all(isinstance(c, str) and "cat" in c for c in out)
    frames = list(bench.media.video_frames(_inst(bench, "v-ee").video))
    assert len(cap.caption_video(frames)) == 3


def test_yolo_masks_have_the_image_size_and_tracks_are_frame_indexed(
        models: dict[str, str], bench: Benchmark) -> None:
    from muie_bench.systems.pipeline.full.settings import YoloSettings
    from muie_bench.systems.pipeline.full.yolo import YoloSegmenter

    yolo = YoloSegmenter(YoloSettings(model=models["yolo"], imgsz=64), "cpu")
    inst = _inst(bench, "i-ee")
    rgb = bench.media.image(inst.image)
    (segs,) = yolo.segment([rgb])
    assert segs and all(tuple(s.mask.size) == rgb.shape[:2] for s in segs)
    assert all(s.label in tiny.COCO_NAMES for s in segs)
    vid = _inst(bench, "v-ee")
    frames = list(bench.media.video_frames(vid.video))
    tracks = yolo.track(frames, bench.media.video_info(vid.video).fps)
    assert tracks
    for t in tracks:
        assert t.masks and all(0 <= f < len(frames) for f in t.masks)
        assert all(tuple(m.size) == frames[0].shape[:2] for m in t.masks.values())


def test_openai_whisper_words_lie_inside_the_audio(models: dict[str, str], bench: Benchmark) -> None:
    from muie_bench.systems.pipeline.full.settings import OpenAIWhisperSettings
    from muie_bench.systems.pipeline.full.whisper_asr import OpenAIWhisperASR

    asr = OpenAIWhisperASR(OpenAIWhisperSettings(model=models["whisper"], sample_len=12), "cpu")
    samples, rate = bench.media.audio(_inst(bench, "ta-ner").audio)
    tr = asr.transcribe(samples, rate)
    assert isinstance(tr.text, str)
    dur = samples.size / rate
    assert all(0 <= w.start < w.end <= dur for w in tr.words)


def test_transformers_ner_maps_labels_to_the_inventory(models: dict[str, str], bench: Benchmark) -> None:
    from muie_bench.systems.pipeline.full.hf_ner import TransformersIE
    from muie_bench.systems.pipeline.full.settings import HfNerSettings

    inst = _inst(bench, "ta-ner")
    spec = bench.manifest.set("ta-ner")
    ie = TransformersIE(ner=HfNerSettings(model=models["ner"]), default_device="cpu")
    for text in (inst.text, " ".join([inst.text] * 40)):  # and longer than 128 positions
        ann = ie.extract(text, spec, spans=True)
        assert ie.last_entities
        for m in ann.entities:
            assert m.type in spec.entity_types
            assert m.span is not None and text[m.span[0]:m.span[1]] == m.text


def test_pyannote_speech_lies_inside_the_audio(models: dict[str, str], bench: Benchmark) -> None:
    from muie_bench.systems.pipeline.full.pyannote_vad import PyannoteSpeech
    from muie_bench.systems.pipeline.full.settings import PyannoteSettings

    vad = PyannoteSpeech(PyannoteSettings(model=models["pyannote"]), "cpu")
    samples, rate = bench.media.audio(_inst(bench, "a-re").audio)
    spans = vad.speech(samples, rate)
    dur = samples.size / rate
    assert all(0 <= a < b <= dur for a, b in spans)
    assert spans == sorted(spans)
    assert vad.speech(np.zeros(0, np.float32), rate) == []


def test_referring_segmentation_image_and_video(models: dict[str, str], bench: Benchmark) -> None:
    from muie_bench.systems.pipeline.full.referring import ReferringSegmenter
    from muie_bench.systems.pipeline.full.settings import ReferringSettings

    ref = ReferringSegmenter(ReferringSettings(detector=models["owlv2"], sam=models["sam"],
                                               threshold=0.0, video_frames=3), "cpu")
    inst = _inst(bench, "i-ee")
    mask = ref.ground("image", "a cat", None, inst, bench)
    assert isinstance(mask, RLE) and tuple(mask.size) == bench.media.image_size(inst.image)
    vid = _inst(bench, "v-ee")
    track = ref.ground("video", "a cat", None, vid, bench)
    info = bench.media.video_info(vid.video)
    assert isinstance(track, VideoTrack) and track.frames and track.fps == info.fps
    assert all(0 <= f < info.frames for f in track.frames)
    assert all(tuple(m.size) == (info.height, info.width) for m in track.frames.values())
    assert ref.ground("audio", "a cat", None, _inst(bench, "a-re"), bench) is None
    long = " ".join(["the grey cat sitting on the table"] * 4)  # beyond OWLv2's 16 text positions
    assert isinstance(ref.ground("image", long, None, inst, bench), RLE)


def test_referring_grounder_for_mllm_systems(models: dict[str, str]) -> None:
    from muie_bench.systems.grounding_invocations import make_grounder

    g = make_grounder({"grounder": "referring", "referring_settings": {
        "detector": models["owlv2"], "sam": models["sam"], "device": "cpu"}})
    assert g is not None and hasattr(g, "ground")


def test_pipeline_full_end_to_end_on_tiny(models: dict[str, str], bench: Benchmark) -> None:
    system = build_system("pipeline-full", _full_overrides(models))
    system.setup(bench)
    n_masks = 0
    for inst in bench:
        p = system.predict(inst, bench)
        assert p.error is None
        Prediction.model_validate_json(p.model_dump_json())  # valid on the wire
        for m in p.output.mentions():
            if m.image_mask is not None:
                assert tuple(m.image_mask.size) == bench.media.image_size(inst.image)
                n_masks += 1
            for s, e in m.audio_spans or []:
                assert 0 <= s < e
        assert set(p.trace["timings"]) <= {"asr", "align", "ocr", "detect", "video", "text_ie",
                                           "ground", "caption", "segment", "track", "vad",
                                           "referring"}
        if inst.set == "i-ee":
            assert "cat" in p.trace["ie_text"] and p.trace["source"] == "image"
            assert "caption" in p.trace
    assert n_masks > 0


def test_missing_weights_and_bad_device_are_one_line(models: dict[str, str], bench: Benchmark,
                                                     tmp_path: Path) -> None:
    for key, what in [("captioner.model", "captioner"), ("yolo.model", "yolo"),
                      ("whisper.model", "whisper"), ("pyannote.model", "pyannote"),
                      ("referring.detector", "referring"), ("hf_ner.model", "hf_ner")]:
        over = {**_full_overrides(models), key: str(tmp_path / "missing")}
        system = build_system("pipeline-full", over)
        with pytest.raises(UserError) as e:
            system.setup(bench)
        msg = str(e.value)
        assert "\n" not in msg and msg.startswith(key), (what, msg)
    for key in ("device", "yolo.device"):
        with pytest.raises(UserError, match=rf"^--system pipeline-full: setting {key}: String should"):
            build_system("pipeline-full", {**_full_overrides(models), key: "gpu"})


def test_hub_name_not_in_cache_names_the_setting(bench: Benchmark) -> None:
    system = build_system("caption-spacy", {"captioner.model": "nobody/no-such-captioner",
                                            "device": "cpu"})
    with pytest.raises(UserError, match=r"^captioner\.model: cannot load captioning model "
                       r"'nobody/no-such-captioner' offline"):
        system.setup(bench)


def test_offline_fingerprints_do_not_see_the_full_tier_keys() -> None:
    pub = build_system("pipeline-offline").settings.public()
    assert not {"device", "captioner", "yolo", "whisper", "hf_ner", "pyannote", "referring"} & set(pub)
    full = build_system("pipeline-full").settings.public()
    assert full["captioner"] == {"enabled": True}


def test_worker_gets_its_own_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from muie_bench.systems.pipeline.full import common

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    got = []
    for k in (1, 2, 3):
        monkeypatch.setattr(common, "worker_index", lambda k=k: k - 1)
        got.append(common.resolve_device("cuda"))
    assert got == ["cuda:0", "cuda:1", "cuda:0"]
    assert common.resolve_device("cuda:1") == "cuda:1"
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert common.resolve_device("auto") == "cpu"


def test_doctor_one_line_per_component(models: dict[str, str], tmp_path: Path) -> None:
    import subprocess
    import sys

    over = [x for k, v in _full_overrides(models).items() for x in ("-o", f"{k}={v}")]
    cmd = [sys.executable, "-m", "muie_bench.cli", "doctor", "-s", "pipeline-full"]
    env = {**__import__("os").environ, "HF_HUB_OFFLINE": "1"}
    ok = subprocess.run([*cmd, *over], capture_output=True, text=True, env=env, timeout=300)
    lines = ok.stdout.splitlines()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert [ln.split()[1] for ln in lines] == ["text_ie", "captioner", "yolo", "whisper", "hf_ner",
                                               "pyannote", "referring"]
    assert all(ln.startswith("ok ") and "| device cpu |" in ln for ln in lines), lines
    bad = subprocess.run([*cmd, *over, "-o", f"yolo.model={tmp_path / 'none.pt'}"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    (yolo,) = [ln for ln in bad.stdout.splitlines() if ln.split()[1] == "yolo"]
    assert yolo.startswith("MISSING") and "set -o yolo.model=" in yolo
    assert bad.stderr.strip().splitlines()[-1] == "error: doctor --system pipeline-full: not ready: yolo"


SETS = ["i-ner", "v-ee", "ta-ner", "ia-re"]


def test_pipeline_full_through_the_runner_on_mini(models: dict[str, str], mini_dir: Path,
                                                  tmp_path: Path) -> None:
    """One instance of a mini set per modality kind (I, V, T+A, I+A), two worker processes
    (each loads the models once)."""
    import json
    import os
    import subprocess
    import sys

    over = [x for k, v in _full_overrides(models).items() for x in ("-o", f"{k}={v}")]
    cmd = [sys.executable, "-m", "muie_bench.cli", "run", "-s", "pipeline-full", "-b", str(mini_dir),
           "--limit", "1", "--sets", ",".join(SETS), "-j", "2", "--resamples", "10", "--out", str(tmp_path / "runs"), *over]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "YOLO_OFFLINE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (pred_file,) = (tmp_path / "runs").rglob("predictions.jsonl")
    preds = [Prediction.model_validate(json.loads(ln)) for ln in pred_file.read_text().splitlines()]
    bench = load_benchmark(mini_dir)
    assert sorted(bench.get(p.id).set for p in preds) == sorted(SETS)
    assert all(p.error is None for p in preds), [p.error for p in preds if p.error]
