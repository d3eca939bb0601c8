"""IE label matching: mention keys, one-to-one multiset matching, F1 counts per metric.

A mention's **boundary** is its ``[start, end)`` span when the instance has text and both
the gold and the predicted mention carry a span; otherwise its normalised surface text
(:func:`normalise_text`). Its **key** is ``(type, boundary)``.

Metric tuples (an item is counted once per occurrence; matching is one-to-one, so a
duplicate in the prediction is a false positive and one gold item is matched at most once):

======================  ======================================================  ==========
metric id               tuple                                                   per type
======================  ======================================================  ==========
``f1`` (NER)            (entity type, boundary)                                 entity type
``f1`` (RE)             (relation, head boundary, tail boundary) - strict       relation
``re_typed`` (RE)       (relation, head type, head boundary, tail type, tail    -
                        boundary)
``ti`` (EE)             (trigger boundary)                                      -
``et`` (EE)             (event type, trigger boundary)                          event type
``ai`` (EE)             (event type, argument boundary)                         -
``ea`` (EE)             (event type, role, argument boundary)                   type:role
``ea_anchored`` (EE)    (event type, trigger boundary, role, argument boundary) -
======================  ======================================================  ==========

Event arguments are matched on their boundary, not on the entity type of the filler (the
usual argument-classification convention; fillers may be untyped). ``ea`` does not tie an
argument to its trigger, so arguments exchanged between two events of the same type still
count there; ``ea_anchored`` does not count them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from muie_bench.schema import Annotation, Mention, Task

from .normalise import normalise_text

Span = tuple[int, int]
#: (span or None, normalised text) of a mention
Boundary = tuple[Span | None, str]

TASK_METRICS: dict[Task, tuple[str, ...]] = {
    "ner": ("f1",),
    "re": ("f1", "re_typed"),
    "ee": ("ti", "et", "ai", "ea", "ea_anchored"),
}
#: metrics that carry per-type counts
PER_TYPE_METRICS = ("f1", "et", "ea")


@dataclass(frozen=True)
class Item:
    """One countable tuple: exact-match label, mention boundaries, type for per-type counts.

    ``refs`` are the indices (in :meth:`Annotation.mentions` order) of the mentions whose
    groundings grounded F1 checks for this item.
    """

    label: tuple[str | None, ...]
    bounds: tuple[Boundary, ...]
    ptype: str | None = None
    refs: tuple[int, ...] = ()


def boundary(m: Mention) -> Boundary:
    """(span, normalised text) of a mention."""
    return (m.span, normalise_text(m.text))


def bounds_match(a: Boundary, b: Boundary, has_text: bool) -> bool:
    """Spans equal when the instance has text and both carry one; else normalised texts equal."""
    if has_text and a[0] is not None and b[0] is not None:
        return a[0] == b[0]
    return a[1] == b[1]


def items_match(g: Item, p: Item, has_text: bool) -> bool:
    """Labels equal and every boundary matches (:func:`bounds_match`)."""
    return g.label == p.label and all(
        bounds_match(a, b, has_text) for a, b in zip(g.bounds, p.bounds, strict=True)
    )


def _hashable_key(it: Item, use_span: bool) -> tuple[object, ...]:
    return (it.label, tuple(b[0] if use_span else b[1] for b in it.bounds))


def match(
    gold: Sequence[Item],
    pred: Sequence[Item],
    has_text: bool,
    extra: Callable[[Item, Item], bool] | None = None,
) -> Counter[str | None]:
    """Maximum one-to-one matching of predicted to gold items; true positives per ``ptype``.

    Two items may match when :func:`items_match` holds and ``extra`` (if given) accepts the
    pair. When every boundary is compared the same way (all spans, or all texts) matching is
    a multiset intersection of keys; otherwise (some mentions lack spans, or ``extra`` is
    given) a maximum bipartite matching. Sum the counter for the total.
    """
    tp: Counter[str | None] = Counter()
    if not gold or not pred:
        return tp
    if extra is None:
        all_bounds = [b for it in (*gold, *pred) for b in it.bounds]
        spans = [b[0] is not None for b in all_bounds]
        mode: bool | None = None
        if not has_text or not any(spans):
            mode = False
        elif all(spans):
            mode = True
        if mode is not None:
            gk = Counter(_hashable_key(g, mode) for g in gold)
            pk = Counter(_hashable_key(p, mode) for p in pred)
            ptype_of = {_hashable_key(g, mode): g.ptype for g in gold}
            for k, n in (gk & pk).items():
                tp[ptype_of[k]] += n
            return tp
    ok = np.zeros((len(gold), len(pred)), dtype=np.float64)
    for i, g in enumerate(gold):
        for j, p in enumerate(pred):
            if items_match(g, p, has_text) and (extra is None or extra(g, p)):
                ok[i, j] = 1.0
    if not ok.any():
        return tp
    rows, cols = linear_sum_assignment(ok, maximize=True)
    for i, j in zip(rows, cols, strict=True):
        if ok[i, j]:
            tp[gold[i].ptype] += 1
    return tp


# --------------------------------------------------------------------------- items per task


def _label_type(t: str | None) -> str:
    return t if t is not None else "(untyped)"


def task_items(ann: Annotation, task: Task) -> dict[str, list[Item]]:
    """The items of every IE metric of ``task`` in an annotation (see the module table).

    ``grounded`` holds the items grounded F1 counts: NER entities (ref: the entity), RE
    strict triples (refs: head, tail) and EE ``ea`` tuples (refs: argument, trigger).
    """
    mentions = ann.mentions()
    index = {m.id: i for i, m in enumerate(mentions)}
    ents = {m.id: m for m in ann.entities}
    out: dict[str, list[Item]] = {k: [] for k in TASK_METRICS[task]}
    if task == "ner":
        for m in ann.entities:
            out["f1"].append(Item((m.type,), (boundary(m),), _label_type(m.type), (index[m.id],)))
        out["grounded_f1"] = out["f1"]
    elif task == "re":
        for r in ann.relations:
            h, t = ents[r.head], ents[r.tail]
            bh, bt = boundary(h), boundary(t)
            refs = (index[h.id], index[t.id])
            out["f1"].append(Item((r.type,), (bh, bt), r.type, refs))
            out["re_typed"].append(Item((r.type, h.type, t.type), (bh, bt), r.type, refs))
        out["grounded_f1"] = out["f1"]
    else:
        for e in ann.events:
            bt = boundary(e.trigger)
            trig = index[e.trigger.id]
            out["ti"].append(Item((), (bt,), None, (trig,)))
            out["et"].append(Item((e.type,), (bt,), e.type, (trig,)))
            for a in e.arguments:
                arg = ents[a.mention]
                ba = boundary(arg)
                refs = (index[arg.id], trig)
                out["ai"].append(Item((e.type,), (ba,), None, refs))
                out["ea"].append(Item((e.type, a.role), (ba,), f"{e.type}:{a.role}", refs))
                out["ea_anchored"].append(Item((e.type, a.role), (bt, ba), None, refs))
        out["grounded_f1"] = out["ea"]
    return out
