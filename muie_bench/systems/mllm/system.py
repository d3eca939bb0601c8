"""The shared MLLM system: prompt -> backend -> parse -> grounding invocations -> prediction.

``reamo`` and ``openai-chat`` are this class with different defaults; ``mllm`` is this
class behind any registered backend (``-o backend=NAME``), with only that backend's
settings besides its own (:mod:`muie_bench.systems.mllm.backends`). One prediction's
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
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from pydantic import Field, create_model

from muie_bench.errors import UserError
from muie_bench.provenance import mask_url_credentials
from muie_bench.schema import Instance, Prediction
from muie_bench.systems.base import System, SystemSettings, nest_dotted, validate_settings
from muie_bench.systems.grounding_invocations import Grounder, apply_groundings, make_grounder
from muie_bench.systems.mllm.backends import BackendSettings, backend_names, get_backend
from muie_bench.systems.mllm.base import Backend, BackendError, Generation
from muie_bench.systems.mllm.chat_backend import repair_text
from muie_bench.systems.mllm.inprocess import HINT
from muie_bench.systems.parse import parse_output
from muie_bench.systems.pipeline.full.settings import ReferringSettings
from muie_bench.systems.pipeline.settings import BuiltinGrounderSettings
from muie_bench.systems.prompts import DEFAULT_TEMPLATE, Prompt, build_prompt, template_sha256
from muie_bench.systems.registry import register

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark

#: bump when parse.py changes what it extracts from the same text
PARSER_VERSION = "4"


class MllmSettings(SystemSettings):
    """Settings of the MLLM system itself (prompt, grounding); each backend adds its own
    (:mod:`muie_bench.systems.mllm.backends`)."""

    backend: str = Field("auto", description="a registered backend; auto: the first of the "
                         "kind's auto_backends whose settings are given")
    model: str = Field("reamo", description="model name (sent to the chat endpoint)")
    template: str = Field(DEFAULT_TEMPLATE, description="prompt template version")
    grounder: Literal["builtin", "http", "referring", "none"] = "builtin"
    grounding: Literal["invoked", "all"] = Field(
        "invoked", description="ground the invocations only, or every extracted mention")
    image_grounder_url: str | None = None
    video_grounder_url: str | None = None
    audio_grounder_url: str | None = None
    grounder_timeout: float = Field(60.0, gt=0)
    grounder_send_media: Literal["inline", "path"] = "inline"
    grounder_settings: BuiltinGrounderSettings = Field(
        default_factory=BuiltinGrounderSettings, description="grounder=builtin: its settings")
    referring_settings: ReferringSettings = Field(
        default_factory=ReferringSettings,
        description="grounder=referring: in-process OWLv2 + SAM (the full tier's) settings")

    def public(self) -> dict[str, Any]:
        """As the base's; ``referring_settings`` only when set (fingerprints of before)."""
        out = super().public()
        if "referring_settings" not in self.model_fields_set:
            out.pop("referring_settings", None)
        return out


MS = TypeVar("MS", bound=MllmSettings)


class MllmSystem(System[MS]):
    """Base of the MLLM kinds (see the module docstring): the backend follows the settings."""

    parallelism = "thread"
    #: the backends ``backend=auto`` chooses among, in this order (the first configured one)
    auto_backends: ClassVar[tuple[str, ...]] = ("replay", "openai", "inprocess")

    def __init__(self, name: str, settings: MS) -> None:
        super().__init__(name, settings)
        template_sha256(settings.template)  # an unknown template stops here, before any run
        self.backend_name = self.resolve_backend()
        self.backend: Backend = get_backend(self.backend_name).build(settings)
        self.grounder: Grounder | None = None
        self._ready = False
        self._lock = threading.Lock()

    def resolve_backend(self) -> str:
        """The backend ``auto`` stands for; UserError when nothing is configured."""
        s = self.settings
        if s.backend != "auto":
            return s.backend
        for name in self.auto_backends:
            spec = get_backend(name)
            if spec.configured is not None and spec.configured(s):
                return name
        raise UserError(f"--system {self.name}: no backend configured: {HINT}")

    def setup(self, benchmark: Benchmark) -> None:
        with self._lock:
            if self._ready:
                return
            self.backend.setup()
            self.grounder = make_grounder(self.settings.model_dump())
            self._ready = True

    def components(self) -> dict[str, str]:
        return {
            "template": f"{self.settings.template}:{template_sha256(self.settings.template)[:16]}",
            "parser": PARSER_VERSION,
            **self.backend.components(),
        }

    @property
    def batch_size(self) -> int:  # type: ignore[override]
        """Instances per backend call: the backend's ``batch_size`` (1 when it has none)."""
        return max(1, int(getattr(self.backend, "batch_size", 1)))

    def predict(self, instance: Instance, benchmark: Benchmark) -> Prediction:
        return self.predict_batch([instance], benchmark)[0]

    def predict_batch(self, instances: list[Instance], benchmark: Benchmark) -> list[Prediction]:
        """Prompts of all ``instances``, one backend call for them when the backend has
        ``generate_batch`` (else one call each), then parsing and grounding per instance."""
        self.setup(benchmark)
        t_start = time.perf_counter()
        prompts = [build_prompt(i, benchmark.manifest.set(i.set), self.settings.template)
                   for i in instances]
        t = time.perf_counter()
        t_prompt = (t - t_start) / len(instances)
        batch = getattr(self.backend, "generate_batch", None)
        results: list[Generation | BackendError]
        if batch is not None and len(instances) > 1:
            results = list(batch(prompts, instances, benchmark))
        else:
            results = []
            for p, inst in zip(prompts, instances, strict=True):
                try:
                    results.append(self.backend.generate(p, inst, benchmark))
                except BackendError as e:
                    results.append(e)
        t_gen = (time.perf_counter() - t) / len(instances)
        return [self._finish(inst, p, r, t_prompt, t_gen, benchmark)
                for inst, p, r in zip(instances, prompts, results, strict=True)]

    def _finish(self, instance: Instance, prompt: Prompt, gen: Generation | BackendError,
                t_prompt: float, t_gen: float, benchmark: Benchmark) -> Prediction:
        """The prediction of one generation: parse, ground, trace. ``t_prompt`` / ``t_gen``:
        this instance's share of the batch's prompt and generation seconds."""
        t_start = time.perf_counter()
        timings: dict[str, float] = {"prompt": round(t_prompt, 6), "generate": round(t_gen, 6)}
        spec = benchmark.manifest.set(instance.set)
        trace: dict[str, Any] = {
            "backend": self.backend_name, "model": self.settings.model, "template": prompt.template,
            "prompt_sha256": prompt.sha256(),
        }
        if isinstance(gen, BackendError):
            trace.update(retries=gen.retries, cache_hits=0, attempts=gen.attempts, timings=timings)
            return Prediction(id=instance.id, error=f"BackendError: {gen}", trace=trace,
                              seconds=round(t_prompt + t_gen, 6))
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
                                   benchmark, self.settings.grounding)
        timings["ground"] = round(time.perf_counter() - t, 6)
        for r in records:  # grounder errors name the grounder's URL: no credentials in traces
            if r.get("error"):
                r["error"] = mask_url_credentials(str(r["error"]))
        trace.update(invocations=records,
                     grounding_errors=sum(1 for r in records if r.get("error")),
                     timings=timings)
        return Prediction(id=instance.id, output=res.annotation, raw=text,
                          parse_error=res.error, trace=trace,
                          seconds=round(t_prompt + t_gen + time.perf_counter() - t_start, 6))


@cache
def settings_with(backend: type[BackendSettings]) -> type[MllmSettings]:
    """The MLLM system's settings plus ``backend``'s own (and nothing else)."""
    bases = (MllmSettings, backend)
    return create_model(f"MllmSettings_{backend.__name__}", __base__=bases)  # type: ignore[arg-type]


@register("mllm")
class Mllm(MllmSystem[MllmSettings]):
    """An MLLM behind any registered backend (-o backend=NAME), with that backend's settings."""

    @classmethod
    def from_settings(cls, name: str, settings: dict[str, Any]) -> System[Any]:
        backend = nest_dotted(settings).get("backend")
        if not isinstance(backend, str) or backend == "auto":
            raise UserError(f"--system {name}: set -o backend=NAME (known: "
                            f"{', '.join(backend_names())})")
        model = settings_with(get_backend(backend).settings)
        return cls(name, validate_settings(name, model, settings))
