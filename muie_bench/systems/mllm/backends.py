"""Registry of MLLM backends: a backend is one class registered under a name with its own settings.

A backend module defines a settings model (a :class:`BackendSettings`, flat keys given as
``-o key=value``) and a class constructed from it, then registers both::

    class EchoSettings(BackendSettings):
        answer: str = ""

    @register_backend("echo", EchoSettings)
    class EchoBackend:
        def __init__(self, settings: EchoSettings) -> None: ...
        def setup(self) -> None: ...
        def generate(self, prompt, instance, benchmark) -> Generation: ...
        def components(self) -> dict[str, str]: ...

The ``mllm`` kind (``--system mllm -o backend=echo``) then takes the MLLM system's settings
plus that backend's, and nothing else. Built-in backends (``openai``, ``replay``,
``inprocess``) are imported by name when first asked for; other distributions add backends
through the entry point group ``muie_bench.mllm_backends`` (loaded by name, too).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from muie_bench.errors import UserError
from muie_bench.systems.base import SystemSettings
from muie_bench.systems.mllm.base import Backend

#: entry point group of backends from other distributions (name = backend name)
ENTRY_POINT_GROUP = "muie_bench.mllm_backends"
#: built-in backends and the module that registers each (imported on first use)
BUILTIN_BACKENDS = {
    "replay": "muie_bench.systems.mllm.replay",
    "openai": "muie_bench.systems.mllm.openai_chat",
    "inprocess": "muie_bench.systems.mllm.inprocess",
}


class BackendSettings(SystemSettings):
    """Base of a backend's own settings; unknown keys are an error."""


@dataclass(frozen=True)
class BackendSpec:
    """A registered backend: its class (called with its settings) and settings model.

    ``configured(settings) -> bool`` says whether the settings select this backend when
    ``backend=auto`` (e.g. ``replay_path`` is set); None: never chosen automatically.
    """

    name: str
    cls: Callable[[Any], Backend]
    settings: type[BackendSettings]
    configured: Callable[[Any], bool] | None = None

    def build(self, settings: SystemSettings) -> Backend:
        """The backend, given the system's settings (its own fields are taken from them)."""
        own = {k: getattr(settings, k) for k in self.settings.model_fields if hasattr(settings, k)}
        return self.cls(self.settings.model_validate(own))


_BACKENDS: dict[str, BackendSpec] = {}
C = TypeVar("C")


def register_backend(name: str, settings: type[BackendSettings],
                     configured: Callable[[Any], bool] | None = None) -> Callable[[C], C]:
    """Class decorator: register a backend class under ``name`` with its settings model."""

    def deco(cls: C) -> C:
        old = _BACKENDS.get(name)
        if old is not None and old.cls is not cls:
            raise UserError(f"MLLM backend {name!r} registered twice ({old.cls} and {cls})")
        _BACKENDS[name] = BackendSpec(name, cls, settings, configured)  # type: ignore[arg-type]
        return cls

    return deco


def get_backend(name: str) -> BackendSpec:
    """The backend registered as ``name``, importing its module first if it is known."""
    if name not in _BACKENDS:
        if name in BUILTIN_BACKENDS:
            importlib.import_module(BUILTIN_BACKENDS[name])
        else:
            from muie_bench.systems.registry import load_entry_points

            load_entry_points(ENTRY_POINT_GROUP, only=name)
    if name not in _BACKENDS:
        raise UserError(f"backend={name!r}: unknown MLLM backend (known: "
                        f"{', '.join(backend_names())})")
    return _BACKENDS[name]


def backend_names() -> list[str]:
    """Names of the built-in, registered and entry-point backends (nothing is imported)."""
    from muie_bench.systems.registry import entry_point_names

    return sorted({*BUILTIN_BACKENDS, *_BACKENDS, *entry_point_names(ENTRY_POINT_GROUP)})
