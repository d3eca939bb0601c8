"""Tolerant parsing of MLLM outputs into annotations and grounding invocations.

An output has two parts, in any order:

* **IE tuples**: ``(entity, label)`` for NER, ``(subject, relation, object)`` for RE,
  ``(event type, trigger, (role, argument), ...)`` for EE; or the same content as JSON
  (a list of tuples, or objects with keys such as ``entity``/``type``,
  ``subject``/``relation``/``object``, ``event_type``/``trigger``/``arguments``).
* **Reamo meta-responses**: ``<Module>ImageSegmentation|VideoTracking|AudioSegmentation
  </Module>`` followed by one or more ``<Instruction>prefix: target</Instruction>``. The
  tags are stripped from the text before the tuples are read.

* **``<concept>``** after a mention (Reamo's ACL version): grounding of that mention in
  every medium of the set.

Tolerated noise: prose around the tuples, step-by-step reasoning before an answer marker,
``<think>`` blocks, special tokens (``UIE``, ``</s>``, ``<image>``, ...), code fences, quotes
around fields, markdown ``**bold**``, ``key: value`` field prefixes, key-value event tuples
``(Type: X, Trigger: Y, Role: argument)`` with any role name, ``[...]`` around argument lists,
``;``/``|`` separators, trailing commas, reversed ``(label, entity)`` order, a truncated last
tuple (dropped). Labels are mapped to the inventory by :class:`LabelMap` (raw label, natural
name, close variant); a label that maps to nothing drops the tuple (not an error). Whatever
is dropped, stripped or mapped is noted in ``notes``. An output with no tuple, no JSON and no
"nothing found" answer is a parse failure: the annotation is empty and ``error`` says why.

Mentions are anchored to the instance text: whole-word occurrences first (exact case, then
any case), then occurrences inside a word (noted); within a kind, the first unused one (the
mention text is the text's own spelling). For RE and EE, a surface form names one entity
mention shared by every tuple that uses it.
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
    text, invocations, _ = split_meta_noted(raw)
    return text, invocations


_TUPLE_INSIDE = re.compile(r"\([^()]*,[^()]*\)")


def split_meta_noted(raw: str) -> tuple[str, list[Invocation], list[str]]:
    """:func:`split_meta` plus notes on what was stripped without grounding anything: a
    module without an instruction, stray tags, and an ``<Instruction>`` tag outside any
    meta-response (no module before it) around tuples, whose text is kept as answer text."""
    invocations: list[Invocation] = []
    notes: list[str] = []
    module = ""
    idle_module: str | None = None  # the last module, while no instruction followed it
    pieces: list[str] = []
    last = 0
    for m in _BLOCK.finditer(raw):
        pieces.append(raw[last : m.start()])
        last = m.end()
        tag, body = m.group(1).lower(), m.group(2).strip()
        if tag == "module":
            if idle_module is not None:
                notes.append(f"<Module>{idle_module}</Module> has no <Instruction>: nothing grounded")
            module = idle_module = body
            pieces.append(" ")
            continue
        if not module and _TUPLE_INSIDE.search(body):
            notes.append("stripped an <Instruction> tag outside any meta-response (its text is read "
                         "as the answer)")
            pieces.append(f" {body} ")
            continue
        idle_module = None
        target = body.split(":", 1)[1] if ":" in body else _TARGET_VERBS.sub("", body)
        target = target.strip().strip(_QUOTES).strip().rstrip(".").strip().strip(_QUOTES)
        key = re.sub(r"[\s_\-]+", "", module.casefold())
        invocations.append(Invocation(module, MODULE_MODALITY.get(key), body, target))
        pieces.append(" ")
    pieces.append(raw[last:])
    if idle_module is not None:
        notes.append(f"<Module>{idle_module}</Module> has no <Instruction>: nothing grounded")
    text = "".join(pieces)
    strays = [" ".join(t.split()) for t in _STRAY_TAG.findall(text)]
    if strays:
        notes.append(f"stripped stray tag(s) {', '.join(sorted(set(strays)))}")
    return _STRAY_TAG.sub(" ", text), invocations, notes


# --------------------------------------------------------------------------- special tokens

_CONCEPT = re.compile(r"<\s*concept\s*>", re.I)
_CONCEPT_CUT = re.compile(r"[()\[\],;:|\n]")
_SPECIAL = re.compile(
    r"<\|[^<>|\n]{1,40}\|>|<\s*/?\s*[A-Za-z][\w\-]{0,30}\s*/?\s*>|\[/?INST\]|\bUIE\b"
)
_THINK = re.compile(r"<\s*think\s*>.*?(?:<\s*/\s*think\s*>|\Z)", re.I | re.S)


def split_concepts(text: str, media: list[str]) -> tuple[str, list[Invocation], list[str]]:
    """The text without ``<concept>`` tokens, and one invocation per medium in ``media`` for
    the mention each token follows (Reamo's ACL-version grounding request: ``Trump <concept>``).

    The mention is the text between the token and the nearest ``(``, ``,``, ``:``, ``;``,
    ``[``, ``|`` or line break before it. A token with no mention before it, or in an
    instance without media, grounds nothing (noted).
    """
    invocations: list[Invocation] = []
    notes: list[str] = []
    last = 0
    for m in _CONCEPT.finditer(text):
        before = text[last : m.start()]
        last = m.end()
        target = _CONCEPT_CUT.split(_SPECIAL.sub(" ", before))[-1]
        target = target.strip().strip("*_").strip().strip(_QUOTES).strip()
        if not target:
            notes.append("<concept> with no mention before it: nothing grounded")
            continue
        if not media:
            notes.append(f"<concept> after {target!r}: the instance has no image, video or audio")
            continue
        for medium in media:
            invocations.append(Invocation("<concept>", medium, f"{target} <concept>", target))
    return _CONCEPT.sub(" ", text), invocations, notes


def strip_special(text: str) -> tuple[str, list[str]]:
    """The text without ``<think>`` blocks and special tokens the answer format has no use
    for (``UIE``, ``<image>``, ``</s>``, ``<|im_end|>``, ``[INST]``, ...), and a note naming them."""
    notes: list[str] = []
    thinks = _THINK.findall(text)
    if thinks:
        text = _THINK.sub(" ", text)
        notes.append(f"skipped {len(thinks)} <think> block(s) ({sum(map(len, thinks))} characters)")
    found: dict[str, int] = {}
    for t in _SPECIAL.findall(text):
        key = " ".join(t.split())
        found[key] = found.get(key, 0) + 1
    if found:
        listed = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in found.items())
        notes.append(f"stripped special token(s) {listed}")
        text = _SPECIAL.sub(" ", text)
    return text, notes


_ANSWER_MARK = re.compile(
    r"(?:^|\n)[ \t*#>-]*(?:the\s+)?(?:final\s+)?(?:answer|output|result|extraction|tuples?)s?"
    r"[ \t*]*[:：]|\b(?:therefore|thus|so|hence)\s*,?\s+(?:the\s+)?(?:final\s+)?"
    r"(?:answer|output|result|tuples?)s?\s+(?:is|are)\s*:?",
    re.I,
)


def skip_reasoning(text: str) -> tuple[str, list[str]]:
    """The answer part of a step-by-step output: what follows the last answer marker
    ("Answer:", "Output:", "Therefore, the answer is") when tuples follow it; the skipped
    prose is noted. Without a marker the whole text is kept."""
    marks = list(_ANSWER_MARK.finditer(text))
    for m in reversed(marks):
        rest = text[m.end() :]
        if "(" in rest or "[" in rest or "{" in rest:
            skipped = text[: m.start()].strip()
            if skipped:
                return rest, [f"skipped {len(skipped)} characters of reasoning before "
                              f"{' '.join(m.group(0).split())!r}"]
            return rest, []
    return text, []


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
    r"^(?:entity(?:\s+type)?|label|type|category|(?:subject|object|head|tail)(?:\s+entity)?|"
    r"relation(?:\s+type)?|trigger|event(?:\s+type)?)\s*[:=]\s*(.+)$",
    re.I | re.S,
)


def norm_label(s: str) -> str:
    """Label comparison key: casefold, without spaces, ``_``, ``-``, ``.``, ``/``, ``:``."""
    return re.sub(r"[\s_\-./:]+", "", s.casefold())


def plain_field(s: str) -> str:
    """A field without surrounding space, quotes or markdown emphasis."""
    return s.strip().strip("*_").strip().strip(_QUOTES).strip()


def clean_field(s: str) -> str:
    """A field without surrounding space, quotes, markdown emphasis or a ``key:`` prefix."""
    s = plain_field(s)
    m = _FIELD_KEY.match(s)
    if m:
        s = m.group(1).strip().strip(_QUOTES).strip()
    return s


def _singular(k: str) -> str:
    if len(k) > 4 and k.endswith("ies"):
        return k[:-3] + "y"
    if len(k) > 3 and k.endswith("s") and not k.endswith("ss"):
        return k[:-1]
    return k


class LabelMap:
    """Maps a label as an answer writes it to one label of an inventory.

    In order: the raw label (compared by :func:`norm_label`), its natural name from the
    manifest's ``label_names``, a close variant (the last ``/`` or ``:`` segment of the raw
    label, a singular or plural form), and, with ``fuzzy``, the raw label or name most similar
    to the answer's (difflib ratio >= 0.85, both at least 5 characters, one best). A key that
    names two labels maps to none. Every mapping other than the raw label is recorded in
    ``notes`` once (``label 'peer' -> '/per/per/peer' (name)``).
    """

    def __init__(self, labels: list[str], names: dict[str, str], notes: list[str] | None = None,
                 what: str = "label") -> None:
        self.labels = list(labels)
        self.exact = {norm_label(x): x for x in labels}
        self.notes = notes if notes is not None else []
        self.what = what
        self.named: dict[str, set[str]] = {}
        self.variants: dict[str, set[str]] = {}
        for x in labels:
            name = names.get(x)
            if name:
                self.named.setdefault(norm_label(name), set()).add(x)
            forms = {norm_label(x), norm_label(re.split(r"[/:]", x.strip("/:"))[-1])}
            if name:
                forms.add(norm_label(name))
            for f in forms | {_singular(f) for f in forms}:
                if f:
                    self.variants.setdefault(f, set()).add(x)

    def __bool__(self) -> bool:
        return bool(self.labels)

    def resolve(self, s: str, fuzzy: bool = True) -> str | None:
        """The inventory label ``s`` stands for, or None."""
        k = norm_label(s)
        if not k:
            return None
        if k in self.exact:
            return self.exact[k]
        how, hit = "name", self.named.get(k, set())
        if len(hit) != 1:
            how, hit = "variant", self.variants.get(k, set()) or self.variants.get(_singular(k), set())
        if len(hit) != 1 and fuzzy and len(k) >= 5:
            how, hit = "close spelling", self._closest(k)
        if len(hit) != 1:
            return None
        label = next(iter(hit))
        note = f"{self.what} {s!r} -> {label!r} ({how})"
        if note not in self.notes:
            self.notes.append(note)
        return label

    def _closest(self, k: str) -> set[str]:
        from difflib import SequenceMatcher

        keys = {**{n: ls for n, ls in self.named.items()}, **{e: {x} for e, x in self.exact.items()}}
        scored = [(SequenceMatcher(None, k, key).ratio(), labels) for key, labels in keys.items()
                  if len(key) >= 5]
        if not scored:
            return set()
        best = max(r for r, _ in scored)
        hits = set().union(*(ls for r, ls in scored if r == best))
        return hits if best >= 0.85 else set()


def _word_re(surface: str, flags: int = 0) -> re.Pattern[str]:
    """``surface`` as a whole word: no letter or digit right before or after it."""
    pre = r"(?<!\w)" if re.match(r"\w", surface) else ""
    post = r"(?!\w)" if re.search(r"\w$", surface) else ""
    return re.compile(pre + re.escape(surface) + post, flags)


class _Builder:
    """Accumulates mentions anchored in the instance text."""

    def __init__(self, text: str | None, notes: list[str]) -> None:
        self.text = text
        self.notes = notes
        self.entities: list[Mention] = []
        self.used: set[tuple[int, int]] = set()
        self.shared: dict[str, Mention] = {}
        self.triggers = 0

    def anchor(self, surface: str, reuse: bool = False) -> tuple[str, tuple[int, int] | None]:
        """(text, span) of ``surface``, from the first of: whole-word exact occurrences,
        whole-word case-insensitive ones, exact ones inside a word, case-insensitive ones
        inside a word (noted); within that kind, the first unused occurrence, else the first.
        (surface, None) when absent or without text."""
        if not self.text or not surface:
            return surface, None
        kinds = (_word_re(surface), _word_re(surface, re.I),
                 re.compile(re.escape(surface)), re.compile(re.escape(surface), re.I))
        level, found = 0, []
        for level, pat in enumerate(kinds):  # noqa: B007 (level is read after the loop)
            found = [(m.start(), m.end()) for m in pat.finditer(self.text)]
            if found:
                break
        if not found:
            return surface, None
        span = next((s for s in found if s not in self.used), found[0])
        if not reuse:
            self.used.add(span)
        text = self.text[span[0] : span[1]]
        if level >= 2:
            lo, hi = span
            while lo > 0 and self.text[lo - 1].isalnum():
                lo -= 1
            while hi < len(self.text) and self.text[hi].isalnum():
                hi += 1
            self.notes.append(f"anchored {surface!r} inside the word {self.text[lo:hi]!r} at "
                              f"{span[0]} (no whole-word occurrence)")
        return text, span

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


def _build_ner(nodes: list[Node], spec: SetSpec, b: _Builder, notes: list[str]) -> Annotation:
    inv = LabelMap(spec.entity_types, spec.label_names, notes, "entity type")
    for node in nodes:
        f = [x for x in _strings(node) if x]
        if len(f) < 2:
            notes.append(f"dropped tuple {_flat(node)!r}: expected (entity, label)")
            continue
        text, label = ", ".join(f[:-1]), f[-1]
        if inv and inv.resolve(label, fuzzy=False) is None and inv.resolve(f[0], fuzzy=False):
            text, label = ", ".join(f[1:]), f[0]
        canon = inv.resolve(label) if inv else label
        if canon is None:
            notes.append(f"dropped ({text}, {label}): label not in the inventory")
            continue
        b.entity(text, canon)
    return Annotation(entities=b.entities)


_TYPED = re.compile(r"^(.*?\S)\s*\(([^()]+)\)$")


def _typed(surface: str, etypes: LabelMap) -> tuple[str, str | None]:
    """``"Iris Kade (PER)"`` -> ``("Iris Kade", "PER")`` when PER is an entity type of the set."""
    m = _TYPED.match(surface)
    if m and etypes:
        label = etypes.resolve(m.group(2), fuzzy=False)
        if label is not None:
            return m.group(1), label
    return surface, None


def _build_re(nodes: list[Node], spec: SetSpec, b: _Builder, notes: list[str]) -> Annotation:
    """Triples; an entity written ``name (TYPE)`` with TYPE in the set's entity types gets
    that type (the typed RE metric), otherwise entities are untyped."""
    inv = LabelMap(spec.relation_types, spec.label_names, notes, "relation")
    etypes = LabelMap(spec.entity_types, spec.label_names, notes, "entity type")
    relations: list[Relation] = []
    for node in nodes:
        f = [x for x in _strings(node) if x]
        if len(f) < 3:
            notes.append(f"dropped tuple {_flat(node)!r}: expected (subject, relation, object)")
            continue
        hits = [k for k in range(len(f)) if inv.resolve(f[k], fuzzy=False)] if inv else [1]
        if 1 in hits or (inv and len(f) == 3 and inv.resolve(f[1])):
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
        rtype = inv.resolve(f[k]) if inv else f[k]
        relations.append(Relation(type=rtype or f[k], head=head.id, tail=tail.id))
    return Annotation(entities=b.entities, relations=relations)


_EMPTY_ARG = {"", "none", "null", "n/a", "na", "-", "unknown", "[]"}
_KV = re.compile(r"^([^:=()\[\]]{1,40}?)\s*[:=]\s*(.*\S)\s*$", re.S)
_TYPE_KEYS = {"type", "eventtype", "event", "eventlabel", "label", "category"}
_TRIGGER_KEYS = {"trigger", "triggerword", "triggertext", "eventtrigger"}
_PAIR_KEYS = re.compile(r"^(?:role|argument\s+role|argument|arg|value|filler)\s*[:=]\s*", re.I)


def _key_value(s: str) -> tuple[str, str] | None:
    m = _KV.match(s)
    if not m:
        return None
    return plain_field(m.group(1)), plain_field(m.group(2))


def _ee_fields(node: Node, types: LabelMap, roles: LabelMap, notes: list[str]
               ) -> tuple[str | None, str | None, list[tuple[str, str]]]:
    """(event type, trigger, [(role, argument), ...]) of an event tuple, in the answer's order.

    Fields are positional (``type, trigger``), nested pairs (``(role, argument)``) or
    ``key: value``: a ``Type:``/``Event type:`` key gives the type (the first one; a later
    one is a role named Type), ``Trigger:`` the trigger, and any other key a role; a field
    that is itself an event type of the inventory (``Contact:Meet``) is positional.
    """
    etype: str | None = None
    trigger: str | None = None
    pairs: list[tuple[str, str]] = []
    positional: list[str] = []
    for i, f in enumerate(node):
        if isinstance(f, list):
            fs = [_PAIR_KEYS.sub("", plain_field(_flat(x))) for x in f]
            fs = [x for x in fs if x]
            kv = _key_value(fs[0]) if len(fs) == 1 else None
            if kv:
                pairs.append(kv)
            elif len(fs) >= 2:
                pairs.append((fs[0], ", ".join(fs[1:])))
            else:
                notes.append(f"dropped argument {_flat(f)!r}: expected (role, argument)")
            continue
        s = plain_field(f)
        if not s:
            continue
        if etype is None and types.resolve(s, fuzzy=False) is not None:
            etype = s
            continue
        kv = _key_value(s)
        if kv is not None:
            key, val = kv
            nk = norm_label(key)
            if nk in _TYPE_KEYS and etype is None:
                etype = val
                continue
            if nk in _TRIGGER_KEYS and trigger is None:
                trigger = val
                continue
            known = nk in _TYPE_KEYS or nk in _TRIGGER_KEYS or roles.resolve(key, fuzzy=False)
            if known or i >= 2 or etype is not None:
                pairs.append((key, val))
                continue
        positional.append(s)
    if etype is None and positional:
        etype = positional.pop(0)
    if trigger is None and positional:
        trigger = positional.pop(0)
    for s in positional:
        notes.append(f"dropped field {s!r} of event ({etype}, {trigger}): an argument without a role")
    return etype, trigger, pairs


def _build_ee(nodes: list[Node], spec: SetSpec, b: _Builder, notes: list[str]) -> Annotation:
    types = LabelMap(list(spec.event_types), spec.label_names, notes, "event type")
    all_roles = LabelMap([r for rs in spec.event_types.values() for r in rs], spec.label_names)
    events: list[Event] = []
    for node in nodes:
        etype, trigger, pairs = _ee_fields(node, types, all_roles, notes)
        if etype is None or trigger is None:
            notes.append(f"dropped tuple {_flat(node)!r}: expected (event type, trigger, ...)")
            continue
        if types and types.resolve(etype, fuzzy=False) is None and types.resolve(trigger, False):
            etype, trigger = trigger, etype
        canon = types.resolve(etype) if types else etype
        if canon is None:
            notes.append(f"dropped event ({etype}, {trigger}): event type not in the inventory")
            continue
        roles = LabelMap(spec.event_types.get(canon, []), spec.label_names, notes, "role")
        trig = b.trigger(trigger)
        args: list[Argument] = []
        for role, arg in pairs:
            if roles and roles.resolve(role, fuzzy=False) is None and roles.resolve(arg, False):
                role, arg = arg, role
            if arg.casefold() in _EMPTY_ARG:
                notes.append(f"skipped empty argument ({role}, {arg}) of {canon}")
                continue
            rname = roles.resolve(role) if roles else role
            if rname is None:
                notes.append(f"dropped argument ({role}, {arg}) of {canon}: role not in the inventory")
                continue
            m = b.shared_entity(arg)
            args.append(Argument(role=rname, mention=m.id))
        events.append(Event(type=canon, trigger=trig, arguments=args))
    return Annotation(entities=b.entities, events=events)


_BUILDERS = {"ner": _build_ner, "re": _build_re, "ee": _build_ee}


_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)]|#+)?\s*")
_LINE_PAREN = re.compile(r"^(.+?)\s*\(([^()]+)\)\s*[.,;]?$")
_LINE_SEP = re.compile(r"^(.+?)\s*(?::|\s[-–—]\s|=>|->)\s*(.+?)\s*[.;]?$")


def ner_lines(body: str, spec: SetSpec) -> list[Node]:
    """NER answers written one per line without tuples: ``Name (LABEL)``, ``Name: LABEL``,
    ``Name - LABEL`` or ``LABEL: name, name``, after an optional bullet or number. Only lines
    whose label is in the set's inventory (raw or natural name) count."""
    inv = LabelMap(spec.entity_types, spec.label_names)
    nodes: list[Node] = []
    if not inv:
        return nodes
    for line in body.splitlines():
        line = _BULLET.sub("", line).strip().strip("*").strip()
        m = _LINE_PAREN.match(line) or _LINE_SEP.match(line)
        if not m:
            continue
        left, right = clean_field(m.group(1)), clean_field(m.group(2))
        if inv.resolve(right, fuzzy=False):
            nodes.append([left, right])
        elif inv.resolve(left, fuzzy=False):
            nodes.extend([clean_field(x), left] for x in right.split(",")
                         if x.strip().casefold() not in _EMPTY_ARG)
    return nodes


def parse_output(raw: str | None, task: str, spec: SetSpec, text: str | None) -> ParseResult:
    """Parse a raw model output of an instance with task ``task``, inventory ``spec`` and
    instance text ``text`` (None for media-only instances).

    Before reading: meta-responses become invocations, ``<concept>`` tokens become
    invocations of the mention before them in every medium of the set, ``<think>`` blocks and
    other special tokens are stripped, and step-by-step prose before an answer marker is
    skipped (each noted). Then: JSON when the answer starts as JSON; else tuples; when the
    tuples give nothing, JSON found anywhere, then (NER) one-per-line answers; an answer with
    none of these is empty when it says nothing was found, else a parse failure.
    """
    if raw is None:
        return ParseResult(Annotation(), error="no output")
    body, invocations, pre_notes = split_meta_noted(raw)
    media: list[str] = [m for m in ("image", "video", "audio") if m in spec.modalities]
    body, concepts, notes = split_concepts(body, media)
    invocations += concepts
    pre_notes += notes
    body, notes = strip_special(body)
    pre_notes += notes
    body, notes = skip_reasoning(body)
    pre_notes += notes
    stripped = body.strip()
    nodes, truncated = scan_tuples(body)
    obj = find_json(body)
    json_nodes = json_to_nodes(obj, task) if obj is not None else None

    def build(ns: list[Node], fmt: str, notes: list[str]) -> ParseResult:
        notes = [*pre_notes, *notes]
        ann = _BUILDERS[task](ns, spec, _Builder(text, notes), notes)
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
                           [*pre_notes, *notes])
    if json_nodes is not None or _NOTHING.match(stripped):
        return ParseResult(Annotation(), invocations, None, [*pre_notes, *notes], "empty")
    snippet = re.sub(r"\s+", " ", stripped)[:60]
    return ParseResult(Annotation(), invocations,
                       f"no (…) tuples or JSON found in the output: {snippet!r}", [*pre_notes, *notes])
