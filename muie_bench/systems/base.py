"""The system interface: one instance in, one prediction out.

A *kind* is a :class:`System` subclass registered under a name
(:func:`muie_bench.systems.registry.register`). A *preset* is a named kind plus settings;
``--system NAME`` selects a preset and ``-o key=value`` overrides its settings.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

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


class System(ABC):
    """A system under evaluation.

    Lifecycle: ``kind.from_settings(name, settings)`` in the parent process, then
    :meth:`setup` once per worker (load models there, not in ``__init__``), then
    :meth:`predict` per instance. ``predict`` may raise; the runner records the error.
    """

    kind: ClassVar[str] = ""
    Settings: ClassVar[type[SystemSettings]] = SystemSettings
    #: "thread" for I/O-bound systems (HTTP), "process" for CPU-bound ones (local models)
    parallelism: ClassVar[Literal["thread", "process"]] = "thread"

    def __init__(self, name: str, settings: SystemSettings) -> None:
        self.name = name
        self.settings = settings

    @classmethod
    def from_settings(cls, name: str, settings: dict[str, Any]) -> System:
        return cls(name, cls.Settings.model_validate(settings))

    def setup(self, benchmark: Benchmark) -> None:  # noqa: B027 - optional hook
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
