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
retries 429, 5xx, 408/409, timeouts, connection errors and 2xx bodies that are not a chat
completion (not JSON, no ``choices``, no ``message``) up to ``max_retries`` times, waiting
``Retry-After`` when the server sends it (capped at ``retry_after_max``) and otherwise
``min(backoff_max, backoff_base * 2**attempt)`` seconds. ``timeout`` is a total deadline per
attempt: connecting, sending and reading the whole body (httpx's own timeouts are per
socket operation, so a body that drips would never end); every socket operation of the
attempt gets the time left as its timeout. A completion whose ``message.content`` is null
has no text (the system records a parse failure); it is not retried. At most
``concurrency`` requests per base URL are in flight in the process (waiting for a slot is
not part of the deadline). Answers are cached on disk (:mod:`muie_bench.systems.mllm.cache`).

Text from the server is cleaned before it is kept: lone UTF-16 surrogates (which no file
can hold) become U+FFFD (:func:`repair_text`, noted in ``info.repaired``), and error text is
scrubbed of the API key, URL credentials and anything shaped like a bearer token or
``sk-`` key (:func:`muie_bench.provenance.scrub_secrets`), then cut to 200 characters. The
API key is read from the environment variable named by ``api_key_env`` and never written
anywhere.
"""

from __future__ import annotations

import base64
import email.utils
import importlib
import io
import json
import mimetypes
import os
import threading
import time
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field

from muie_bench.errors import UserError
from muie_bench.provenance import scrub_secrets
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
#: characters of a server's body kept in an error or attempt record
BODY_CHARS = 200


def repair_text(text: str) -> tuple[str, int]:
    """``text`` with every lone UTF-16 surrogate (U+D800..U+DFFF not forming a pair) replaced
    by U+FFFD, and how many were replaced; surrogate pairs become the character they encode."""
    if not any("\ud800" <= c <= "\udfff" for c in text):
        return text, 0
    fixed = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return fixed, fixed.count("\ufffd") - text.count("\ufffd")


def _clean_json(obj: Any) -> Any:
    """A parsed JSON value with lone surrogates in its strings replaced (:func:`repair_text`)."""
    if isinstance(obj, str):
        return repair_text(obj)[0]
    if isinstance(obj, dict):
        return {_clean_json(k): _clean_json(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean_json(v) for v in obj]
    return obj


# ---------------------------------------------------------------- total deadline per attempt
_DEADLINE = threading.local()  # .at: time.monotonic() by which the current attempt must end


def _time_left(timeout: float | None, exc: type[Exception]) -> float | None:
    """The socket timeout of one operation: ``timeout`` capped by the time left to the
    calling thread's deadline; ``exc`` when the deadline has passed."""
    at: float | None = getattr(_DEADLINE, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise exc("total deadline of the request passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream:
    """An httpcore network stream whose reads and writes end by the thread's deadline."""

    def __init__(self, inner: Any, errors: Any) -> None:
        self._inner = inner
        self._errors = errors

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return bytes(self._inner.read(max_bytes, _time_left(timeout, self._errors.ReadTimeout)))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        view = memoryview(buffer)
        for i in range(0, len(view), 65536):  # each piece gets the time then left
            self._inner.write(bytes(view[i:i + 65536]),
                              _time_left(timeout, self._errors.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> _DeadlineStream:
        tls = self._inner.start_tls(ssl_context, server_hostname,
                                    _time_left(timeout, self._errors.ConnectTimeout))
        return _DeadlineStream(tls, self._errors)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend:
    """An httpcore network backend whose connections obey the thread's deadline."""

    def __init__(self, inner: Any, errors: Any) -> None:
        self._inner = inner
        self._errors = errors

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None) -> Any:
        stream = self._inner.connect_tcp(host, port, _time_left(timeout, self._errors.ConnectTimeout),
                                         local_address=local_address,
                                         socket_options=socket_options)
        return _DeadlineStream(stream, self._errors)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> Any:
        stream = self._inner.connect_unix_socket(
            path, _time_left(timeout, self._errors.ConnectTimeout), socket_options=socket_options)
        return _DeadlineStream(stream, self._errors)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _deadline_http_client(openai: Any, timeout: float) -> Any:
    """openai's default httpx client with the network backend of its connection pools (the
    default transport and any proxy transports from the environment) wrapped in
    :class:`_DeadlineBackend`; UserError when this httpx has no such pool."""
    client = openai.DefaultHttpxClient(timeout=timeout)
    transports = [getattr(client, "_transport", None),
                  *dict(getattr(client, "_mounts", None) or {}).values()]
    for n, transport in enumerate(transports):
        pool: Any = getattr(transport, "_pool", None)
        inner = getattr(pool, "_network_backend", None)
        if pool is None or inner is None:
            if n == 0 or transport is not None:
                raise UserError(
                    f"openai {getattr(openai, '__version__', '?')}: its httpx client has no "
                    "connection pool with a network backend, so the total request deadline "
                    "(-o timeout=) cannot be enforced; install an openai release that uses "
                    "httpx/httpcore (pip install 'muie-bench[api]')")
            continue
        errors = importlib.import_module(type(pool).__module__.partition(".")[0])
        pool._network_backend = _DeadlineBackend(inner, errors)
    return client


def _content_type(headers: Any) -> str:
    return str(headers.get("content-type") or "no content type").split(";")[0].strip()


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
        self._secrets: list[str] = []  # the API key and URL credentials, scrubbed from errors

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
        else:
            self._secrets.append(key)
        url = urlsplit(self.s.base_url or "")
        if url.username or url.password:  # sent as HTTP Basic credentials
            user, pw = unquote(url.username or ""), unquote(url.password or "")
            basic = base64.b64encode(f"{user}:{pw}".encode()).decode()
            self._secrets += [x for x in (url.password, pw, url.username, user, basic) if x]
        self._client = openai.OpenAI(api_key=key, base_url=self.s.base_url,
                                     timeout=self.s.timeout, max_retries=0,
                                     http_client=_deadline_http_client(openai, self.s.timeout))

    def _scrub(self, text: str) -> str:
        """Server text made safe to keep: surrogates repaired, secrets masked, whitespace
        collapsed, cut to :data:`BODY_CHARS` characters (``…`` marks a cut)."""
        flat = " ".join(scrub_secrets(repair_text(str(text))[0], self._secrets).split())
        return flat if len(flat) <= BODY_CHARS else flat[:BODY_CHARS] + "…"

    def _sent(self, status: int, headers: Any, body: str, what: str = "") -> str:
        """What the server sent: ``HTTP <status> (<content type>): [what: ]'<body>'``."""
        return (f"HTTP {status} ({_content_type(headers)}): {what + ': ' if what else ''}"
                f"'{self._scrub(body)}'")

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
                    _DEADLINE.at = time.monotonic() + self.s.timeout
                    try:
                        raw = self._client.chat.completions.with_raw_response.create(
                            model=self.s.model, messages=messages,
                            temperature=self.s.temperature, max_tokens=self.s.length_limit,
                        )
                        http = raw.http_response
                        status, headers, body = http.status_code, http.headers, http.text
                    finally:
                        _DEADLINE.at = None
                gen = self._answer(status, headers, body)
                if isinstance(gen, Generation):
                    gen.retries, gen.attempts = attempt, attempts
                    return gen
                rec: dict[str, Any] = {"status": "invalid", "detail": gen}
            except openai.APIStatusError as e:
                status = e.status_code
                sent = self._sent(status, e.response.headers, _body_text(e.response))
                if status not in RETRY_STATUS and status < 500:
                    raise BackendError(f"HTTP {status} from the chat endpoint "
                                       f"{sent.removeprefix(f'HTTP {status} ')}", attempt,
                                       attempts) from None
                wait = retry_after_seconds(e.response.headers.get("retry-after"))
                rec = {"status": status, "detail": sent}
            except openai.APITimeoutError:
                rec = {"status": "timeout"}
            except openai.APIConnectionError as e:
                cause = e.__cause__ or e
                rec = {"status": "connection",
                       "detail": self._scrub(f"{type(cause).__name__}: {cause}")}
            if wait is None:
                wait = min(self.s.backoff_max, self.s.backoff_base * 2**attempt)
            else:
                wait = min(wait, self.s.retry_after_max)
                rec["retry_after"] = wait
            attempts.append(rec)
            if attempt < self.s.max_retries:
                rec["wait"] = round(wait, 3)
                time.sleep(wait)
        last = attempts[-1]
        raise BackendError(f"chat endpoint failed {len(attempts)} times "
                           f"(last: {last.get('detail') or last['status']}); gave up",
                           len(attempts) - 1, attempts)

    def _answer(self, status: int, headers: Any, body: str) -> Generation | str:
        """The Generation of a 2xx response, or what was wrong with it (to retry):
        not JSON, no ``choices``, or a first choice without a ``message`` object."""
        try:
            data = json.loads(body)
        except ValueError:
            return self._sent(status, headers, body, "not JSON")
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices:
            return self._sent(status, headers, body, "no choices")
        choice = choices[0]
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            return self._sent(status, headers, body, "choices[0] has no message")
        content = message.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(str(p.get("text", "")) for p in content
                              if isinstance(p, dict) and p.get("type") == "text")
        info: dict[str, Any] = {"finish_reason": _clean_json(choice.get("finish_reason"))}
        usage = data.get("usage")
        if isinstance(usage, dict):
            info["usage"] = {k: _clean_json(usage.get(k))
                             for k in ("prompt_tokens", "completion_tokens")}
        if not isinstance(content, str):
            why = "message.content " + ("null" if content is None else type(content).__name__)
            refusal = message.get("refusal")
            if isinstance(refusal, str) and refusal:
                why += f", refusal {self._scrub(refusal)!r}"
            info["no_text"] = (f"the chat endpoint answered without text ({why}, "
                               f"finish_reason {info['finish_reason']!r})")
            return Generation(None, info=info)
        text, n = repair_text(content)
        if n:
            info["repaired"] = f"{n} lone surrogate(s) replaced by U+FFFD"
        return Generation(text, info=info)


def _body_text(response: Any) -> str:
    try:
        return str(response.text)
    except Exception:  # a body that cannot be read or decoded
        return "(body could not be read)"


def _data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


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
