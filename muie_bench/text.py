"""Text rules used everywhere: mention normalisation, label keys, slugs for file names.

- :func:`normalise_text`: what scoring compares when offsets cannot be (the mention key), and
  what grounding targets and answers are matched under;
- :func:`normalise_loose`: :func:`normalise_text` that also drops surrounding symbols and
  underscores (OCR words next to logos and bullets);
- :func:`label_key`: how labels are compared (case, spaces, ``_ - . / :`` ignored);
- :func:`slug` and :func:`safe_name`: file-name pieces.
"""

from __future__ import annotations

import re
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


_LOOSE_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def normalise_loose(text: str) -> str:
    """Casefold, collapse white space, strip every surrounding non-word character and ``_``."""
    return _LOOSE_EDGES.sub("", " ".join(text.casefold().split()))


def label_key(label: str) -> str:
    """Label comparison key: casefold, without white space, ``_``, ``-``, ``.``, ``/``, ``:``."""
    return re.sub(r"[\s_\-./:]+", "", label.casefold())


def slug(text: str) -> str:
    """Lower-case letters and digits joined by single ``-`` (chart file names)."""
    s = "".join(c.lower() if c.isalnum() else "-" for c in text)
    while "--" in s:
        s = s.replace("--", "-")
    return s.strip("-")


def safe_name(name: str) -> str:
    """A path component for a benchmark or system name ('/' and spaces become '_')."""
    out = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in name)
    return out.strip(".") or "_"
