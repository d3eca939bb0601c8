"""``muie-bench doctor``: what a pipeline system would load, before a long run.

One line per component of the system's settings (the offline ones it uses and every
full-tier one, enabled or not): whether its package imports (and its version), which
device it would use, and whether its configured weights are found (a local path that
exists, or a hub name in the local Hugging Face cache). Nothing is loaded or downloaded.
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from muie_bench.errors import UserError

if TYPE_CHECKING:
    from muie_bench.systems.pipeline.system import PipelineSettings


@dataclass(frozen=True)
class Check:
    component: str
    enabled: bool
    package: str  # "name version" or "name: missing (why)"
    device: str
    weights: str  # "<ref>: found (<where>)" or "<ref>: NOT FOUND (set -o <setting>=...)"
    ok: bool

    def line(self) -> str:
        state = "ok" if self.ok else ("MISSING" if self.enabled else "off")
        on = "on " if self.enabled else "off"
        return f"{state:7} {self.component:10} [{on}] {self.package} | device {self.device} | {self.weights}"


def _package(module: str, dist: str) -> tuple[bool, str]:
    try:
        with warnings.catch_warnings():  # pyannote: torchcodec cannot decode here; unused
            warnings.filterwarnings("ignore", message=".*torchcodec.*")
            importlib.import_module(module)
    except Exception as e:  # ImportError, or a broken install raising anything
        return False, f"{dist}: missing ({type(e).__name__}; pip install -e '.[full]')"
    try:
        return True, f"{dist} {version(dist)}"
    except PackageNotFoundError:
        return True, dist


def hf_cached(repo: str, filename: str) -> str | None:
    """Path of ``filename`` of hub repo ``repo`` in the local cache, None when absent."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        got = try_to_load_from_cache(repo, filename)
    except Exception:  # an invalid repo id
        return None
    return got if isinstance(got, str) else None


def _weights(ref: str, setting: str, hub_file: str | None) -> tuple[bool, str]:
    p = Path(ref).expanduser()
    if p.exists():
        return True, f"{ref}: found"
    if hub_file is not None and not ref.startswith(("/", ".", "~")) and ref.count("/") == 1:
        cached = hf_cached(ref, hub_file)
        if cached:
            return True, f"{ref}: found in the Hugging Face cache"
    return False, f"{ref}: NOT FOUND (set -o {setting}=/path/to/weights)"


def _device(setting: str, name: str) -> str:
    from muie_bench.systems.pipeline.full.common import resolve_device

    try:
        return resolve_device(setting, name)
    except UserError as e:
        return f"? ({e})"


def check(s: PipelineSettings) -> list[Check]:
    """The checks of pipeline settings ``s`` (see the module docstring)."""
    out: list[Check] = []
    ok, pkg = _package("spacy", "spacy")
    model = s.text_ie.model
    try:
        importlib.import_module(model)
        wok, w = True, f"{model}: found"
    except ImportError:
        wok, w = False, f"{model}: NOT FOUND (set -o text_ie.model=...)"
    out.append(Check("text_ie", True, pkg, "cpu", w, ok and wok))
    uses_asr = "audio" in s.perceive and not s.whisper.enabled
    ok, pkg = _package("faster_whisper", "faster-whisper")
    if uses_asr:
        from muie_bench.systems.pipeline.asr import WhisperASR

        try:
            ref = WhisperASR.from_settings(s.grounder.asr.model_dump()).model_path()
            wok, w = _weights(ref, "grounder.asr.model", None)
        except Exception as e:
            wok, w = False, f"NOT FOUND ({type(e).__name__}; set -o grounder.asr.model=...)"
        out.append(Check("asr", True, pkg, "cpu", w, ok and wok))
    full: list[tuple[str, bool, str, str, str, list[tuple[str, str, str | None]]]] = [
        ("captioner", s.captioner.enabled, "transformers", "transformers", s.captioner.device,
         [(s.captioner.model, "captioner.model", "config.json")]),
        ("yolo", s.yolo.enabled, "ultralytics", "ultralytics", s.yolo.device,
         [(s.yolo.model, "yolo.model", None)]),
        ("whisper", s.whisper.enabled, "whisper", "openai-whisper", s.whisper.device, []),
        ("hf_ner", s.hf_ner.enabled, "transformers", "transformers", s.hf_ner.device,
         [(s.hf_ner.model, "hf_ner.model", "config.json")]),
        ("pyannote", s.pyannote.enabled, "pyannote.audio", "pyannote.audio", s.pyannote.device,
         [(s.pyannote.model, "pyannote.model", "pytorch_model.bin")]),
        ("referring", s.referring.enabled, "transformers", "transformers", s.referring.device,
         [(s.referring.detector, "referring.detector", "config.json"),
          (s.referring.sam, "referring.sam", "config.json")]),
    ]
    for name, enabled, module, dist, dev, refs in full:
        ok, pkg = _package(module, dist)
        device = _device(dev or s.device, f"{name}.device" if dev else "device") if ok else "-"
        found = [_weights(r, st, hub) for r, st, hub in refs]
        if name == "whisper":
            from muie_bench.systems.pipeline.full.whisper_asr import OpenAIWhisperASR

            try:
                found = [(True, f"{OpenAIWhisperASR(s.whisper).checkpoint()}: found")]
            except UserError:
                found = [(False, f"{s.whisper.model}: NOT FOUND (set -o whisper.model=/path/x.pt)")]
        wok = all(f[0] for f in found)
        out.append(Check(name, enabled, pkg, device, "; ".join(f[1] for f in found),
                         ok and wok and not device.startswith("?")))
    return out
