"""Tolerant parsing of MLLM outputs into annotations and grounding invocations.

An output has two parts, in any order:

* **IE tuples**: ``(entity, label)`` for NER, ``(subject, relation, object)`` for RE,
  ``(event type, trigger, (role, argument), ...)`` for EE; or the same content as JSON
  (a list of tuples, or objects with keys such as ``entity``/``type``,
  ``subject``/``relation``/``object``, ``event_type``/``trigger``/``arguments``).
* **Reamo meta-responses**: ``<Module>ImageSegmentation|VideoTracking|AudioSegmentation
  </Module>`` followed by one or more ``<Instruction>prefix: target</Instruction>``. The
  tags are stripped from the text before the tuples are read.

Tolerated noise: prose around the tuples, code fences, quotes around fields, markdown
``**bold**``, ``key: value`` field prefixes, ``[...]`` around argument lists, ``;``/``|``
separators, trailing commas, label case and ``_``/``-``/space differences, reversed
``(label, entity)`` order, a truncated last tuple (dropped). Labels outside the set's
inventory drop the tuple (noted, not an error). An output with no tuple, no JSON and no
"nothing found" answer is a parse failure: the annotation is empty and ``error`` says why.

Mentions are anchored to the instance text: the first unused exact occurrence, else the
first case-insensitive one (the mention text is then the text's own spelling). For RE and
EE, a surface form names one entity mention shared by every tuple that uses it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from muie_bench.schema import Annotation, Argument, Event, Mention, Relation, SetSpec

Node = list[Any]  # a tuple: its fields, each a str or a nested Node

MODULE_MODALITY = {
    "imagesegmentation": "image",
    "videotracking": "video",
    "videosegmentation": "video",
    "audiosegmentation": "audio",
}


@dataclass(frozen=True)
class Invocation:
    """One grounding request of a meta-response.

    ``modality`` is image/video/audio from the module name, or None when the module is
    unknown or missing (the caller may infer it when the instance has one medium).
    """

    module: str
    modality: str | None
    instruction: str
    target: str


@dataclass
class ParseResult:
    annotation: Annotation
    invocations: list[Invocation] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    format: str = "empty"  # "tuples", "json" or "empty"


# --------------------------------------------------------------------------- meta-responses

_BLOCK = re.compile(
    r"<\s*(module|instruction)\s*>(.*?)"
    r"(?:<\s*/\s*\1\s*>|(?=<\s*/?\s*(?:module|instruction)\s*>)|\Z)",
    re.I | re.S,
)
_STRAY_TAG = re.compile(r"<\s*/?\s*(?:module|instruction)\s*>", re.I)
_QUOTES = "\"'“”‘’`«»"
_TARGET_VERBS = re.compile(
    r"^(?:please\s+)?(?:segment|track|locate|find|ground|outline|detect|mark)\b\s*(?:out\s+)?"
    r"(?:the\s+|a\s+|an\s+)?",
    re.I,
)


def split_meta(raw: str) -> tuple[str, list[Invocation]]:
    """The output without meta-response tags, and its invocations in order.

    An instruction belongs to the nearest module before it; an unclosed tag runs to the
    next tag or the end (truncated outputs). The target is what follows the first ``:``
    of the instruction, else the instruction without a leading verb such as "Segment the".
    """
    invocations: list[Invocation] = []
    module = ""
    for m in _BLOCK.finditer(raw):
        tag, body = m.group(1).lower(), m.group(2).strip()
        if tag == "module":
            module = body
            continue
        target = body.split(":", 1)[1] if ":" in body else _TARGET_VERBS.sub("", body)
        target = target.strip().strip(_QUOTES).strip().rstrip(".").strip().strip(_QUOTES)
        key = re.sub(r"[\s_\-]+", "", module.casefold())
        invocations.append(Invocation(module, MODULE_MODALITY.get(key), body, target))
    text = _STRAY_TAG.sub(" ", _BLOCK.sub(" ", raw))
    return text, invocations


# --------------------------------------------------------------------------- tuple scanning


def _parse_group(text: str, i: int) -> tuple[Node, int, bool]:
    """Fields of the group that starts after the ``(`` at ``i - 1``; (fields, next, closed)."""
    fields: Node = []
    buf: list[str] = []
    n = len(text)
    while i < n:
        c = text[i]
        if c in _QUOTES and not "".join(buf).strip():
            close = _closing_quote(text, i)
            if close is not None:
                buf = [text[i + 1 : close]]
                i = close + 1
                continue
        if c == "(":
            if "".join(buf).strip():  # "Apple (AAPL)": parentheses inside a field
                inner, j, closed = _parse_group(text, i + 1)
                if not closed:
                    return fields, n, False
                buf.append("(" + ", ".join(_flat(f) for f in inner) + ")")
                i = j
                continue
            inner, j, closed = _parse_group(text, i + 1)
            if not closed:
                return fields, n, False
            fields.append(inner)
            buf = []
            i = j
            continue
        if c == ")":
            fields.append("".join(buf))
            return _tidy(fields), i + 1, True
        if c == ",":
            fields.append("".join(buf))
            buf = []
        elif c not in "[]":
            buf.append(c)
        i += 1
    return fields, n, False


def _closing_quote(text: str, i: int) -> int | None:
    """Index of the quote closing the one at ``i`` when a separator follows it."""
    pairs = {"“": "”", "‘": "’", "«": "»"}
    want = pairs.get(text[i], text[i])
    j = i + 1
    while j < len(text):
        if text[j] in (want, text[i]) and re.match(r"\s*[,)\]]", text[j + 1 :]):
            return j
        if text[j] in "\n":
            return None
        j += 1
    return None


def _tidy(fields: Node) -> Node:
    """Drop empty string fields (trailing commas); merge a nested node's lone string."""
    out: Node = []
    for f in fields:
        if isinstance(f, str):
            if f.strip():
                out.append(f.strip())
        elif f:
            out.append(f)
    if len(out) == 1 and isinstance(out[0], str):
        for sep in (";", "|"):
            if sep in out[0]:
                return [p.strip() for p in out[0].split(sep) if p.strip()]
    return out


def _flat(f: Any) -> str:
    return f if isinstance(f, str) else ", ".join(_flat(x) for x in f)


def scan_tuples(text: str) -> tuple[list[Node], bool]:
    """Top-level ``(...)`` groups of ``text`` (nested groups kept); (groups, truncated)."""
    groups: list[Node] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == "(":
            node, j, closed = _parse_group(text, i + 1)
            if not closed:
                return groups, True
            if node:
                groups.append(node)
            i = j
        else:
            i += 1
    return groups, False


# --------------------------------------------------------------------------- JSON

_FENCE = re.compile(r"```[a-zA-Z]*\s*(.*?)(?:```|\Z)", re.S)
_KEYS = {
    "text": ("entity", "text", "name", "mention", "span", "word", "value", "argument", "arg"),
    "label": ("type", "label", "category", "entity_type", "class"),
    "head": ("subject", "head", "head_entity", "subj", "source", "entity1", "h"),
    "rel": ("relation", "type", "label", "predicate", "relation_type", "r"),
    "tail": ("object", "tail", "tail_entity", "obj", "target", "entity2", "t"),
    "etype": ("event_type", "type", "event", "label"),
    "trigger": ("trigger", "trigger_word", "trigger_text"),
    "args": ("arguments", "args", "roles", "argument"),
    "role": ("role", "argument_role", "name"),
    "arg": ("argument", "text", "entity", "value", "mention", "arg", "filler"),
}


def find_json(text: str) -> Any | None:
    """The first JSON object or array in ``text`` (code fences allowed), else None."""
    m = _FENCE.search(text)
    candidates = [m.group(1)] if m else []
    candidates.append(text)
    dec = json.JSONDecoder()
    for cand in candidates:
        for start in (i for i, c in enumerate(cand) if c in "[{"):
            try:
                obj, _ = dec.raw_decode(cand[start:])
            except json.JSONDecodeError:
                continue
            if isinstance(obj, (list, dict)):
                return obj
    return None


def _get(d: dict[str, Any], kind: str) -> Any:
    lower = {str(k).casefold(): v for k, v in d.items()}
    for k in _KEYS[kind]:
        if k in lower and lower[k] is not None:
            return lower[k]
    return None


def _as_text(v: Any) -> str:
    if isinstance(v, dict):
        t = _get(v, "text")
        return _as_text(t) if t is not None else ""
    if isinstance(v, list):
        return ", ".join(_as_text(x) for x in v)
    return "" if v is None else str(v)


def json_to_nodes(obj: Any, task: str) -> list[Node]:
    """JSON content as tuple nodes of ``task``: NER [text, label], RE [head, rel, tail],
    EE [type, trigger, [role, argument], ...]."""
    if isinstance(obj, dict):
        for key in {"ner": ("entities", "entity", "ner"), "re": ("relations", "triplets",
                    "triples", "relation", "re"), "ee": ("events", "event", "ee")}[task]:
            lower = {str(k).casefold(): v for k, v in obj.items()}
            if key in lower:
                return json_to_nodes(lower[key], task)
        obj = [obj]
    if not isinstance(obj, list):
        return []
    nodes: list[Node] = []
    for item in obj:
        if isinstance(item, list):
            nodes.append([x if isinstance(x, list) else _as_text(x) for x in item])
        elif isinstance(item, dict):
            if task == "ner":
                nodes.append([_as_text(_get(item, "text")), _as_text(_get(item, "label"))])
            elif task == "re":
                nodes.append([_as_text(_get(item, "head")), _as_text(_get(item, "rel")),
                              _as_text(_get(item, "tail"))])
            else:
                node: Node = [_as_text(_get(item, "etype")), _as_text(_get(item, "trigger"))]
                args = _get(item, "args") or []
                if isinstance(args, dict):
                    for role, val in args.items():
                        for v in val if isinstance(val, list) else [val]:
                            node.append([str(role), _as_text(v)])
                elif isinstance(args, list):
                    for a in args:
                        if isinstance(a, dict):
                            node.append([_as_text(_get(a, "role")), _as_text(_get(a, "arg"))])
                        elif isinstance(a, list):
                            node.append([_as_text(x) for x in a])
                nodes.append(node)
    return nodes


# --------------------------------------------------------------------------- building

_NOTHING = re.compile(
    r"^[\W_]*(?:none|nothing\b.*|no\b.*|there\s+(?:are|is)\s+no\b.*|n/?a|empty|null)?[\W_]*$",
    re.I | re.S,
)
_FIELD_KEY = re.compile(
    r"^(?:entity|entity\s+type|label|type|category|subject|object|head|tail|relation|"
    r"trigger|event(?:\s+type)?)\s*[:=]\s*(.+)$",
    re.I | re.S,
)


def norm_label(s: str) -> str:
    """Label comparison key: casefold, without spaces, ``_``, ``-``, ``.``, ``/``, ``:``."""
    return re.sub(r"[\s_\-./:]+", "", s.casefold())


def clean_field(s: str) -> str:
    """A field without surrounding space, quotes, markdown emphasis or a ``key:`` prefix."""
    s = s.strip().strip("*_").strip().strip(_QUOTES).strip()
    m = _FIELD_KEY.match(s)
    if m:
        s = m.group(1).strip().strip(_QUOTES).strip()
    return s


class _Builder:
    """Accumulates mentions anchored in the instance text."""

    def __init__(self, text: str | None) -> None:
        self.text = text
        self.entities: list[Mention] = []
        self.used: set[tuple[int, int]] = set()
        self.shared: dict[str, Mention] = {}
        self.triggers = 0

    def anchor(self, surface: str, reuse: bool = False) -> tuple[str, tuple[int, int] | None]:
        """(text, span) of ``surface``: first unused exact occurrence, else first exact one,
        else first case-insensitive one; (surface, None) when absent or without text."""
        if not self.text or not surface:
            return surface, None
        found: list[tuple[int, int]] = [
            (m.start(), m.end()) for m in re.finditer(re.escape(surface), self.text)
        ]
        if not found:
            found = [(m.start(), m.end())
                     for m in re.finditer(re.escape(surface), self.text, re.I)]
        if not found:
            return surface, None
        span = next((s for s in found if s not in self.used), found[0])
        if not reuse:
            self.used.add(span)
        return self.text[span[0] : span[1]], span

    def entity(self, surface: str, label: str | None) -> Mention:
        text, span = self.anchor(surface)
        m = Mention(id=f"e{len(self.entities) + 1}", type=label, text=text, span=span)
        self.entities.append(m)
        return m

    def shared_entity(self, surface: str, label: str | None = None) -> Mention:
        key = re.sub(r"\s+", " ", surface.casefold()).strip()
        if key not in self.shared:
            self.shared[key] = self.entity(surface, label)
        elif label is not None and self.shared[key].type is None:
            self.shared[key].type = label
        return self.shared[key]

    def trigger(self, surface: str) -> Mention:
        self.triggers += 1
        text, span = self.anchor(surface)
        return Mention(id=f"t{self.triggers}", text=text, span=span)


def _strings(node: Node) -> list[str]:
    return [clean_field(_flat(f)) for f in node]


def _inventory(labels: list[str]) -> dict[str, str]:
    return {norm_label(x): x for x in labels}


def _build_ner(nodes: list[Node], spec: SetSpec, b: _Builder, notes: list[str]) -> Annotation:
    inv = _inventory(spec.entity_types)
    for node in nodes:
        f = [x for x in _strings(node) if x]
        if len(f) < 2:
            notes.append(f"dropped tuple {_flat(node)!r}: expected (entity, label)")
            continue
        text, label = ", ".join(f[:-1]), f[-1]
        if inv and norm_label(label) not in inv and norm_label(f[0]) in inv:
            text, label = ", ".join(f[1:]), f[0]
        if inv and norm_label(label) not in inv:
            notes.append(f"dropped ({text}, {label}): label not in the inventory")
            continue
        b.entity(text, inv.get(norm_label(label), label))
    return Annotation(entities=b.entities)


_TYPED = re.compile(r"^(.*?\S)\s*\(([^()]+)\)$")


def _typed(surface: str, etypes: dict[str, str]) -> tuple[str, str | None]:
    """``"Iris Kade (PER)"`` -> ``("Iris Kade", "PER")`` when PER is an entity type of the set."""
    m = _TYPED.match(surface)
    if m and norm_label(m.group(2)) in etypes:
        return m.group(1), etypes[norm_label(m.group(2))]
    return surface, None


def _build_re(nodes: list[Node], spec: SetSpec, b: _Builder, notes: list[str]) -> Annotation:
    """Triples; an entity written ``name (TYPE)`` with TYPE in the set's entity types gets
    that type (the typed RE metric), otherwise entities are untyped."""
    inv = _inventory(spec.relation_types)
    etypes = _inventory(spec.entity_types)
    relations: list[Relation] = []
    for node in nodes:
        f = [x for x in _strings(node) if x]
        if len(f) < 3:
            notes.append(f"dropped tuple {_flat(node)!r}: expected (subject, relation, object)")
            continue
        hits = [k for k in range(len(f)) if norm_label(f[k]) in inv] if inv else [1]
        if 1 in hits:
            k = 1
        elif any(0 < h < len(f) - 1 for h in hits):
            k = next(h for h in hits if 0 < h < len(f) - 1)
        elif 0 in hits and len(f) == 3:
            f = [f[1], f[0], f[2]]
            k = 1
        else:
            notes.append(f"dropped {tuple(f)}: relation not in the inventory")
            continue
        head = b.shared_entity(*_typed(", ".join(f[:k]), etypes))
        tail = b.shared_entity(*_typed(", ".join(f[k + 1 :]), etypes))
        relations.append(Relation(type=inv.get(norm_label(f[k]), f[k]), head=head.id, tail=tail.id))
    return Annotation(entities=b.entities, relations=relations)


_EMPTY_ARG = {"", "none", "null", "n/a", "na", "-", "unknown", "[]"}


def _build_ee(nodes: list[Node], spec: SetSpec, b: _Builder, notes: list[str]) -> Annotation:
    types = _inventory(list(spec.event_types))
    events: list[Event] = []
    for node in nodes:
        head = [clean_field(f) for f in node if isinstance(f, str)]
        nested = [f for f in node if isinstance(f, list)]
        if len(head) < 2:
            notes.append(f"dropped tuple {_flat(node)!r}: expected (event type, trigger, ...)")
            continue
        etype, trigger, loose = head[0], head[1], head[2:]
        if types and norm_label(etype) not in types and norm_label(trigger) in types:
            etype, trigger = trigger, etype
        if types and norm_label(etype) not in types:
            notes.append(f"dropped event ({etype}, {trigger}): event type not in the inventory")
            continue
        canon = types.get(norm_label(etype), etype)
        roles = _inventory(spec.event_types.get(canon, []))
        pairs: list[tuple[str, str]] = []
        for a in nested:
            fs = [x for x in _strings(a) if x]
            if len(fs) >= 2:
                pairs.append((fs[0], ", ".join(fs[1:])))
        for s in loose:  # "Role: argument" fields
            if ":" in s or "=" in s:
                r, _, v = s.partition(":") if ":" in s else s.partition("=")
                pairs.append((r.strip(), v.strip().strip(_QUOTES)))
        trig = b.trigger(trigger)
        args: list[Argument] = []
        for role, arg in pairs:
            if roles and norm_label(role) not in roles and norm_label(arg) in roles:
                role, arg = arg, role
            if arg.casefold() in _EMPTY_ARG:
                continue
            if roles and norm_label(role) not in roles:
                notes.append(f"dropped argument ({role}, {arg}) of {canon}: role not in the inventory")
                continue
            m = b.shared_entity(arg)
            args.append(Argument(role=roles.get(norm_label(role), role), mention=m.id))
        events.append(Event(type=canon, trigger=trig, arguments=args))
    return Annotation(entities=b.entities, events=events)


_BUILDERS = {"ner": _build_ner, "re": _build_re, "ee": _build_ee}


_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)]|#+)?\s*")
_LINE_PAREN = re.compile(r"^(.+?)\s*\(([^()]+)\)\s*[.,;]?$")
_LINE_SEP = re.compile(r"^(.+?)\s*(?::|\s[-–—]\s|=>|->)\s*(.+?)\s*[.;]?$")


def ner_lines(body: str, spec: SetSpec) -> list[Node]:
    """NER answers written one per line without tuples: ``Name (LABEL)``, ``Name: LABEL``,
    ``Name - LABEL`` or ``LABEL: name, name``, after an optional bullet or number. Only lines
    whose label is in the set's inventory count."""
    inv = _inventory(spec.entity_types)
    nodes: list[Node] = []
    if not inv:
        return nodes
    for line in body.splitlines():
        line = _BULLET.sub("", line).strip().strip("*").strip()
        m = _LINE_PAREN.match(line) or _LINE_SEP.match(line)
        if not m:
            continue
        left, right = clean_field(m.group(1)), clean_field(m.group(2))
        if norm_label(right) in inv:
            nodes.append([left, right])
        elif norm_label(left) in inv:
            nodes.extend([clean_field(x), left] for x in right.split(",")
                         if x.strip().casefold() not in _EMPTY_ARG)
    return nodes


def parse_output(raw: str | None, task: str, spec: SetSpec, text: str | None) -> ParseResult:
    """Parse a raw model output of an instance with task ``task``, inventory ``spec`` and
    instance text ``text`` (None for media-only instances).

    Order: JSON when the answer starts as JSON; else tuples; when the tuples give nothing,
    JSON found anywhere, then (NER) one-per-line answers; an answer with none of these is
    empty when it says nothing was found, else a parse failure.
    """
    if raw is None:
        return ParseResult(Annotation(), error="no output")
    body, invocations = split_meta(raw)
    stripped = body.strip()
    nodes, truncated = scan_tuples(body)
    obj = find_json(body)
    json_nodes = json_to_nodes(obj, task) if obj is not None else None

    def build(ns: list[Node], fmt: str, notes: list[str]) -> ParseResult:
        ann = _BUILDERS[task](ns, spec, _Builder(text), notes)
        return ParseResult(ann, invocations, None, notes, fmt if ns else "empty")

    looks_json = stripped[:1] in ("[", "{") or stripped.startswith("```")
    if json_nodes is not None and looks_json and (json_nodes or not nodes):
        return build(json_nodes, "json", [])
    notes = ["output truncated: the last tuple is incomplete and was dropped"] if truncated else []
    first = build(nodes, "tuples", notes) if nodes else None
    if first is not None and not first.annotation.is_empty():
        return first
    for alt_nodes, fmt in ((json_nodes, "json"),
                           (ner_lines(body, spec) if task == "ner" else [], "lines")):
        if alt_nodes:
            alt = build(alt_nodes, fmt, [])
            if not alt.annotation.is_empty():
                return alt
    if first is not None:
        return first
    if truncated:
        return ParseResult(Annotation(), invocations, "truncated before the first complete tuple",
                           notes)
    if json_nodes is not None or _NOTHING.match(stripped):
        return ParseResult(Annotation(), invocations, None, notes, "empty")
    snippet = re.sub(r"\s+", " ", stripped)[:60]
    return ParseResult(Annotation(), invocations,
                       f"no (…) tuples or JSON found in the output: {snippet!r}", notes)
