"""Fictional names: people, organisations, places, titles, products and events.

None of them names a real person; any resemblance is accidental. Every word is plain ASCII
letters so that eSpeak NG reports a word event at the start of each name.
"""

from __future__ import annotations

import numpy as np

from muie_bench.datagen.rng import choice

FIRST = (
    "Mara", "Dov", "Ilsa", "Teodor", "Keira", "Anselm", "Liora", "Bram", "Oona", "Caspar",
    "Nadia", "Emrys", "Sabel", "Torin", "Yelena", "Rufus", "Amara", "Lucan", "Petra", "Idris",
    "Greta", "Osric", "Noor", "Fennick", "Talia", "Jory", "Esme", "Corwin", "Ysolde", "Marek",
)
LAST = (
    "Quill", "Ellery", "Varga", "Ashdown", "Morrow", "Pellham", "Strand", "Okonde", "Halloran",
    "Brightwater", "Fenwick", "Castellan", "Dunmore", "Renwick", "Solberg", "Achterberg",
    "Kestrel", "Lindqvist", "Marsh", "Thorncroft", "Vantongeren", "Wexley", "Yardley",
)
ORG = (
    "Bluefin Analytics", "Harrow Textiles", "Corvid Robotics", "Lanternfish Press",
    "Northgate Mutual", "Saltmarsh Energy", "Tessellate Labs", "Ironbark Freight",
    "Quorum Health", "Pinewheel Games", "Amberline Rail", "Silverbeck Foods",
)
CITY = (
    "Port Averly", "Kelmarsh", "Dunhollow", "Westmere", "Calloway", "Brennick", "Ostrava Vale",
    "Lindfield", "Marrowgate", "Tamsin Bay",
)
COUNTRY = ("Veloria", "Estmark", "Norvania", "Caldris")
LOC = ("the Varrow River", "Mount Eskel", "the Gallen Hills", "Lake Sorrow", "the Tessel Coast")
FAC = ("Hallin Bridge", "the Corran Stadium", "Pelham Station", "the Ostby Library")
TITLE = ("engineer", "director", "chemist", "reporter", "architect", "economist", "curator")
MISC = ("Orbit Cup", "Lumen Festival", "Starling Awards", "Harvest Marathon", "Nova Expo")
SLOGANS = ("FAIR PAY", "SAVE THE PARK", "NO NEW TOLLS", "CLEAN AIR NOW")


def person(rng: np.random.Generator, avoid: set[str] | None = None) -> str:
    """A fictional full name not in ``avoid``."""
    avoid = avoid or set()
    for _ in range(100):
        name = f"{choice(rng, FIRST)} {choice(rng, LAST)}"
        first, last = name.split()
        if name not in avoid and not any(first in a or last in a for a in avoid):
            return name
    return name


def pick(rng: np.random.Generator, pool: tuple[str, ...], avoid: set[str] | None = None) -> str:
    """An element of ``pool`` not in ``avoid`` (falls back to any element)."""
    left = [p for p in pool if p not in (avoid or set())]
    return choice(rng, left or list(pool))
