"""A tiny model implementing the in-process backend contract (README "Evaluating Reamo").

``load(model_base, model_path, **options)`` reads ``model_path``: a JSON object mapping a
prompt substring to the answer. ``generate(system, prompt, media)`` returns the answer of
the first key found in the prompt, after checking that every media path exists.
"""

from __future__ import annotations

import json
from pathlib import Path


class ScriptedModel:
    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def generate(self, system: str, prompt: str, media: dict[str, str]) -> str:
        for path in media.values():
            if not Path(path).is_file():
                raise FileNotFoundError(path)
        for key, answer in self.answers.items():
            if key in prompt:
                return answer
        raise LookupError("no scripted answer for this prompt")


def load(model_base: str | None, model_path: str | None, **options: object) -> ScriptedModel:
    if model_path is None:
        raise ValueError("model_path is required")
    return ScriptedModel(json.loads(Path(model_path).read_text(encoding="utf-8")))
