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
``ea`` (EE)             (event type, role, argument boundary)                   type/role
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

import numpy as np

from muie_bench.schema import Annotation, Mention, Task
from muie_bench.text import normalise_text

from .lsap import linear_sum_assignment

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


class Item:
    """One countable tuple: exact-match label, mention boundaries, type for per-type counts.

    ``refs`` are the indices (in :meth:`Annotation.mentions` order) of the mentions whose
    groundings grounded F1 checks for this item. The hashable keys of both comparison
    modes and whether every / some boundary has a span are precomputed (hot path).
    """

    __slots__ = ("all_spans", "any_span", "bounds", "label", "ptype", "refs", "span_key",
                 "text_key")

    def __init__(
        self,
        label: tuple[str | None, ...],
        bounds: tuple[Boundary, ...],
        ptype: str | None = None,
        refs: tuple[int, ...] = (),
    ) -> None:
        self.label = label
        self.bounds = bounds
        self.ptype = ptype
        self.refs = refs
        spans = tuple([b[0] for b in bounds])
        self.span_key: tuple[object, ...] = (label, spans)
        self.text_key: tuple[object, ...] = (label, tuple([b[1] for b in bounds]))
        nones = spans.count(None)
        self.all_spans = nones == 0
        self.any_span = nones < len(spans)

    def __repr__(self) -> str:
        return f"Item({self.label!r}, {self.bounds!r}, {self.ptype!r}, {self.refs!r})"


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
    return it.span_key if use_span else it.text_key


def _uniform_mode(gold: Sequence[Item], pred: Sequence[Item], has_text: bool) -> bool | None:
    """True if every boundary compares by span, False if every one by text, None if mixed."""
    if not has_text:
        return False
    if all(it.all_spans for it in gold) and all(it.all_spans for it in pred):
        return True
    if not any(it.any_span for it in gold) and not any(it.any_span for it in pred):
        return False
    return None


def _bipartite(
    gold: Sequence[Item], pred: Sequence[Item], ok: Callable[[Item, Item], bool]
) -> Counter[str | None]:
    tp: Counter[str | None] = Counter()
    if len(gold) == 1 and len(pred) == 1:
        if ok(gold[0], pred[0]):
            tp[gold[0].ptype] += 1
        return tp
    m = np.array([[1.0 if ok(g, p) else 0.0 for p in pred] for g in gold]).reshape(
        len(gold), len(pred)
    )
    if not m.any():
        return tp
    rows, cols = linear_sum_assignment(m, maximize=True)
    for i, j in zip(rows, cols, strict=True):
        if m[i, j]:
            tp[gold[i].ptype] += 1
    return tp


def match(
    gold: Sequence[Item],
    pred: Sequence[Item],
    has_text: bool,
    extra: Callable[[Item, Item], bool] | None = None,
) -> Counter[str | None]:
    """Maximum one-to-one matching of predicted to gold items; true positives per ``ptype``.

    Two items may match when :func:`items_match` holds and ``extra`` (if given) accepts the
    pair. When every boundary is compared the same way (all spans, or all texts) items
    match only within groups of equal keys: without ``extra`` this is a multiset
    intersection of keys, with ``extra`` a maximum bipartite matching inside each group.
    Otherwise (some mentions lack spans) a maximum bipartite matching over all pairs.
    Sum the counter for the total.
    """
    tp: Counter[str | None] = Counter()
    if not gold or not pred:
        return tp
    mode = _uniform_mode(gold, pred, has_text)
    if mode is None:
        def ok(g: Item, p: Item) -> bool:
            return items_match(g, p, has_text) and (extra is None or extra(g, p))

        return _bipartite(gold, pred, ok)
    if extra is None:
        gk = Counter(_hashable_key(g, mode) for g in gold)
        pk = Counter(_hashable_key(p, mode) for p in pred)
        ptype_of = {_hashable_key(g, mode): g.ptype for g in gold}
        for k, n in (gk & pk).items():
            tp[ptype_of[k]] += n
        return tp
    groups: dict[tuple[object, ...], tuple[list[Item], list[Item]]] = {}
    for g in gold:
        groups.setdefault(_hashable_key(g, mode), ([], []))[0].append(g)
    for p in pred:
        grp = groups.get(_hashable_key(p, mode))
        if grp is not None:
            grp[1].append(p)
    for gs, ps in groups.values():
        if ps:
            tp.update(_bipartite(gs, ps, extra))
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
    bnd = {m.id: boundary(m) for m in mentions}
    out: dict[str, list[Item]] = {k: [] for k in TASK_METRICS[task]}
    if task == "ner":
        for m in ann.entities:
            out["f1"].append(Item((m.type,), (bnd[m.id],), _label_type(m.type), (index[m.id],)))
        out["grounded_f1"] = out["f1"]
    elif task == "re":
        for r in ann.relations:
            h, t = ents[r.head], ents[r.tail]
            bh, bt = bnd[h.id], bnd[t.id]
            refs = (index[h.id], index[t.id])
            out["f1"].append(Item((r.type,), (bh, bt), r.type, refs))
            out["re_typed"].append(Item((r.type, h.type, t.type), (bh, bt), r.type, refs))
        out["grounded_f1"] = out["f1"]
    else:
        for e in ann.events:
            bt = bnd[e.trigger.id]
            trig = index[e.trigger.id]
            out["ti"].append(Item((), (bt,), None, (trig,)))
            out["et"].append(Item((e.type,), (bt,), e.type, (trig,)))
            for a in e.arguments:
                arg = ents[a.mention]
                ba = bnd[arg.id]
                refs = (index[arg.id], trig)
                out["ai"].append(Item((e.type,), (ba,), None, refs))
                out["ea"].append(Item((e.type, a.role), (ba,), f"{e.type}/{a.role}", refs))
                out["ea_anchored"].append(Item((e.type, a.role), (bt, ba), None, refs))
        out["grounded_f1"] = out["ea"]
    return out
