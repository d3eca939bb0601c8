"""Registry of system kinds and named presets.

Kinds register with :func:`register`; other distributions add kinds through the entry
point group ``muie_bench.systems`` (each entry point loads a System subclass or a module
that registers some). Presets map a name to ``(kind, settings)``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, TypeVar

from muie_bench.errors import UserError
from muie_bench.systems.base import System

_KINDS: dict[str, type[System]] = {}
_PRESETS: dict[str, Preset] = {}
_LOADED = False
S = TypeVar("S", bound=type[System])

#: modules of the built-in kinds, imported on first lookup (keeps package import light)
BUILTIN_MODULES = [
    "muie_bench.systems.reference",
    "muie_bench.systems.pipeline.presets",
    "muie_bench.systems.reamo",
    "muie_bench.systems.openai_chat",
]


@dataclass(frozen=True)
class Preset:
    name: str
    kind: str
    settings: dict[str, Any] = field(default_factory=dict)
    description: str = ""


def register(kind: str) -> Any:
    """Class decorator: register a System subclass under ``kind``."""

    def deco(cls: S) -> S:
        if kind in _KINDS and _KINDS[kind] is not cls:
            raise ValueError(f"system kind {kind!r} registered twice")
        cls.kind = kind
        _KINDS[kind] = cls
        return cls

    return deco


def add_preset(name: str, kind: str, description: str = "", **settings: Any) -> None:
    _PRESETS[name] = Preset(name, kind, settings, description)


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for mod in BUILTIN_MODULES:
        importlib.import_module(mod)
    for ep in entry_points(group="muie_bench.systems"):
        obj = ep.load()
        if isinstance(obj, type) and issubclass(obj, System) and obj.kind not in _KINDS:
            register(ep.name)(obj)


def kinds() -> dict[str, type[System]]:
    _load()
    return dict(_KINDS)


def presets() -> dict[str, Preset]:
    _load()
    out = dict(_PRESETS)
    for k in _KINDS:  # every kind is also usable by its own name with default settings
        out.setdefault(k, Preset(k, k, {}, (_KINDS[k].__doc__ or "").strip().split("\n")[0]))
    return out


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` strings -> dict; values parsed as JSON when they parse, else strings."""
    import json

    out: dict[str, Any] = {}
    for p in pairs:
        if "=" not in p:
            raise UserError(f"-o {p!r}: expected key=value")
        k, v = p.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            out[k.strip()] = v
    return out


def build_system(name: str, overrides: dict[str, Any] | None = None) -> System:
    """Instantiate the preset ``name`` with ``overrides`` applied to its settings."""
    from pydantic import ValidationError

    all_presets = presets()
    if name not in all_presets:
        known = ", ".join(sorted(all_presets))
        raise UserError(f"--system {name!r}: unknown system (known: {known})")
    preset = all_presets[name]
    cls = _KINDS[preset.kind]
    settings = {**preset.settings, **(overrides or {})}
    try:
        return cls.from_settings(name, settings)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "settings"
        raise UserError(f"--system {name}: setting {loc}: {err['msg']}") from None
