"""What every MLLM backend returns, and the error it raises when it gives up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark
    from muie_bench.schema import Instance
    from muie_bench.systems.prompts import Prompt


@dataclass
class Generation:
    """The raw text of one model call and how it was obtained.

    ``retries`` counts failed attempts before the answer; ``attempts`` describes each of
    them (status, wait); ``cache_hit`` is true when the answer came from the request cache.
    """

    text: str | None
    retries: int = 0
    cache_hit: bool = False
    attempts: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


class BackendError(Exception):
    """The backend gave up on one instance (the prediction records it as an error)."""

    def __init__(self, message: str, retries: int = 0,
                 attempts: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.retries = retries
        self.attempts = attempts or []


class Backend(Protocol):
    name: str

    def setup(self) -> None:
        """Open clients / load files or models (once per worker)."""

    def generate(self, prompt: Prompt, instance: Instance, benchmark: Benchmark) -> Generation:
        """The model's raw output for ``prompt``; raises :class:`BackendError`."""

    def components(self) -> dict[str, str]:
        """Versions the outputs depend on."""
