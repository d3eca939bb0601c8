"""A complete MLLM backend plugin: one file, its own settings only, registered by name.

The MLLM system (prompt -> backend -> parse -> grounding invocations -> prediction) is
shared; a backend only turns a prompt into the model's raw text. From the directory that
holds this file (no install, no PYTHONPATH)::

    muie-bench run --plugin my_backend --system my-backend -b muie-synth-mini
    muie-bench run --plugin my_backend --system mllm -o backend=rules -o entity_type=PER

The ``mllm`` kind takes the MLLM system's settings (``template``, ``grounder``, ...) plus
this backend's (``entity_type``, ``invoke``), nothing else. This ``rules`` backend stands in
for a model: it answers in Reamo's output format, one ``(entity, type)`` tuple per
capitalised word run of the instance text, and (``invoke=true``) asks the grounder to
segment each entity in the image. Replace ``generate`` with a call to your model.
"""

from __future__ import annotations

import re

from pydantic import Field

from muie_bench.systems import Benchmark, Instance, add_preset
from muie_bench.systems.mllm import BackendError, BackendSettings, Generation, Prompt, register_backend

WORDS = re.compile(r"[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*")


class RulesSettings(BackendSettings):
    """This backend's own settings (``-o key=value``; an unknown key is a one-line error)."""

    entity_type: str = Field("PER", description="label of every (entity, label) tuple")
    invoke: bool = Field(False, description="add an image-segmentation invocation per entity")


@register_backend("rules", RulesSettings)
class RulesBackend:
    """Reamo-format answers made by a rule (a stand-in for a model)."""

    name = "rules"

    def __init__(self, settings: RulesSettings) -> None:
        self.settings = settings  # validated: a RulesSettings

    def setup(self) -> None:
        """Load weights / open a client here: called once per worker."""

    def components(self) -> dict[str, str]:
        """Versions the outputs depend on (part of the run's fingerprint)."""
        return {"backend": "rules", "rules": "1"}

    def generate(self, prompt: Prompt, instance: Instance, benchmark: Benchmark) -> Generation:
        """The raw text for ``prompt``; raise BackendError to fail this instance only."""
        if instance.text is None and not prompt.media:
            raise BackendError("nothing to read: no text and no media")
        names = list(dict.fromkeys(m.group() for m in WORDS.finditer(instance.text or "")))
        if not names:
            return Generation("None")  # Reamo's "nothing found" answer (not a parse failure)
        text = "".join(f"({n}, {self.settings.entity_type})" for n in names)
        if self.settings.invoke and instance.image:
            for n in names:
                text += (f"<Module>ImageSegmentation</Module><Instruction>Segment: {n}"
                         "</Instruction>")
        return Generation(text)


add_preset("my-backend", "mllm", "the rules backend behind the MLLM system (plugin example)",
           backend="rules", model="rules-v1", grounder="none")
