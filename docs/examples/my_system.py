"""A complete muie-bench plugin: a system kind with its own settings, and a preset.

From the directory that holds this file (no install, no PYTHONPATH)::

    muie-bench systems --plugin my_system
    muie-bench run --plugin my_system --system my-kind -b muie-synth-mini
    muie-bench run --plugin my_system --system my-kind -o min_length=4 -o entity_type=PER

``my-kind`` tags every run of capitalised words in the instance text as an entity of one
type (``entity_type``, default: the set's first entity type) and grounds each one in the
image, when the instance has one, with a mask of the whole image: a floor to beat, and a
tour of what a kind needs (settings, ``predict``, the mask API).
"""

from __future__ import annotations

import re

import numpy as np
from pydantic import Field

from muie_bench.systems import (
    Annotation,
    Benchmark,
    Instance,
    Mention,
    Prediction,
    System,
    SystemSettings,
    add_preset,
    masks,
    register,
)

WORDS = re.compile(r"[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*")


class MySettings(SystemSettings):
    """``-o key=value`` settings of my-kind (an unknown key is a one-line error)."""

    entity_type: str | None = Field(None, description="type of every entity (default: the set's first)")
    min_length: int = Field(2, ge=1, description="shortest capitalised run kept, in characters")
    ground_image: bool = Field(True, description="ground entities in the image (whole image)")


@register("my-kind")
class MyKind(System[MySettings]):
    """Capitalised word runs as entities, grounded in the whole image (plugin example)."""

    def predict(self, instance: Instance, benchmark: Benchmark) -> Prediction:
        s = self.settings  # a MySettings: typed, validated, no isinstance needed
        spec = benchmark.manifest.set(instance.set)
        etype = s.entity_type or (spec.entity_types[0] if spec.entity_types else None)
        mask = None
        if s.ground_image and instance.image:
            h, w = benchmark.media.image_size(instance.image)
            mask = masks.encode(np.ones((h, w), dtype=bool))
        entities: list[Mention] = []
        text = instance.text or ""
        for m in WORDS.finditer(text):
            if len(m.group()) >= s.min_length:
                entities.append(Mention(id=f"e{len(entities) + 1}", type=etype, text=m.group(),
                                        span=(m.start(), m.end()), image_mask=mask))
        return Prediction(id=instance.id, output=Annotation(entities=entities))


add_preset("my-kind-text", "my-kind", "my-kind without image grounding", ground_image=False)
