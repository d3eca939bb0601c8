"""The shared MLLM system: prompt -> backend -> parse -> grounding invocations -> prediction.

``reamo`` and ``openai-chat`` are this class with different defaults. One prediction's
``trace`` holds: ``backend``, ``model``, ``template``, ``prompt_sha256``, ``retries``
(failed attempts before the answer; the runner sums it into run.json ``trace_totals``),
``cache_hits`` (0/1), ``attempts`` (status and wait of each failed attempt),
``invocations`` (one record per grounder call or skipped invocation),
``grounding_errors`` (how many records carry an error), ``parse_notes`` (dropped tuples,
truncation), ``format`` (tuples/json/empty), ``info`` (finish reason, token usage,
``repaired`` when lone surrogates in the answer were replaced by U+FFFD, ``no_text`` when the
endpoint answered without text, which is also the ``parse_error``) and ``timings`` (seconds
per stage: prompt, generate, parse, ground).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from muie_bench.errors import UserError
from muie_bench.provenance import mask_url_credentials
from muie_bench.schema import Instance, Prediction
from muie_bench.systems.base import System, SystemSettings
from muie_bench.systems.grounding_invocations import Grounder, apply_groundings, make_grounder
from muie_bench.systems.mllm.base import Backend, BackendError
from muie_bench.systems.mllm.inprocess import HINT
from muie_bench.systems.mllm.openai_chat import repair_text
from muie_bench.systems.parse import parse_output
from muie_bench.systems.prompts import DEFAULT_TEMPLATE, build_prompt, template_sha256

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark

#: bump when parse.py changes what it extracts from the same text
PARSER_VERSION = "3"


class MllmSettings(SystemSettings):
    """Settings of the MLLM systems (``-o key=value``)."""

    backend: Literal["auto", "openai", "replay", "inprocess"] = Field(
        "auto", description="auto: replay if replay_path, openai if base_url, inprocess if "
        "inprocess_entry or model_path")
    model: str = Field("reamo", description="model name sent to the chat endpoint")
    base_url: str | None = Field(None, description="OpenAI-compatible base URL (…/v1)")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable of the key")
    replay_path: str | None = Field(None, description="JSONL of recorded outputs")
    model_base: str | None = Field(None, description="in-process: base LLM weights")
    model_path: str | None = Field(None, description="in-process: Reamo checkpoint")
    inprocess_entry: str | None = Field(None, description="in-process: package.module:function")
    inprocess_options: dict[str, Any] = Field(default_factory=dict)
    template: str = Field(DEFAULT_TEMPLATE, description="prompt template version")
    grounder: Literal["builtin", "http", "none"] = "builtin"
    grounding: Literal["invoked", "all"] = Field(
        "invoked", description="ground the invocations only, or every extracted mention")
    image_grounder_url: str | None = None
    video_grounder_url: str | None = None
    audio_grounder_url: str | None = None
    grounder_timeout: float = Field(60.0, gt=0)
    grounder_send_media: Literal["inline", "path"] = "inline"
    grounder_settings: dict[str, Any] = Field(default_factory=dict)
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
    asr_settings: dict[str, Any] = Field(
        default_factory=dict, description="audio_mode=transcript: the pipeline's WhisperASR")


class MllmSystem(System):
    """Base of ``reamo`` and ``openai-chat`` (see the module docstring)."""

    Settings = MllmSettings
    parallelism = "thread"

    def __init__(self, name: str, settings: SystemSettings) -> None:
        super().__init__(name, settings)
        assert isinstance(settings, MllmSettings)
        self.s: MllmSettings = settings
        template_sha256(settings.template)  # an unknown template stops here, before any run
        self.backend_name = self.resolve_backend()
        self.backend: Backend = self._make_backend()
        self.grounder: Grounder | None = None
        self._ready = False
        self._lock = threading.Lock()

    def resolve_backend(self) -> str:
        """The backend ``auto`` stands for; UserError when nothing is configured."""
        s = self.s
        if s.backend != "auto":
            return s.backend
        if s.replay_path:
            return "replay"
        if s.base_url:
            return "openai"
        if s.inprocess_entry or s.model_path:
            return "inprocess"
        raise UserError(f"--system {self.name}: no backend configured: {HINT}")

    def _make_backend(self) -> Backend:
        s = self.s
        if self.backend_name == "replay":
            if not s.replay_path:
                raise UserError(f"--system {self.name}: backend=replay needs -o replay_path=FILE")
            from muie_bench.systems.mllm.replay import ReplayBackend

            if not Path(s.replay_path).is_file():
                raise UserError(f"replay_path={s.replay_path!r}: no such file")
            return ReplayBackend(s.replay_path)
        if self.backend_name == "inprocess":
            from muie_bench.systems.mllm.inprocess import InProcessBackend

            return InProcessBackend(s.inprocess_entry, s.model_base, s.model_path,
                                    s.inprocess_options)
        from muie_bench.systems.mllm.openai_chat import OpenAIChatBackend

        return OpenAIChatBackend(s)

    def setup(self, benchmark: Benchmark) -> None:
        with self._lock:
            if self._ready:
                return
            self.backend.setup()
            self.grounder = make_grounder(self.s.model_dump())
            self._ready = True

    def components(self) -> dict[str, str]:
        return {
            "template": f"{self.s.template}:{template_sha256(self.s.template)[:16]}",
            "parser": PARSER_VERSION,
            **self.backend.components(),
        }

    def predict(self, instance: Instance, benchmark: Benchmark) -> Prediction:
        self.setup(benchmark)
        t_start = time.perf_counter()
        timings: dict[str, float] = {}
        spec = benchmark.manifest.set(instance.set)
        prompt = build_prompt(instance, spec, self.s.template)
        trace: dict[str, Any] = {
            "backend": self.backend_name, "model": self.s.model, "template": prompt.template,
            "prompt_sha256": prompt.sha256(),
        }
        t = time.perf_counter()
        timings["prompt"] = round(t - t_start, 6)
        try:
            gen = self.backend.generate(prompt, instance, benchmark)
        except BackendError as e:
            timings["generate"] = round(time.perf_counter() - t, 6)
            trace.update(retries=e.retries, cache_hits=0, attempts=e.attempts, timings=timings)
            return Prediction(id=instance.id, error=f"BackendError: {e}", trace=trace,
                              seconds=round(time.perf_counter() - t_start, 6))
        timings["generate"] = round(time.perf_counter() - t, 6)
        trace.update(retries=gen.retries, cache_hits=int(gen.cache_hit), attempts=gen.attempts)
        if gen.info:
            trace["info"] = gen.info
        text = gen.text
        if text is not None:  # a lone surrogate would make the prediction unwritable
            text, n = repair_text(text)
            if n:
                trace.setdefault("info", {})["repaired"] = f"{n} lone surrogate(s) replaced by U+FFFD"
        t = time.perf_counter()
        res = parse_output(text, instance.task, spec, instance.text)
        if text is None and gen.info.get("no_text"):
            res.error = str(gen.info["no_text"])
        timings["parse"] = round(time.perf_counter() - t, 6)
        trace.update(format=res.format, parse_notes=res.notes)
        t = time.perf_counter()
        records = apply_groundings(res.annotation, res.invocations, self.grounder, instance,
                                   benchmark, self.s.grounding)
        timings["ground"] = round(time.perf_counter() - t, 6)
        for r in records:  # grounder errors name the grounder's URL: no credentials in traces
            if r.get("error"):
                r["error"] = mask_url_credentials(str(r["error"]))
        trace.update(invocations=records,
                     grounding_errors=sum(1 for r in records if r.get("error")),
                     timings=timings)
        return Prediction(id=instance.id, output=res.annotation, raw=text,
                          parse_error=res.error, trace=trace,
                          seconds=round(time.perf_counter() - t_start, 6))
