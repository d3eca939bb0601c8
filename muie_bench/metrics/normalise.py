"""Surface-text normalisation used by mention keys when offsets cannot be compared."""

from __future__ import annotations

import unicodedata
from functools import lru_cache


def _is_edge_junk(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch).startswith("P")


@lru_cache(maxsize=65536)
def normalise_text(text: str) -> str:
    """Casefold, collapse runs of white space to one space, strip surrounding punctuation.

    Punctuation is every Unicode ``P*`` category character; inner punctuation is kept
    (``"U.S."`` -> ``"u.s"``, ``" New  York, "`` -> ``"new york"``). Empty input gives ``""``.
    """
    s = " ".join(text.casefold().split())
    start, end = 0, len(s)
    while start < end and _is_edge_junk(s[start]):
        start += 1
    while end > start and _is_edge_junk(s[end - 1]):
        end -= 1
    return s[start:end]
