"""Test-only system kinds for the runner tests (imported as a --plugin by subprocesses).

- ``test-flaky``: the oracle, but raises on instances whose id ends with one of
  ``fail_suffixes`` (and puts a lone surrogate, which JSON cannot hold, into ``raw`` on ids
  ending with one of ``surrogate_suffixes``); sleeps ``sleep`` seconds per instance;
  reports stage timings and a ``retries`` counter in its trace.
- ``test-flaky-proc``: the same with ``parallelism = "process"``; records the worker's pid.
- ``test-hang``: the oracle, but blocks ``hang`` seconds on ids ending with ``hang_suffix``.
"""

from __future__ import annotations

import os
import time
from typing import ClassVar, Literal

from pydantic import Field

from muie_bench.benchmark import Benchmark
from muie_bench.schema import Instance, Prediction
from muie_bench.systems.base import System, SystemSettings
from muie_bench.systems.registry import register


class FlakySettings(SystemSettings):
    fail_suffixes: list[str] = Field(default_factory=list)
    sleep: float = 0.0
    api_key: str = ""
    fail_setup: bool = False
    surrogate_suffixes: list[str] = Field(default_factory=list)


@register("test-flaky")
class Flaky(System[FlakySettings]):
    """Oracle that raises on chosen ids (runner tests)."""

    parallelism: ClassVar[Literal["thread", "process"]] = "thread"

    def setup(self, benchmark: Benchmark) -> None:
        if self.settings.fail_setup:
            raise OSError("model weights not found at /nowhere")
        self.setup_pid = os.getpid()

    def predict(self, instance: Instance, benchmark: Benchmark) -> Prediction:
        s = self.settings
        if s.sleep:
            time.sleep(s.sleep)
        if any(instance.id.endswith(x) for x in s.fail_suffixes):
            raise RuntimeError(f"flaky failure on {instance.id}")
        return Prediction(
            id=instance.id,
            output=instance.gold.model_copy(deep=True),
            raw="answer \ud800" if any(instance.id.endswith(x) for x in s.surrogate_suffixes)
            else None,
            trace={"timings": {"perceive": 0.25, "extract": 0.5}, "retries": 1,
                   "worker": {"pid": os.getpid(), "setup_pid": self.setup_pid}},
        )


@register("test-flaky-proc")
class FlakyProc(Flaky):
    """Flaky oracle run in worker processes."""

    parallelism: ClassVar[Literal["thread", "process"]] = "process"


class HangSettings(SystemSettings):
    hang_suffix: str = "-1"
    hang: float = 30.0


@register("test-hang")
class Hang(System[HangSettings]):
    """Oracle that blocks on chosen ids (timeout tests)."""

    def predict(self, instance: Instance, benchmark: Benchmark) -> Prediction:
        s = self.settings
        if instance.id.endswith(s.hang_suffix):
            time.sleep(s.hang)
        return Prediction(id=instance.id, output=instance.gold.model_copy(deep=True))
