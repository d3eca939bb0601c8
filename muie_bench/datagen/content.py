"""Sentence content in the style of each text source: entities, relations, events.

Each generator fills a template with fictional names (:mod:`.lexicon`) and returns a
``Content``: the text with the exact span of every slot, each entity's type and how it can
be depicted (``person`` card, ``org`` sign, ``loc`` sign, or ``None``: text only),
relations between slots and events (trigger slot, (role, slot) arguments).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from muie_bench.datagen import lexicon as lx
from muie_bench.datagen.text import TextBuilder, pick_template

Depiction = tuple[str, "str | None"]  # (entity type, depiction kind or None)


@dataclass
class Content:
    tb: TextBuilder
    ents: dict[str, tuple[str, str | None]]  # slot -> (entity type, depiction kind)
    rels: list[tuple[str, str, str]] = field(default_factory=list)
    events: list[tuple[str, str, list[tuple[str, str]]]] = field(default_factory=list)
    spoken_end: int | None = None  # speech covers text[:spoken_end] (None: all)

    @property
    def text(self) -> str:
        return self.tb.text


def _fill(rng: np.random.Generator, slots: list[str]) -> dict[str, str]:
    """Values for slot names: P* people, O* organisations, C*/G* cities, L* locations,
    F* facilities, T* titles, M* misc names, N* countries."""
    used: set[str] = set()
    out: dict[str, str] = {}
    for s in slots:
        kind = s[0]
        if kind == "P":
            v = lx.person(rng, used)
        else:
            pool = {"O": lx.ORG, "C": lx.CITY, "G": lx.CITY, "L": lx.LOC, "F": lx.FAC,
                    "T": lx.TITLE, "M": lx.MISC, "N": lx.COUNTRY}[kind]
            v = lx.pick(rng, pool, used)
        used.add(v)
        out[s] = v
    return out


def _slots(tmpl: str) -> list[str]:
    import re

    seen: list[str] = []
    for m in re.finditer(r"\{(\w+)\}", tmpl):
        if m.group(1) not in seen:
            seen.append(m.group(1))
    return seen


def _build(rng: np.random.Generator, tmpl: str, extra: dict[str, str] | None = None) -> TextBuilder:
    values = _fill(rng, [s for s in _slots(tmpl) if not (extra and s in extra)])
    values.update(extra or {})
    return TextBuilder().template(tmpl, values)


# ---------------------------------------------------------------- ACE05 (NER)
ACE_TEMPLATES = (
    "{P1}, a spokesperson for {O1}, arrived in {G1} on Tuesday.",
    "Officials from {O1} met {P1} near {F1} this morning.",
    "{P1} and {P2} hiked from {G1} to {L1} last weekend.",
    "{O1} opened a new office in {G1}, said {P1}.",
    "{P1} spoke to reporters outside {F1} in {G1}.",
    "Volunteers from {O1} cleaned the trails around {L1}.",
)
_ACE_TYPES = {"P": "PER", "O": "ORG", "G": "GPE", "L": "LOC", "F": "FAC"}


def ace_sentence(rng: np.random.Generator) -> Content:
    tb = _build(rng, pick_template(rng, ACE_TEMPLATES))
    return Content(tb, {s: (_ACE_TYPES[s[0]], None) for s in tb.spans})


# ---------------------------------------------------------------- Re-TACRED (RE)
TACRED_TEMPLATES: tuple[tuple[str, list[tuple[str, str, str]]], ...] = (
    ("{P1} works as a {T1} at {O1}.", [("per:employee_of", "P1", "O1"), ("per:title", "P1", "T1")]),
    ("{O1} was founded by {P1} in {C1}.", [("org:founded_by", "O1", "P1")]),
    ("{P1} and {P2} are married and live in {C1}.",
     [("per:spouse", "P1", "P2"), ("per:spouse", "P2", "P1"),
      ("per:cities_of_residence", "P1", "C1"), ("per:cities_of_residence", "P2", "C1")]),
    ("{O1} has opened a branch in {C1}.", [("org:city_of_branch", "O1", "C1")]),
    ("{P1}, the chief executive of {O1}, visited {C1} on Friday.",
     [("org:top_members/employees", "O1", "P1"), ("per:employee_of", "P1", "O1")]),
    ("{P1} was born in {C1} and later moved to {C2}.",
     [("per:city_of_birth", "P1", "C1"), ("per:cities_of_residence", "P1", "C2")]),
)
_TACRED_TYPES = {"P": "PERSON", "O": "ORGANIZATION", "C": "CITY", "T": "TITLE"}


def tacred_sentence(rng: np.random.Generator) -> Content:
    tmpl, rels = TACRED_TEMPLATES[int(rng.integers(len(TACRED_TEMPLATES)))]
    tb = _build(rng, tmpl)
    return Content(tb, {s: (_TACRED_TYPES[s[0]], None) for s in tb.spans}, rels=list(rels))


# ---------------------------------------------------------------- Twitter-2017 (NER)
TWEET_TEMPLATES = (
    "Great to see {P1} at the {M1} in {L1} today!",
    "{O1} just announced a new store in {L1}. Congrats {P1}!",
    "RT {P1}: fans of {O1} are lining up in {L1} for the {M1}",
    "So proud of {P1} and the whole {O1} team tonight",
    "Sunset over {L1} after the {M1}. Thanks {P1} for the photo!",
)
_TW_TYPES: dict[str, Depiction] = {"P": ("PER", "person"), "O": ("ORG", "org"), "L": ("LOC", "loc"),
             "M": ("MISC", None)}


def tweet(rng: np.random.Generator, hashtag: bool = False) -> Content:
    """A tweet; with ``hashtag`` a trailing text-only #Hashtag (MISC) is appended and the
    spoken part ends before it."""
    tmpl = pick_template(rng, TWEET_TEMPLATES)
    values = _fill(rng, _slots(tmpl))
    # Twitter-2017 locations are plain names: use cities and named places
    for s in values:
        if s[0] == "L":
            values[s] = lx.pick(rng, lx.CITY + tuple(x for x in lx.LOC if not x.startswith("the ")))
    tb = TextBuilder().template(tmpl, values)
    ents = {s: _TW_TYPES[s[0]] for s in tb.spans}
    spoken_end = None
    if hashtag:
        spoken_end = len(tb.text)
        tag = "#" + lx.pick(rng, lx.MISC, set(values.values())).replace(" ", "")
        tb.lit(" ").slot("M9", tag)
        ents["M9"] = ("MISC", None)
    return Content(tb, ents, spoken_end=spoken_end)


# ---------------------------------------------------------------- MNRE (RE)
MNRE_TEMPLATES: tuple[tuple[str, list[tuple[str, str, str]]], ...] = (
    ("{P1} joined {O1} as a member last year.", [("/per/org/member_of", "P1", "O1")]),
    ("{P1} and {P2} trained side by side before the final.", [("/per/per/peer", "P1", "P2")]),
    ("{P1} celebrated the anniversary with her partner {P2}.", [("/per/per/couple", "P1", "P2")]),
    ("{P1} now lives in {L1} with two dogs.", [("/per/loc/place_of_residence", "P1", "L1")]),
    ("{O1} is headquartered in {L1}.", [("/org/loc/locate_at", "O1", "L1")]),
    ("{O1} became a subsidiary of {O2} in March.", [("/org/org/subsidiary", "O1", "O2")]),
)
_MNRE_TYPES: dict[str, Depiction] = {"P": ("PER", "person"), "O": ("ORG", "org"), "L": ("LOC", "loc")}


def mnre_sentence(rng: np.random.Generator) -> Content:
    tmpl, rels = MNRE_TEMPLATES[int(rng.integers(len(MNRE_TEMPLATES)))]
    values = _fill(rng, [s.replace("L", "C") for s in _slots(tmpl)])
    values = {k.replace("C", "L") if k.startswith("C") else k: v for k, v in values.items()}
    tb = TextBuilder().template(tmpl, values)
    return Content(tb, {s: _MNRE_TYPES[s[0]] for s in tb.spans}, rels=list(rels))


# ---------------------------------------------------------------- M2E2 (EE)
M2E2_TEMPLATES: tuple[tuple[str, str, str, list[tuple[str, str]]], ...] = (
    ("{P1} met {P2} in {G1} on Monday.", "Contact:Meet", "met",
     [("Entity", "P1"), ("Entity", "P2"), ("Place", "G1")]),
    ("{P1} and {P2} met with officials from {O1}.", "Contact:Meet", "met",
     [("Entity", "P1"), ("Entity", "P2"), ("Entity", "O1")]),
    ("{P1} traveled from {G1} to {G2} for the talks.", "Movement:Transport", "traveled",
     [("Artifact", "P1"), ("Origin", "G1"), ("Destination", "G2")]),
    ("{P1} arrived in {G1} late on Sunday.", "Movement:Transport", "arrived",
     [("Artifact", "P1"), ("Destination", "G1")]),
    ("{P1} and {P2} protested outside the offices of {O1} in {G1}.", "Conflict:Demonstrate",
     "protested", [("Entity", "P1"), ("Entity", "P2"), ("Place", "G1")]),
    ("{P1} marched with supporters through {G1}.", "Conflict:Demonstrate", "marched",
     [("Entity", "P1"), ("Place", "G1")]),
)
_M2E2_TYPES: dict[str, Depiction] = {"P": ("PER", "person"), "O": ("ORG", "org"), "G": ("GPE", "loc")}


def m2e2_sentence(rng: np.random.Generator) -> Content:
    tmpl, etype, trig, args = M2E2_TEMPLATES[int(rng.integers(len(M2E2_TEMPLATES)))]
    tmpl = tmpl.replace(trig, "{TRIG}", 1)
    tb = _build(rng, tmpl, {"TRIG": trig})
    ents = {s: _M2E2_TYPES[s[0]] for s in tb.spans if s != "TRIG"}
    return Content(tb, ents, events=[(etype, "TRIG", list(args))])
