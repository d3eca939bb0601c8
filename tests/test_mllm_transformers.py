"""The transformers backend with tiny random-weight models (LLaVA-style, Video-LLaVA,
Qwen2-Audio) built from configs and saved, loaded by the real loading code: each preset end
to end through the CLI on tests/data/tiny, offline with sockets blocked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from muie_bench.benchmark import load_benchmark
from muie_bench.errors import UserError
from muie_bench.schema import Prediction
from muie_bench.systems.registry import build_system, find_preset

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))
from mllm_tiny_models import BUILDERS  # noqa: E402

#: the CLI in a subprocess that cannot open a socket
NO_NET = (
    "import socket, runpy\n"
    "def _blocked(*a, **k):\n"
    "    raise OSError('network blocked by the test')\n"
    "socket.socket.connect = _blocked\n"
    "socket.socket.connect_ex = _blocked\n"
    "socket.create_connection = _blocked\n"
    "socket.getaddrinfo = _blocked\n"
    "runpy.run_module('muie_bench.cli', run_name='__main__')\n"
)
PRESETS = {"llava": "llava+seem", "video-llava": "video-llava+seem",
           "qwen2-audio": "qwen2-audio+shas", "instructblip": "instructblip+seem"}
#: the inputs each tiny model takes
TAKES = {"llava": {"image", "video"}, "video-llava": {"image", "video"}, "qwen2-audio": {"audio"},
         "instructblip": {"image"}}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-mllms")
    return {name: build(root / name) for name, build in BUILDERS.items()}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1", "HF_HOME": "/nonexistent-hf-home"}


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", NO_NET, *args], capture_output=True, text=True,
                          cwd=ROOT, env=_env(), timeout=timeout)


def test_tiny_models_are_small(models: dict[str, Path]) -> None:
    for path in models.values():
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        assert size < 5_000_000
        assert (path / "config.json").is_file() and (path / "tokenizer.json").is_file()


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_end_to_end_through_the_cli(name: str, models: dict[str, Path], tiny_dir: Path,
                                           tmp_path: Path) -> None:
    preset = PRESETS[name]
    proc = _cli("run", "-s", preset, "-b", str(tiny_dir), "--out", str(tmp_path / "runs"),
                "-o", f"model={models[name]}", "-o", "grounder=none", "-o", "max_new_tokens=24",
                "-o", "batch_size=4", "--resamples", "0", "--no-progress")
    bench = load_benchmark(tiny_dir)
    no_image = sum(1 for i in bench if "image" not in i.modalities)
    if name == "instructblip":  # the instances without an image fail (exit status says so)
        assert proc.returncode != 0 and f"{no_image} instance(s) failed" in proc.stderr, proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = next((tmp_path / "runs").rglob("predictions.jsonl")).parent
    lines = (run_dir / "predictions.jsonl").read_text().splitlines()
    preds = [Prediction.model_validate_json(x) for x in lines]
    assert len(preds) == 14 and len({p.id for p in preds}) == 14
    for p in preds:
        inst = bench.get(p.id)
        if name == "instructblip" and "image" not in inst.modalities:
            assert p.error == "BackendError: instructblip needs an image and this instance has none"
            continue
        assert p.error is None, (p.id, p.error)
        assert isinstance(p.raw, str)
        info = p.trace["info"]
        assert 0 < info["batch"] <= 4 and 0 < info["new_tokens"] <= 24
        assert p.trace["backend"] == "transformers" and p.trace["template"] == "reamo-authors-v1"
        assert isinstance(p.trace["parse_notes"], list)
        left_out = {m for m in ("image", "video", "audio") if m in inst.modalities} - TAKES[name]
        assert sorted(o.split(":")[0] for o in info.get("omitted", [])) == sorted(left_out)
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "complete"
    assert record["counts"]["failed"] == (no_image if name == "instructblip" else 0)
    assert record["system"]["components"]["backend"] == "transformers"
    assert len(record["system"]["components"]["weights"]) == 16
    assert (run_dir / "scores.json").is_file()


def test_missing_checkpoint_is_one_line(tiny_dir: Path, tmp_path: Path) -> None:
    for model, words in ((str(tmp_path / "no-such-dir"), "no such checkpoint directory"),
                         ("llava-hf/not-downloaded-7b", "cannot load the checkpoint")):
        proc = _cli("run", "-s", "llava+seem", "-b", str(tiny_dir), "--out", str(tmp_path / "r"),
                    "-o", f"model={model}", "-o", "grounder=none", "--no-progress", timeout=300)
        assert proc.returncode != 0
        err = [x for x in proc.stderr.splitlines() if x.strip() and "Warning" not in x]
        assert len(err) == 1 and words in err[0] and "Traceback" not in proc.stderr, proc.stderr


def test_presets_name_the_papers_rows_and_real_checkpoints() -> None:
    rows = {"llava+seem": "llava-hf/llava-1.5-7b-hf",
            "instructblip+seem": "Salesforce/instructblip-vicuna-7b",
            "video-llava+seem": "LanguageBind/Video-LLaVA-7B-hf",
            "llava-next-video+seem": "llava-hf/LLaVA-NeXT-Video-7B-hf",
            "qwen2-audio+shas": "Qwen/Qwen2-Audio-7B-Instruct"}
    for name, ckpt in rows.items():
        p = find_preset(name)
        assert p.kind == "mllm" and p.settings["backend"] == "transformers"
        assert p.settings["model"] == ckpt and p.settings["grounding"] == "all"
        assert p.settings["grounder"] == ("builtin" if name.endswith("+shas") else "referring")


def _system(model: Path, **kw: Any) -> Any:
    return build_system("llava+seem", {"model": str(model), "grounder": "none",
                                       "max_new_tokens": 8, **kw})


def test_batched_and_single_calls_give_one_prediction_each(models: dict[str, Path],
                                                           tiny_dir: Path) -> None:
    bench = load_benchmark(tiny_dir)
    insts = [bench.get(i) for i in ("ti-ner-0", "v-ee-0", "ta-ner-0", "i-ee-1")]
    system = _system(models["llava"], batch_size=4)
    assert system.batch_size == 4
    batched = system.predict_batch(insts, bench)
    single = [system.predict(i, bench) for i in insts]
    assert [p.id for p in batched] == [p.id for p in single] == [i.id for i in insts]
    assert [p.trace["info"]["batch"] for p in batched] == [4] * 4
    assert [p.trace["info"]["batch"] for p in single] == [1] * 4
    assert all(p.error is None for p in batched + single)


def test_chat_formats(models: dict[str, Path], tiny_dir: Path) -> None:
    from muie_bench.systems.prompts import build_prompt

    bench = load_benchmark(tiny_dir)
    inst = bench.get("ti-ner-0")
    spec = bench.manifest.set("ti-ner")
    texts = {}
    for fmt in ("auto", "template", "processor", "plain"):
        system = _system(models["llava"], chat_format=fmt)
        system.setup(bench)
        prompt = build_prompt(inst, spec, system.settings.template)
        texts[fmt] = system.backend._text(prompt, ["image"])
    vicuna = "A chat between a curious user and an artificial intelligence assistant."
    assert texts["auto"] == texts["template"]
    assert texts["template"].startswith(vicuna) and "USER: <image>\nPlease recognize" in texts["template"]
    assert texts["template"].endswith(" ASSISTANT:")
    assert texts["processor"].startswith("SYSTEM: ") and "USER: <image>\nPlease" in texts["processor"]
    assert texts["plain"].startswith(vicuna) and "\n<image>\nPlease" in texts["plain"]
    v1 = _system(models["llava"], template="reamo-v1")
    v1.setup(bench)
    assert v1.backend._text(build_prompt(inst, spec, "reamo-v1"), ["image"]).startswith("SYSTEM: ")


def test_video_frames_for_image_and_video_models(models: dict[str, Path], tiny_dir: Path) -> None:
    bench = load_benchmark(tiny_dir)
    inst = bench.get("v-ee-0")
    image_model = _system(models["llava"], frames_as_images=3)
    image_model.setup(bench)
    from muie_bench.systems.prompts import build_prompt

    prompt = build_prompt(inst, bench.manifest.set("v-ee"), "reamo-authors-v1")
    inputs: dict[str, list[Any]] = {"images": [], "videos": [], "audio": []}
    assert image_model.backend._media(prompt, bench, inputs, []) == ["video"]
    assert len(inputs["images"]) == 3 and not inputs["videos"]
    assert image_model.backend._text(prompt, ["video"]).count("<image>") == 3
    video_model = build_system("video-llava+seem", {"model": str(models["video-llava"]),
                                                    "grounder": "none", "video_frames": 8})
    video_model.setup(bench)
    inputs = {"images": [], "videos": [], "audio": []}
    video_model.backend._media(prompt, bench, inputs, [])
    assert len(inputs["videos"]) == 1 and inputs["videos"][0].shape[0] == 8


def test_unknown_architecture_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    system = build_system("llava+seem", {"model": str(tmp_path), "grounder": "none"})
    with pytest.raises(UserError, match="model_type 'bert' has no class here"):
        system.backend.setup()
