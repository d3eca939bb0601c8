"""Backend: an open MLLM loaded in this process with Hugging Face ``transformers``.

``-o backend=transformers -o model=PATH_OR_HUB_NAME`` loads the checkpoint's processor
(``AutoProcessor``) and its model class, chosen by the config's ``model_type``
(:data:`ARCHITECTURES`: LLaVA, LLaVA-NeXT, InstructBLIP, Video-LLaVA, LLaVA-NeXT-Video,
Qwen2-Audio). Media go in as the architecture takes them:

* images as images;
* videos natively (``video_frames`` evenly spaced frames) where the class has video input,
  else as ``frames_as_images`` frames given as images;
* audio natively (resampled to the feature extractor's rate) where the class has audio
  input; otherwise an input the model cannot take is left out and named in the trace
  (``info.omitted``).

The turn is rendered by ``chat_format``: ``template`` (the prompt template's conversation
format, e.g. vicuna_v1 of ``reamo-authors-v1``, with the model's own media tokens),
``processor`` (the processor's chat template), ``plain`` (system line, media tokens, user
text) or ``auto`` (template when the prompt template has a conversation format, else the
processor's chat template when it has one, else plain). Generation is greedy
(``max_new_tokens``), left-padded, ``batch_size`` instances per call; a batch that fails is
redone one instance at a time, so an error stays with its instance.

A checkpoint that cannot be loaded (no such directory, a hub name not in the local cache
while offline, an architecture without a class here) stops the run at setup with one line.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from muie_bench.errors import UserError
from muie_bench.systems.mllm.backends import BackendSettings, register_backend
from muie_bench.systems.mllm.base import BackendError, Generation
from muie_bench.systems.registry import add_preset

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark
    from muie_bench.schema import Instance
    from muie_bench.systems.prompts import Prompt


@dataclass(frozen=True)
class Architecture:
    """How one ``model_type`` takes its inputs.

    ``video``: ``native`` (a ``videos=`` input), ``images`` (frames as images) or None.
    ``inline_tokens``: the text carries one media token per input (False: the processor adds
    the query tokens itself, as InstructBLIP's does). ``needs_image``: the model cannot
    generate without an image (an instance without one fails with a BackendError).
    """

    cls: str
    image: bool = True
    video: Literal["native", "images"] | None = "images"
    audio: bool = False
    inline_tokens: bool = True
    needs_image: bool = False


#: model_type -> architecture; the class is looked up in ``transformers`` when loading
ARCHITECTURES: dict[str, Architecture] = {
    "llava": Architecture("LlavaForConditionalGeneration"),
    "llava_next": Architecture("LlavaNextForConditionalGeneration"),
    "instructblip": Architecture("InstructBlipForConditionalGeneration", inline_tokens=False,
                                 video=None, needs_image=True),
    "video_llava": Architecture("VideoLlavaForConditionalGeneration", video="native"),
    "llava_next_video": Architecture("LlavaNextVideoForConditionalGeneration", video="native"),
    "qwen2_audio": Architecture("Qwen2AudioForConditionalGeneration", image=False, video=None,
                                audio=True),
}


class TransformersSettings(BackendSettings):
    """Settings of the transformers backend (``-o key=value``)."""

    model: str = Field(description="checkpoint: a local directory or a Hugging Face hub name")
    revision: str | None = Field(None, description="hub revision (branch, tag or commit)")
    device: str = Field("cpu", description="torch device: cpu, cuda, cuda:1, ...; auto: cuda "
                        "when available")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="auto: float32 on CPU, bfloat16 on GPU")
    max_new_tokens: int = Field(256, ge=1, description="tokens generated per instance at most")
    batch_size: int = Field(4, ge=1, description="instances per generate call")
    chat_format: Literal["auto", "template", "processor", "plain"] = "auto"
    video_frames: int = Field(8, ge=1, description="frames of a video given to a video model")
    frames_as_images: int = Field(4, ge=1, description="frames of a video given as images to "
                                  "an image-only model")
    local_files_only: bool = Field(False, description="never reach the hub (HF_HUB_OFFLINE=1 "
                                   "does the same)")


#: presets named after the paper's rows that have a transformers class: (name, checkpoint,
#: row, settings); "+SEEM" pairs the MLLM with the referring-segmentation grounder over every
#: extracted mention, "+SHAS" with the built-in speech grounder (word times)
PRESETS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("llava+seem", "llava-hf/llava-1.5-7b-hf", "LLaVA+SEEM", {"grounder": "referring"}),
    ("instructblip+seem", "Salesforce/instructblip-vicuna-7b", "InstructBLIP+SEEM",
     {"grounder": "referring", "chat_format": "plain"}),
    ("video-llava+seem", "LanguageBind/Video-LLaVA-7B-hf", "Video-LLaVA+SEEM",
     {"grounder": "referring"}),
    ("llava-next-video+seem", "llava-hf/LLaVA-NeXT-Video-7B-hf", "LLaVA-NeXT-Video+SEEM",
     {"grounder": "referring"}),
    ("qwen2-audio+shas", "Qwen/Qwen2-Audio-7B-Instruct", "Qwen2-Audio+SHAS",
     {"grounder": "builtin", "chat_format": "processor"}),
]


def _first_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return (text[:120] + "…") if len(text) > 120 else text


@register_backend("transformers", TransformersSettings)
class TransformersBackend:
    """An MLLM in this process (see the module docstring)."""

    name = "transformers"

    def __init__(self, settings: TransformersSettings) -> None:
        self.settings = settings
        self.batch_size = settings.batch_size
        self.model: Any = None
        self.processor: Any = None
        self.arch: Architecture | None = None
        self.model_type = ""
        self.device = "cpu"
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ loading
    def _source(self) -> str:
        """The checkpoint as ``from_pretrained`` takes it; a path-like name must exist."""
        name = self.settings.model
        p = Path(name).expanduser()
        if p.is_dir():
            return str(p)
        path_like = name.startswith(("/", ".", "~")) or name.count("/") != 1 or p.exists()
        if path_like:
            raise UserError(f"model={name!r}: no such checkpoint directory (give a local "
                            "directory or a hub name such as llava-hf/llava-1.5-7b-hf)")
        return name

    def setup(self) -> None:
        with self._lock:
            if self.model is not None:
                return
            try:
                import torch
                import transformers
            except ImportError as e:
                raise UserError(f"backend=transformers needs torch and transformers ({e}); "
                                "install them (pip install torch transformers)") from None
            src = self._source()
            kw: dict[str, Any] = {"revision": self.settings.revision,
                                  "local_files_only": self.settings.local_files_only}
            try:
                config = transformers.AutoConfig.from_pretrained(src, **kw)
            except (OSError, ValueError) as e:
                hint = "" if Path(src).is_dir() else (
                    f"; download it first (hf download {src}) or give -o model=LOCAL_DIR")
                raise UserError(f"model={self.settings.model!r}: cannot load the checkpoint: "
                                f"{_first_line(e)}{hint}") from None
            self.model_type = str(getattr(config, "model_type", ""))
            arch = ARCHITECTURES.get(self.model_type)
            cls = getattr(transformers, arch.cls, None) if arch else None
            if arch is None or cls is None:
                raise UserError(f"model={self.settings.model!r}: model_type {self.model_type!r} has no "
                                f"class here (known: {', '.join(sorted(ARCHITECTURES))})")
            device = self.settings.device
            if device == "auto":
                device = "cuda" if torch.cuda.is_available() else "cpu"
            dtype = self.settings.dtype
            if dtype == "auto":
                dtype = "float32" if device == "cpu" else "bfloat16"
            try:
                auto_processor: Any = transformers.AutoProcessor  # untyped in some versions
                self.processor = auto_processor.from_pretrained(src, **kw)
                model = cls.from_pretrained(src, dtype=getattr(torch, dtype), **kw)
            except (OSError, ValueError) as e:
                raise UserError(f"model={self.settings.model!r}: cannot load the checkpoint: "
                                f"{_first_line(e)}") from None
            tok = getattr(self.processor, "tokenizer", None)
            if tok is not None:
                tok.padding_side = "left"
                if tok.pad_token is None:
                    tok.pad_token = tok.eos_token
            self.model = model.to(device).eval()
            self.device = device
            self.arch = arch

    def components(self) -> dict[str, str]:
        try:
            from importlib.metadata import version

            versions = {"transformers": version("transformers"), "torch": version("torch")}
        except Exception:  # not installed: setup says so
            versions = {}
        out = {"backend": "transformers", "model": self.settings.model, **versions}
        if self.settings.revision:
            out["revision"] = self.settings.revision
        if Path(self.settings.model).expanduser().is_dir():
            out["weights"] = _weights_id(str(Path(self.settings.model).expanduser()), None)
        return out

    # ------------------------------------------------------------------ inputs
    def _tokens(self) -> dict[str, str]:
        """The model's media tokens as they go in the text."""
        assert self.arch is not None
        if not self.arch.inline_tokens:
            return {"image": "", "video": "", "audio": ""}
        p = self.processor
        image = str(getattr(p, "image_token", "<image>"))
        out = {"image": image, "video": str(getattr(p, "video_token", "<video>"))}
        if self.arch.audio:
            out["audio"] = (f"{getattr(p, 'audio_bos_token', '')}{getattr(p, 'audio_token', '<audio>')}"
                            f"{getattr(p, 'audio_eos_token', '')}")
        if self.arch.video == "images":
            out["video"] = image * self.settings.frames_as_images
        return out

    def _media(self, prompt: Prompt, benchmark: Benchmark, inputs: dict[str, list[Any]],
               omitted: list[str]) -> list[str]:
        """Read the prompt's media into ``inputs``; returns the modalities given to the model."""
        from PIL import Image

        assert self.arch is not None
        given: list[str] = []
        for modality, rel in prompt.media:
            if modality == "image" and self.arch.image:
                with Image.open(benchmark.media.path(rel)) as im:
                    inputs["images"].append(im.convert("RGB"))
                given.append("image")
            elif modality == "video" and self.arch.video == "native":
                inputs["videos"].append(_frames(benchmark, rel, self.settings.video_frames))
                given.append("video")
            elif modality == "video" and self.arch.video == "images" and self.arch.image:
                frames = _frames(benchmark, rel, self.settings.frames_as_images)
                inputs["images"].extend(Image.fromarray(f) for f in frames)
                given.append("video")
            elif modality == "audio" and self.arch.audio:
                rate = int(self.processor.feature_extractor.sampling_rate)
                samples, sr = benchmark.media.audio(rel)
                inputs["audio"].append(_resample(samples, sr, rate))
                given.append("audio")
            else:
                omitted.append(f"{modality}: {self.model_type} takes no {modality} input")
        return given

    def _text(self, prompt: Prompt, given: list[str]) -> str:
        """The whole turn as the model reads it (see ``chat_format`` in the module docstring)."""
        fmt = self.settings.chat_format
        has_chat = bool(getattr(self.processor, "chat_template", None))
        if fmt == "auto":
            fmt = "template" if prompt.conversation else ("processor" if has_chat else "plain")
        tokens = self._tokens()
        order = [m for m in ("image", "video", "audio") if m in given]
        if fmt == "template" and prompt.conversation is not None:
            return prompt.conversation.render(prompt.system, prompt.user, order, tokens)
        if fmt == "processor" and has_chat:
            parts: list[dict[str, Any]] = []
            for m in order:
                if m == "video" and self.arch is not None and self.arch.video == "images":
                    parts += [{"type": "image"}] * self.settings.frames_as_images
                elif m == "audio":
                    parts.append({"type": "audio", "audio_url": "input"})
                else:
                    parts.append({"type": m})
            parts.append({"type": "text", "text": prompt.user})
            messages = [{"role": "system", "content": [{"type": "text", "text": prompt.system}]},
                        {"role": "user", "content": parts}]
            try:
                return str(self.processor.apply_chat_template(
                    messages, add_generation_prompt=True, tokenize=False))
            except Exception:  # a chat template without a system role
                return str(self.processor.apply_chat_template(
                    messages[1:], add_generation_prompt=True, tokenize=False))
        lead = "".join(tokens.get(m, "") for m in order)
        return f"{prompt.system}\n\n{lead}\n{prompt.user}" if lead else f"{prompt.system}\n\n{prompt.user}"

    # ------------------------------------------------------------------ generation
    def generate(self, prompt: Prompt, instance: Instance, benchmark: Benchmark) -> Generation:
        result = self.generate_batch([prompt], [instance], benchmark)[0]
        if isinstance(result, BackendError):
            raise result
        return result

    def generate_batch(self, prompts: list[Prompt], instances: list[Instance],
                       benchmark: Benchmark) -> list[Generation | BackendError]:
        """One generate call for all ``prompts``; redone one by one when the batch fails."""
        self.setup()
        assert self.arch is not None
        if self.arch.needs_image and any(not _has_image(p) for p in prompts):
            ok = [i for i, p in enumerate(prompts) if _has_image(p)]
            done = iter(self.generate_batch([prompts[i] for i in ok], [instances[i] for i in ok],
                                            benchmark) if ok else [])
            return [next(done) if _has_image(p) else BackendError(
                f"{self.model_type} needs an image and this instance has none") for p in prompts]
        with self._lock:
            try:
                return list(self._generate(prompts, benchmark))
            except UserError:
                raise
            except Exception as e:
                if len(prompts) == 1:
                    return [BackendError(f"transformers generate failed: {type(e).__name__}: "
                                         f"{_first_line(e)}")]
        out: list[Generation | BackendError] = []
        for p, inst in zip(prompts, instances, strict=True):
            out += self.generate_batch([p], [inst], benchmark)
        return out

    def _generate(self, prompts: list[Prompt], benchmark: Benchmark) -> list[Generation]:
        import torch

        inputs: dict[str, list[Any]] = {"images": [], "videos": [], "audio": []}
        texts: list[str] = []
        omitted: list[list[str]] = []
        for p in prompts:
            om: list[str] = []
            given = self._media(p, benchmark, inputs, om)
            texts.append(self._text(p, given))
            omitted.append(om)
        kwargs: dict[str, Any] = {"text": texts, "return_tensors": "pt", "padding": True}
        for key in ("images", "videos", "audio"):
            if inputs[key]:
                kwargs[key] = inputs[key]
        if inputs["audio"]:
            kwargs["sampling_rate"] = int(self.processor.feature_extractor.sampling_rate)
        batch = self.processor(**kwargs).to(self.device)
        for k, v in batch.items():  # pixel / feature inputs in the model's dtype
            if torch.is_floating_point(v):
                batch[k] = v.to(self.model.dtype)
        tok = self.processor.tokenizer
        with torch.inference_mode():
            out = self.model.generate(**batch, max_new_tokens=self.settings.max_new_tokens,
                                      do_sample=False, pad_token_id=tok.pad_token_id)
        start = batch["input_ids"].shape[1]
        gens: list[Generation] = []
        for row, om in zip(out, omitted, strict=True):
            new = row[start:]
            n = int((new != tok.pad_token_id).sum())
            text = tok.decode(new, skip_special_tokens=True)
            full = n >= self.settings.max_new_tokens
            info: dict[str, Any] = {"new_tokens": n, "batch": len(prompts),
                                    "finish_reason": "length" if full else "stop"}
            if om:
                info["omitted"] = om
            gens.append(Generation(text, info=info))
        return gens


def _has_image(prompt: Prompt) -> bool:
    return any(m == "image" for m, _ in prompt.media)


def _frames(benchmark: Benchmark, rel: str, n: int) -> Any:
    """``n`` evenly spaced RGB frames of a video as one (n, H, W, 3) uint8 array (a frame
    repeats when the video has fewer)."""
    import numpy as np

    info = benchmark.media.video_info(rel)
    total = max(1, info.frames)
    wanted = [round(i * (total - 1) / max(1, n - 1)) for i in range(n)]
    picked: dict[int, Any] = {}
    last = None
    for idx, frame in enumerate(benchmark.media.video_frames(rel)):
        last = frame
        if idx in wanted:
            picked[idx] = frame
        if idx >= wanted[-1]:
            break
    if last is None:
        raise BackendError(f"{rel}: the video has no frames")
    return np.stack([picked.get(i, last) for i in wanted])


def _resample(samples: Any, rate: int, target: int) -> Any:
    """Mono float32 samples at ``target`` Hz (polyphase resampling)."""
    import numpy as np

    x = np.asarray(samples, dtype=np.float32)
    if x.ndim > 1:
        x = x.mean(axis=1 if x.shape[0] > x.shape[1] else 0)
    if rate == target:
        return x
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate, target)
    return resample_poly(x, target // g, rate // g).astype(np.float32)


def _weights_id(src: str, config: Any) -> str:
    """A checkpoint's identity without reading its weights: sha256 (16 hex) of its
    config.json and the names and sizes of its files (a local directory), else the hub name
    and the config's commit hash when known."""
    p = Path(src)
    h = hashlib.sha256()
    if p.is_dir():
        for f in sorted(p.rglob("*")):
            if f.is_file():
                h.update(f"{f.relative_to(p).as_posix()}:{f.stat().st_size}\n".encode())
        cfg = p / "config.json"
        if cfg.is_file():
            h.update(cfg.read_bytes())
    else:
        h.update(json.dumps([src, getattr(config, "_commit_hash", None)]).encode())
    return h.hexdigest()[:16]


for _name, _ckpt, _row, _extra in PRESETS:
    add_preset(_name, "mllm", f"{_row} in-process (transformers, {_ckpt}; -o model=PATH for "
               "local weights)", backend="transformers", model=_ckpt, template="reamo-authors-v1",
               grounding="all", **_extra)
