"""The system interface: one instance in, one prediction out.

A *kind* is a :class:`System` subclass registered under a name
(:func:`muie_bench.systems.registry.register`). A *preset* is a named kind plus settings;
``--system NAME`` selects a preset and ``-o key=value`` overrides its settings
(``-o a.b.c=v`` sets a field of a nested section).

A kind is generic in its settings model: ``class MyKind(System[MySettings])`` makes
``self.settings`` a ``MySettings`` (validated from the preset and ``-o`` overrides) and sets
``MyKind.Settings = MySettings``; ``class MyKind(System[SystemSettings])`` takes no settings.
"""

from __future__ import annotations

import hashlib
import json
import typing
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

from muie_bench.errors import UserError
from muie_bench.schema import Instance, Prediction

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark

class SystemSettings(BaseModel):
    """Base of every kind's settings; unknown keys are an error (typos must not pass)."""

    model_config = ConfigDict(extra="forbid")

    def public(self) -> dict[str, Any]:
        """Settings safe to write to run.json: fields named like secrets are dropped and the
        credentials of URLs in any string (nested ones too) are masked
        (``http://user:pw@host`` becomes ``http://***@host``)."""
        from muie_bench.provenance import is_secret_name, mask_url_credentials

        def clean(v: Any) -> Any:
            if isinstance(v, str):
                return mask_url_credentials(v)
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            return v

        return {k: clean(v) for k, v in self.model_dump(mode="json").items()
                if not is_secret_name(k)}


class NestedSettings(BaseModel):
    """A nested settings section (a component's settings inside a kind's settings).

    Unknown keys are an error. Serialised (``public()``, run.json, the fingerprint), a
    section holds only the keys that were set (by the preset or ``-o``), not its defaults:
    the defaults are the code's, which the components' versions identify.
    """

    model_config = ConfigDict(extra="forbid")

    @model_serializer(mode="wrap")
    def _only_set(self, handler: SerializerFunctionWrapHandler,
                  info: SerializationInfo) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if k in self.model_fields_set}


S = TypeVar("S", bound=SystemSettings)


class System(ABC, Generic[S]):
    """A system under evaluation.

    Lifecycle: ``kind.from_settings(name, settings)`` in the parent process, then
    :meth:`setup` once per worker (load models there, not in ``__init__``), then
    :meth:`predict` per instance. ``predict`` may raise; the runner records the error.
    """

    kind: ClassVar[str] = ""
    #: the settings model; set from the generic argument (``System[MySettings]``)
    Settings: ClassVar[type[SystemSettings]] = SystemSettings
    #: "thread" for I/O-bound systems (HTTP), "process" for CPU-bound ones (local models)
    parallelism: ClassVar[Literal["thread", "process"]] = "thread"

    def __init__(self, name: str, settings: S) -> None:
        self.name = name
        self.settings: S = settings

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Settings" in cls.__dict__:
            return
        for base in getattr(cls, "__orig_bases__", ()):
            if typing.get_origin(base) is not None and issubclass(typing.get_origin(base), System):
                (arg,) = typing.get_args(base)
                if isinstance(arg, TypeVar):  # a generic subclass: its bound
                    arg = arg.__bound__
                if isinstance(arg, type) and issubclass(arg, SystemSettings):
                    cls.Settings = arg

    @classmethod
    def from_settings(cls, name: str, settings: dict[str, Any]) -> System[Any]:
        """The system ``name`` with ``settings`` validated by :attr:`Settings` (dotted keys
        nest: ``{"a.b": 1}`` is ``{"a": {"b": 1}}``); an invalid one is a UserError."""
        # Settings is the S of this subclass (set from its generic argument)
        return cls(name, validate_settings(name, cls.Settings, settings))  # type: ignore[arg-type]

    def setup(self, benchmark: Benchmark) -> None:
        """Load models / open clients. Called once per worker before the first predict."""

    @abstractmethod
    def predict(self, instance: Instance, benchmark: Benchmark) -> Prediction:
        """Predict one instance; media are read through ``benchmark.media``."""

    def components(self) -> dict[str, str]:
        """Versions of the components the outputs depend on (models, packages, prompts)."""
        return {}

    def fingerprint(self) -> str:
        """sha256 (first 16 hex) of kind, public settings and component versions."""
        blob = json.dumps(
            {"kind": self.kind, "settings": self.settings.public(), "components": self.components()},
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


M = TypeVar("M", bound=BaseModel)


def validate_settings(name: str, model: type[M], settings: dict[str, Any]) -> M:
    """``settings`` (dotted keys allowed) as ``model``; one UserError line when invalid."""
    try:
        return model.model_validate(nest_dotted(settings))
    except ValidationError as e:
        raise UserError(f"--system {name}: {settings_error(e, model)}") from None


def settings_error(e: ValidationError, model: type[BaseModel] | None) -> str:
    """The first error of ``e`` as ``setting a.b.c: message``; an unknown key also lists
    the keys its section knows."""
    err = e.errors()[0]
    loc = ".".join(str(x) for x in err["loc"]) or "settings"
    if err["type"] == "extra_forbidden":
        known = _known_keys(model, err["loc"][:-1])
        where = ".".join(str(x) for x in err["loc"][:-1])
        if known:
            more = f" (known{' in ' + where if where else ''}: {', '.join(known)})"
        else:
            more = f" ({where or 'this kind'} takes no settings)"
        return f"setting {loc}: unknown setting{more}"
    return f"setting {loc}: {err['msg']}"


def _known_keys(model: type[BaseModel] | None, section: tuple[Any, ...]) -> list[str]:
    """Field names of the settings model at ``section`` (a path of field names) under ``model``."""
    for part in section:
        if model is None:
            return []
        ann = getattr(model.model_fields.get(str(part)), "annotation", None)
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return sorted(model.model_fields) if model is not None else []


def nest_dotted(settings: dict[str, Any]) -> dict[str, Any]:
    """``{"grounder.asr.model": v}`` -> ``{"grounder": {"asr": {"model": v}}}``.

    Only top-level keys are split at dots (keys inside dict values are kept as they are);
    sections are merged deeply, a later key winning over an earlier one.
    """
    out: dict[str, Any] = {}
    for key, value in settings.items():
        *path, last = key.split(".")
        cur = out
        for p in path:
            nxt = cur.get(p)
            cur[p] = nxt = dict(nxt) if isinstance(nxt, dict) else {}
            cur = nxt
        cur[last] = _merge(cur.get(last), value)
    return out


def _merge(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **{k: _merge(old.get(k), v) for k, v in new.items()}}
    return new
