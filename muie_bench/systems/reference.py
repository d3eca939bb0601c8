"""Reference systems that anchor the harness: ``oracle`` (every metric 100), ``empty`` (0)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from muie_bench.schema import Annotation, Instance, Prediction
from muie_bench.systems.base import System, SystemSettings
from muie_bench.systems.registry import register

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark


@register("oracle")
class Oracle(System[SystemSettings]):
    """Echoes the gold annotation: every metric must be 100."""

    def predict(self, instance: Instance, benchmark: Benchmark) -> Prediction:
        return Prediction(id=instance.id, output=instance.gold.model_copy(deep=True))


@register("empty")
class Empty(System[SystemSettings]):
    """Predicts nothing: every metric must be 0."""

    def predict(self, instance: Instance, benchmark: Benchmark) -> Prediction:
        return Prediction(id=instance.id, output=Annotation())
