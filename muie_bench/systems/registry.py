"""Registry of system kinds and named presets, loaded lazily by name.

Kinds register with :func:`register`; presets (a name for a kind plus settings) with
:func:`add_preset`. Built-in kinds and presets are imported by name when first asked for
(``BUILTIN_KINDS`` / ``BUILTIN_PRESETS``), so ``--system oracle`` imports no pipeline or
MLLM code. Other distributions add kinds through the entry point group
``muie_bench.systems``: each entry point, named after a kind, loads a System subclass or a
module that registers some (and may add presets). An entry point is loaded when its name
is asked for, or when every system is listed; one that fails to load is one warning line
on stderr naming its distribution, and everything else keeps working.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, TypeVar

from muie_bench.errors import UserError
from muie_bench.systems.base import System, settings_error

#: entry point group of system kinds from other distributions
ENTRY_POINT_GROUP = "muie_bench.systems"
#: built-in kinds and the module that registers each
BUILTIN_KINDS = {
    "oracle": "muie_bench.systems.reference",
    "empty": "muie_bench.systems.reference",
    "pipeline": "muie_bench.systems.pipeline.presets",
    "reamo": "muie_bench.systems.reamo",
    "openai-chat": "muie_bench.systems.openai_chat",
    "mllm": "muie_bench.systems.mllm.system",
}
#: built-in presets and the module that adds each
BUILTIN_PRESETS = {
    "pipeline-offline": "muie_bench.systems.pipeline.presets",
    "asr-spacy": "muie_bench.systems.pipeline.presets",
    "ocr-spacy": "muie_bench.systems.pipeline.presets",
    "text-spacy": "muie_bench.systems.pipeline.presets",
    "pipeline-full": "muie_bench.systems.pipeline.presets",
    "caption-spacy": "muie_bench.systems.pipeline.presets",
    "yolo-spacy": "muie_bench.systems.pipeline.presets",
    "whisper-spacy": "muie_bench.systems.pipeline.presets",
    "hfner-text": "muie_bench.systems.pipeline.presets",
    "referring-spacy": "muie_bench.systems.pipeline.presets",
    "reamo-replay": "muie_bench.systems.reamo",
    "gpt-4o": "muie_bench.systems.openai_chat",
    "gpt-4o-mini": "muie_bench.systems.openai_chat",
    **{name: "muie_bench.systems.mllm.transformers_backend" for name in (
        "llava+seem", "instructblip+seem", "video-llava+seem", "llava-next-video+seem",
        "qwen2-audio+shas")},
}

_KINDS: dict[str, type[System[Any]]] = {}
_PRESETS: dict[str, Preset] = {}
_LOADED_GROUPS: set[str] = set()  # entry point groups loaded entirely
_TRIED: set[tuple[str, str]] = set()  # (group, entry point name) already loaded or warned
K = TypeVar("K", bound=type[System[Any]])


@dataclass(frozen=True)
class Preset:
    name: str
    kind: str
    settings: dict[str, Any] = field(default_factory=dict)
    description: str = ""


def register(kind: str) -> Any:
    """Class decorator: register a System subclass under ``kind``."""

    def deco(cls: K) -> K:
        old = _KINDS.get(kind)
        if old is not None and old is not cls:
            raise UserError(f"system kind {kind!r} registered twice ({old.__module__}.{old.__name__} "
                            f"and {cls.__module__}.{cls.__name__})")
        if kind in BUILTIN_KINDS and not cls.__module__.startswith("muie_bench."):
            raise UserError(f"system kind {kind!r} is built in; register "
                            f"{cls.__module__}.{cls.__name__} under another name")
        cls.kind = kind
        _KINDS[kind] = cls
        return cls

    return deco


def add_preset(name: str, kind: str, description: str = "", **settings: Any) -> None:
    """Name ``kind`` with these settings (``--system name``); ``-o`` overrides them."""
    _PRESETS[name] = Preset(name, kind, settings, description)


# --------------------------------------------------------------------------- entry points


def _dist_name(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "an unknown distribution"
    return f"{dist.name} {dist.version}"


def _group(group: str) -> list[EntryPoint]:
    try:
        return list(entry_points(group=group))
    except Exception as e:  # a broken METADATA of some distribution
        _warn(f"cannot read the {group} entry points ({type(e).__name__}: {e}); skipped")
        return []


def _warn(message: str) -> None:
    sys.stderr.write(f"warning: {' '.join(message.split())}\n")


def entry_point_names(group: str) -> list[str]:
    """Names of the entry points in ``group`` (nothing is imported)."""
    return sorted({ep.name for ep in _group(group)})


def load_entry_points(group: str, only: str | None = None) -> None:
    """Load the entry points of ``group`` (named ``only``, or all); a failing one is one
    warning line naming its distribution, the others load."""
    if group in _LOADED_GROUPS:
        return
    for ep in _group(group):
        if (only is not None and ep.name != only) or (group, ep.name) in _TRIED:
            continue
        _TRIED.add((group, ep.name))
        try:
            obj = ep.load()
            if (group == ENTRY_POINT_GROUP and isinstance(obj, type) and issubclass(obj, System)
                    and _KINDS.get(obj.kind) is not obj):
                register(ep.name)(obj)
        except Exception as e:
            _warn(f"entry point {ep.name!r} ({ep.value}) of {_dist_name(ep)} in group {group} "
                  f"failed to load: {type(e).__name__}: {e}; skipped")
    if only is None:
        _LOADED_GROUPS.add(group)


# --------------------------------------------------------------------------- lookup


def _load_kind(kind: str) -> type[System[Any]] | None:
    if kind not in _KINDS:
        if kind in BUILTIN_KINDS:
            importlib.import_module(BUILTIN_KINDS[kind])
        else:
            load_entry_points(ENTRY_POINT_GROUP, only=kind)
    return _KINDS.get(kind)


def _load_all() -> None:
    for mod in dict.fromkeys([*BUILTIN_KINDS.values(), *BUILTIN_PRESETS.values()]):
        importlib.import_module(mod)
    load_entry_points(ENTRY_POINT_GROUP)


def kinds() -> dict[str, type[System[Any]]]:
    """Every kind: built-in and from every entry point (all are imported)."""
    _load_all()
    return dict(_KINDS)


def presets() -> dict[str, Preset]:
    """Every preset, and every kind under its own name with default settings."""
    _load_all()
    out = dict(_PRESETS)
    for k in _KINDS:
        out.setdefault(k, _kind_preset(k))
    return out


def _kind_preset(kind: str) -> Preset:
    return Preset(kind, kind, {}, (_KINDS[kind].__doc__ or "").strip().split("\n")[0])


def find_preset(name: str) -> Preset:
    """The preset (or kind) ``name``, importing only what it needs; UserError if unknown."""
    if name in BUILTIN_PRESETS and name not in _PRESETS:
        importlib.import_module(BUILTIN_PRESETS[name])
    if name in _PRESETS:
        return _PRESETS[name]
    if _load_kind(name) is not None:
        return _kind_preset(name)
    # a preset added by a module that an entry point of another name loads
    load_entry_points(ENTRY_POINT_GROUP)
    if name in _PRESETS:
        return _PRESETS[name]
    known = ", ".join(sorted(presets()))
    raise UserError(f"--system {name!r}: unknown system (known: {known})")


# --------------------------------------------------------------------------- plugins


def load_plugins(modules: list[str]) -> None:
    """Import ``--plugin`` modules (they register kinds, presets or MLLM backends).

    A name is a module importable from the current directory (which is put on
    ``sys.path``, as ``python -m`` does) or from the environment, or a ``.py`` file path.
    """
    cwd = os.getcwd()
    if modules and cwd not in sys.path:
        sys.path.insert(0, cwd)
    for mod in modules:
        name = mod
        if mod.endswith(".py"):
            path = Path(mod).resolve()
            if not path.is_file():
                raise UserError(f"--plugin {mod!r}: no such file")
            if str(path.parent) not in sys.path:
                sys.path.insert(0, str(path.parent))
            name = path.stem
        try:
            importlib.import_module(name)
        except UserError as e:
            raise UserError(f"--plugin {mod!r}: {e}") from None
        except Exception as e:  # ImportError, or any error raised by the module's code
            raise UserError(f"--plugin {mod!r}: cannot import ({type(e).__name__}: {e})") from None


# --------------------------------------------------------------------------- building


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` strings -> dict; values parsed as JSON when they parse, else strings."""
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


def build_system(name: str, overrides: dict[str, Any] | None = None) -> System[Any]:
    """Instantiate the preset ``name`` with ``overrides`` applied to its settings.

    An invalid setting is one UserError naming its dotted path (and, for an unknown key,
    the keys its section knows).
    """
    from pydantic import ValidationError

    preset = find_preset(name)
    cls = _load_kind(preset.kind)
    if cls is None:
        raise UserError(f"--system {name}: preset of unknown kind {preset.kind!r}")
    settings = {**preset.settings, **(overrides or {})}
    try:
        return cls.from_settings(name, settings)
    except ValidationError as e:  # a kind whose own from_settings lets it through
        raise UserError(f"--system {name}: {settings_error(e, None)}") from None
