"""Backend: a model loaded in this process through a Python entry point.

The authors' Reamo code has no installable API this project can rely on, so the in-process
backend is a contract that a small adapter in the user's installation implements:

``inprocess_entry = "package.module:function"`` names a callable::

    function(model_base: str | None, model_path: str | None, **inprocess_options) -> generator

called once per worker (``setup``), where ``generator`` has::

    generator.generate(system: str, prompt: str, media: dict[str, str]) -> str

``media`` maps ``"image"`` / ``"audio"`` / ``"video"`` to absolute file paths; the return
value is the model's raw text, parsed like any other backend's output.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pydantic import Field

from muie_bench.errors import UserError
from muie_bench.systems.mllm.backends import BackendSettings, register_backend
from muie_bench.systems.mllm.base import BackendError, Generation

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark
    from muie_bench.schema import Instance
    from muie_bench.systems.prompts import Prompt

HINT = ("set -o inprocess_entry=package.module:function (an adapter to the authors' Reamo "
        "code, see README 'Evaluating Reamo') with -o model_base=... -o model_path=...; or "
        "use -o base_url=http://host:port/v1 (a server running Reamo) or "
        "-o replay_path=outputs.jsonl (recorded outputs)")


def load_entry(entry: str) -> Any:
    """The callable named ``module:function``; UserError when it cannot be imported."""
    mod_name, sep, attr = entry.partition(":")
    if not sep or not mod_name or not attr:
        raise UserError(f"inprocess_entry={entry!r}: expected package.module:function")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise UserError(f"inprocess_entry={entry!r}: cannot import {mod_name!r} ({e}); "
                        "is the authors' Reamo code installed in this environment?") from None
    fn = getattr(mod, attr, None)
    if not callable(fn):
        raise UserError(f"inprocess_entry={entry!r}: {mod_name} has no callable {attr!r}")
    return fn


class InProcessSettings(BackendSettings):
    model_base: str | None = Field(None, description="in-process: base LLM weights")
    model_path: str | None = Field(None, description="in-process: Reamo checkpoint")
    inprocess_entry: str | None = Field(None, description="in-process: package.module:function")
    #: keyword arguments of the user's entry point, passed as given (its own, free-form)
    inprocess_options: dict[str, Any] = Field(default_factory=dict)


def _configured(s: Any) -> bool:
    return bool(getattr(s, "inprocess_entry", None) or getattr(s, "model_path", None))


@register_backend("inprocess", InProcessSettings, configured=_configured)
class InProcessBackend:
    """Generates with the object returned by the entry point (see the module docstring)."""

    name = "inprocess"

    def __init__(self, settings: InProcessSettings) -> None:
        if not settings.inprocess_entry:
            raise UserError(f"backend=inprocess needs the authors' Reamo code: {HINT}")
        self.entry = settings.inprocess_entry
        self.model_base = settings.model_base
        self.model_path = settings.model_path
        self.options = settings.inprocess_options
        self.fn = load_entry(self.entry)
        self.model: Any = None

    def setup(self) -> None:
        if self.model is None:
            self.model = self.fn(model_base=self.model_base, model_path=self.model_path,
                                 **self.options)
            if not callable(getattr(self.model, "generate", None)):
                raise UserError(f"inprocess_entry={self.entry!r} returned an object without "
                                "generate(system, prompt, media)")

    def components(self) -> dict[str, str]:
        return {"backend": "inprocess", "entry": self.entry,
                "model_base": str(self.model_base), "model_path": str(self.model_path)}

    def generate(self, prompt: Prompt, instance: Instance, benchmark: Benchmark) -> Generation:
        self.setup()
        media = {m: str(benchmark.media.path(rel)) for m, rel in prompt.media}
        try:
            text = self.model.generate(prompt.system, prompt.user, media)
        except Exception as e:
            raise BackendError(f"in-process model failed: {type(e).__name__}: {e}") from None
        if text is not None and not isinstance(text, str):
            raise BackendError(f"in-process model returned {type(text).__name__}, not str")
        return Generation(text)
