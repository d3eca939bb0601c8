"""Spatial relations between grounded image regions (VRD-style labels) from their boxes.

For an ordered pair (a, b) of boxes: overlapping boxes -> ``on`` / ``in_the_front_of`` (depth
order is unknown, a is guessed in front); otherwise the dominant axis of their centre offset
decides: horizontal -> ``left_of`` / ``right_of`` (also ``on_the_left_of`` ...); vertical ->
``above`` / ``below``, or ``on`` when a sits on b (a's bottom within ``touch`` of b's top
edge, overlapping horizontally). Only
labels in the set's relation inventory are produced (matched case-insensitively with ``_``,
``-`` and spaces equivalent); ``next_to`` / ``near`` are the fallback when the boxes are
within one box width of each other.
"""

from __future__ import annotations

from muie_bench.systems.pipeline.common import Box


def _key(label: str) -> str:
    return label.casefold().replace("-", "_").replace(" ", "_")


def spatial_relation(a: Box, b: Box, inventory: list[str], touch: float = 0.15) -> str | None:
    """The inventory label relating box ``a`` to box ``b``, or None."""
    inv = {_key(r): r for r in inventory}
    ax, ay = (a[0] + a[2]) / 2, (a[1] + a[3]) / 2
    bx, by = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    dx, dy = bx - ax, by - ay
    cands: list[str] = []
    bh = b[3] - b[1]
    overlap_x = min(a[2], b[2]) - max(a[0], b[0]) > 0
    overlap_y = min(a[3], b[3]) - max(a[1], b[1]) > 0
    if overlap_x and overlap_y:
        cands += ["on", "in_the_front_of", "in_front_of", "front"]
    elif overlap_x and abs(a[3] - b[1]) <= touch * max(bh, 1.0) + 0.1 * (a[3] - a[1]):
        cands.append("on")
    if abs(dx) >= abs(dy):
        cands += (["left_of", "on_the_left_of", "to_the_left_of"] if dx > 0
                  else ["right_of", "on_the_right_of", "to_the_right_of"])
    else:
        cands += ["above", "over", "on"] if dy > 0 else ["below", "under", "beneath"]
    width = max(a[2] - a[0], b[2] - b[0])
    if abs(dx) < 2 * width:
        cands += ["next_to", "near", "beside"]
    return next((inv[c] for c in cands if c in inv), None)
