"""Grounded F1: an IE match counts only when its mentions are also grounded well enough.

A predicted item (see :mod:`muie_bench.metrics.ie`) counts as a true positive when it
matches a gold item by key **and**, for every mention the item refers to, each media
grounding (image mask, audio spans, video track) that the *gold* mention carries has
IoU >= tau with the corresponding predicted mention's grounding in that modality. A
predicted mention without a grounding there counts as an empty region (IoU 0 unless the
gold region is empty too). Text spans are already part of the key.

Which mentions an item refers to:

- NER: the entity;
- RE: the head **and** the tail (the strict triple);
- EE: the ``ea`` tuple (event type, role, argument) - the argument **and** the trigger of
  its event; the trigger's groundings are checked only when the gold trigger carries any
  (triggers are usually grounded only in audio).

Matching is maximum one-to-one under both conditions, so a prediction whose grounding
fails cannot take a gold item away from one whose grounding passes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from muie_bench.schema import Mention, Modality

from .grounding import ModalityGrounding
from .ie import Item, match


def grounded_match(
    gold_items: Sequence[Item],
    pred_items: Sequence[Item],
    gold_mentions: Sequence[Mention],
    grounding: dict[Modality, ModalityGrounding],
    has_text: bool,
    tau: float,
) -> Counter[str | None]:
    """True positives per type of grounded F1 (the definition in the module docstring).

    ``tau`` is the IoU threshold (>=); ``grounding`` holds the instance's IoU matrices
    from :func:`muie_bench.metrics.grounding.ground_instance`.
    """
    needs = {
        r: gold_mentions[r].grounded_modalities() for it in gold_items for r in it.refs
    }
    if not any(needs.values()):
        return match(gold_items, pred_items, has_text)

    def grounded(g: Item, p: Item) -> bool:
        for gr, pr in zip(g.refs, p.refs, strict=True):
            for mod in needs[gr]:
                if grounding[mod].pair_iou(gr, pr) < tau:
                    return False
        return True

    return match(gold_items, pred_items, has_text, extra=grounded)
