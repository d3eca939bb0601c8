"""Sentence assembly with exact character spans.

``TextBuilder`` concatenates literal pieces and slot fillers; every filler added with a key
gets its ``[start, end)`` span, so ``text[start:end]`` is the filler by construction.
"""

from __future__ import annotations

import re

import numpy as np

_SLOT = re.compile(r"\{(\w+)\}")


class TextBuilder:
    def __init__(self) -> None:
        self.text = ""
        self.spans: dict[str, tuple[int, int]] = {}

    def lit(self, s: str) -> TextBuilder:
        self.text += s
        return self

    def slot(self, key: str, value: str) -> TextBuilder:
        start = len(self.text)
        self.text += value
        self.spans[key] = (start, len(self.text))
        return self

    def template(self, tmpl: str, values: dict[str, str]) -> TextBuilder:
        """Append ``tmpl``, filling ``{key}`` slots from ``values`` and recording their spans.
        A key used twice keeps the span of its first use."""
        pos = 0
        for m in _SLOT.finditer(tmpl):
            self.lit(tmpl[pos : m.start()])
            key = m.group(1)
            if key in self.spans:
                self.lit(values[key])
            else:
                self.slot(key, values[key])
            pos = m.end()
        self.lit(tmpl[pos:])
        return self


def pick_template(rng: np.random.Generator, templates: tuple[str, ...]) -> str:
    return templates[int(rng.integers(len(templates)))]
