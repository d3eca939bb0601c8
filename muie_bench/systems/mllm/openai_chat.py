"""Backend: an OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, ...).

Request: one system message (the template's system line) and one user message whose
content is the prompt text followed by the media:

* image: ``{"type": "image_url", "image_url": {"url": "data:<mime>;base64,..."}}``;
* audio (``audio_mode="input_audio"``): ``{"type": "input_audio", "input_audio":
  {"data": <base64>, "format": "wav" | "mp3"}}`` (other formats are decoded and sent as
  16-bit WAV); ``audio_mode="transcript"`` (for endpoints without audio input) sends
  ``Audio transcript: ...`` made by the pipeline's offline Whisper ASR (``asr_settings``),
  kept in the trace as ``info.transcripts``; ``audio_mode="omit"`` sends no audio and says so;
* video (``video_mode="frames"``, the fallback every vision endpoint accepts): a text part
  naming the sampled times, then ``video_frames`` evenly spaced frames as JPEG image parts;
  ``video_mode="video_url"``: ``{"type": "video_url", "video_url": {"url":
  "data:video/mp4;base64,..."}}`` (vLLM's extension).

Calls go through the official ``openai`` client with its own retries off: this module
retries 429, 5xx, 408/409, timeouts and connection errors up to ``max_retries`` times,
waiting ``Retry-After`` when the server sends it (capped at ``retry_after_max``) and
otherwise ``min(backoff_max, backoff_base * 2**attempt)`` seconds. At most ``concurrency``
requests per base URL are in flight in the process. Answers are cached on disk
(:mod:`muie_bench.systems.mllm.cache`). The API key is read from the environment variable
named by ``api_key_env`` and never written anywhere.
"""

from __future__ import annotations

import base64
import email.utils
import io
import mimetypes
import os
import threading
import time
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from muie_bench.errors import UserError
from muie_bench.systems.grounding_invocations import file_sha256
from muie_bench.systems.mllm.backends import BackendSettings, register_backend
from muie_bench.systems.mllm.base import BackendError, Generation
from muie_bench.systems.mllm.cache import RequestCache, cache_key
from muie_bench.systems.pipeline.settings import WhisperASRSettings

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark
    from muie_bench.schema import Instance
    from muie_bench.systems.prompts import Prompt

_SEMAPHORES: dict[str, threading.BoundedSemaphore] = {}
_SEM_LOCK = threading.Lock()
RETRY_STATUS = {408, 409, 429}


def _semaphore(base_url: str, n: int) -> threading.BoundedSemaphore:
    with _SEM_LOCK:
        key = f"{base_url}|{n}"
        if key not in _SEMAPHORES:
            _SEMAPHORES[key] = threading.BoundedSemaphore(max(1, n))
        return _SEMAPHORES[key]


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), else None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class OpenAIChatBackend:
    """Chat-completions backend (see the module docstring)."""

    name = "openai"

    def __init__(self, s: Any) -> None:
        self.s = s
        self.cache = RequestCache(s.cache_dir) if s.cache else None
        self._client: Any = None
        self._lock = threading.Lock()
        self._asr: Any = None
        self._asr_lock = threading.Lock()

    # ------------------------------------------------------------------ setup
    def setup(self) -> None:
        try:
            import openai
        except ImportError:
            raise UserError("the openai backend needs the 'openai' package: "
                            "pip install 'muie-bench[api]'") from None
        key = os.environ.get(self.s.api_key_env)
        if not key:
            if self.s.base_url is None:
                raise UserError(f"{self.s.api_key_env} is not set: export it, or point "
                                "-o base_url=http://host:port/v1 at an OpenAI-compatible server")
            key = "unused"  # local servers (vLLM, Ollama) accept any key
        self._client = openai.OpenAI(api_key=key, base_url=self.s.base_url,
                                     timeout=self.s.timeout, max_retries=0)

    def components(self) -> dict[str, str]:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("openai")
        except PackageNotFoundError:
            v = "missing"
        return {"backend": "openai-chat", "openai": v, "model": self.s.model}

    # ------------------------------------------------------------------ request
    def _params(self) -> dict[str, Any]:
        return {"temperature": self.s.temperature, "max_tokens": self.s.length_limit,
                "audio_mode": self.s.audio_mode, "video_mode": self.s.video_mode,
                "video_frames": self.s.video_frames,
                "asr": self.s.asr_settings.model_dump() if self.s.audio_mode == "transcript" else None}

    def messages(self, prompt: Prompt, benchmark: Benchmark,
                 info: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The chat messages of ``prompt`` with its media encoded as content parts;
        transcripts made for ``audio_mode="transcript"`` go into ``info``."""
        info = {} if info is None else info
        content: list[dict[str, Any]] = [{"type": "text", "text": prompt.user}]
        for modality, rel in prompt.media:
            path = benchmark.media.path(rel)
            if modality == "image":
                mime = mimetypes.guess_type(path.name)[0] or "image/png"
                content.append({"type": "image_url", "image_url": {"url": _data_url(
                    mime, path.read_bytes())}})
            elif modality == "audio":
                content.extend(self._audio_parts(rel, benchmark, info))
            elif modality == "video":
                content.extend(self._video_parts(rel, benchmark))
        return [{"role": "system", "content": prompt.system},
                {"role": "user", "content": content}]

    def _audio_parts(self, rel: str, benchmark: Benchmark,
                     info: dict[str, Any]) -> list[dict[str, Any]]:
        if self.s.audio_mode == "omit":
            return [{"type": "text", "text": "(The audio is not sent to this endpoint.)"}]
        if self.s.audio_mode == "transcript":
            text = self._transcribe(rel, benchmark)
            info.setdefault("transcripts", {})[rel] = text
            return [{"type": "text", "text": f"Audio transcript: {text}"}]
        path = benchmark.media.path(rel)
        ext = path.suffix.lower().lstrip(".")
        if ext in ("wav", "mp3"):
            data, fmt = path.read_bytes(), ext
        else:
            import soundfile as sf

            samples, rate = benchmark.media.audio(rel)
            buf = io.BytesIO()
            sf.write(buf, samples, rate, format="WAV", subtype="PCM_16")
            data, fmt = buf.getvalue(), "wav"
        return [{"type": "input_audio",
                 "input_audio": {"data": base64.b64encode(data).decode(), "format": fmt}}]

    def _transcribe(self, rel: str, benchmark: Benchmark) -> str:
        from muie_bench.systems.pipeline.asr import WhisperASR

        with self._asr_lock:  # one model per backend, one transcription at a time
            if self._asr is None:
                self._asr = WhisperASR.from_settings(dict(self.s.asr_settings))
            samples, rate = benchmark.media.audio(rel)
            return str(self._asr.transcribe(samples, rate).text)

    def _video_parts(self, rel: str, benchmark: Benchmark) -> list[dict[str, Any]]:
        path = benchmark.media.path(rel)
        if self.s.video_mode == "video_url":
            mime = mimetypes.guess_type(path.name)[0] or "video/mp4"
            return [{"type": "video_url", "video_url": {"url": _data_url(mime, path.read_bytes())}}]
        from PIL import Image

        info = benchmark.media.video_info(rel)
        n = max(1, min(self.s.video_frames, info.frames))
        wanted = sorted({round(i * (info.frames - 1) / max(1, n - 1)) for i in range(n)})
        parts: list[dict[str, Any]] = []
        times: list[str] = []
        for idx, frame in enumerate(benchmark.media.video_frames(rel)):
            if idx in wanted:
                buf = io.BytesIO()
                Image.fromarray(frame).save(buf, format="JPEG", quality=90)
                parts.append({"type": "image_url",
                              "image_url": {"url": _data_url("image/jpeg", buf.getvalue())}})
                times.append(f"{idx / info.fps:.2f}s")
            if idx >= wanted[-1]:
                break
        head = {"type": "text", "text": f"Video frames (of {info.frames} at {info.fps:g} fps) "
                f"at {', '.join(times)}:"}
        return [head, *parts]

    # ------------------------------------------------------------------ call
    def generate(self, prompt: Prompt, instance: Instance, benchmark: Benchmark) -> Generation:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self.setup()
        media_sha = [file_sha256(str(benchmark.media.path(rel))) for _, rel in prompt.media]
        key = cache_key(self.s.model, prompt.sha256(), media_sha, self._params())
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return Generation(hit["text"], cache_hit=True, info=hit.get("info", {}))
        extra: dict[str, Any] = {}
        messages = self.messages(prompt, benchmark, extra)
        gen = self._call(messages)
        gen.info.update(extra)
        if self.cache is not None and gen.text is not None:
            self.cache.put(key, {"text": gen.text, "model": self.s.model, "info": gen.info})
        return gen

    def _call(self, messages: list[dict[str, Any]]) -> Generation:
        import openai

        attempts: list[dict[str, Any]] = []
        sem = _semaphore(str(self.s.base_url), self.s.concurrency)
        for attempt in range(self.s.max_retries + 1):
            wait: float | None = None
            try:
                with sem:
                    resp = self._client.chat.completions.create(
                        model=self.s.model, messages=messages,
                        temperature=self.s.temperature, max_tokens=self.s.length_limit,
                    )
                choice = resp.choices[0]
                info: dict[str, Any] = {"finish_reason": choice.finish_reason}
                if resp.usage is not None:
                    info["usage"] = {"prompt_tokens": resp.usage.prompt_tokens,
                                     "completion_tokens": resp.usage.completion_tokens}
                return Generation(choice.message.content or "", retries=attempt,
                                  attempts=attempts, info=info)
            except openai.APIStatusError as e:
                status = e.status_code
                if status not in RETRY_STATUS and status < 500:
                    raise BackendError(f"HTTP {status} from the chat endpoint: "
                                       f"{_short(e.message)}", attempt, attempts) from None
                wait = retry_after_seconds(e.response.headers.get("retry-after"))
                rec: dict[str, Any] = {"status": status}
            except openai.APITimeoutError:
                rec = {"status": "timeout"}
            except openai.APIConnectionError as e:
                rec = {"status": "connection", "detail": _short(str(e))}
            if wait is None:
                wait = min(self.s.backoff_max, self.s.backoff_base * 2**attempt)
            else:
                wait = min(wait, self.s.retry_after_max)
                rec["retry_after"] = wait
            attempts.append(rec)
            if attempt < self.s.max_retries:
                rec["wait"] = round(wait, 3)
                time.sleep(wait)
        raise BackendError(f"chat endpoint failed {len(attempts)} times "
                           f"(last: {attempts[-1]['status']}); gave up",
                           len(attempts) - 1, attempts)


def _data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _short(s: str) -> str:
    return " ".join(str(s).split())[:160]


class ChatBackendSettings(BackendSettings):
    """Settings of the chat backend (``-o key=value``)."""

    model: str = Field(description="model name sent to the chat endpoint")
    base_url: str | None = Field(None, description="OpenAI-compatible base URL (…/v1)")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable of the key")
    timeout: float = Field(120.0, gt=0, description="seconds per chat request")
    max_retries: int = Field(5, ge=0)
    backoff_base: float = Field(1.0, ge=0)
    backoff_max: float = Field(30.0, ge=0)
    retry_after_max: float = Field(60.0, ge=0)
    concurrency: int = Field(4, ge=1, description="chat requests in flight per base URL")
    cache: bool = True
    cache_dir: str = "results/cache/mllm"
    temperature: float = 0.0
    length_limit: int = Field(1024, ge=1, description="max_tokens sent with each chat request")
    video_mode: Literal["frames", "video_url"] = "frames"
    video_frames: int = Field(8, ge=1)
    audio_mode: Literal["input_audio", "transcript", "omit"] = "input_audio"
    asr_settings: WhisperASRSettings = Field(
        default_factory=WhisperASRSettings, description="audio_mode=transcript: the pipeline's WhisperASR")


register_backend("openai", ChatBackendSettings,
                 configured=lambda s: bool(getattr(s, "base_url", None)))(OpenAIChatBackend)
