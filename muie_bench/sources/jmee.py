"""JMEE-style sentence records (ACE 2005 as preprocessed by JMEE, and M2E2's text files).

A record has ``words`` and token-offset mentions (``start``, ``end``: end exclusive):
``golden-entity-mentions`` (``entity-type``, ``text``, ``start``, ``end``; ACE adds ``id`` and
``phrase-type`` and writes types as ``TYPE:Subtype``) and ``golden-event-mentions``
(``event_type``, ``trigger`` {start, end, text}, ``arguments`` [{role, start, end, text}]).
:func:`parse` turns one record into the space-joined text, entity mentions and events; an
argument whose tokens are no entity mention becomes an untyped entity mention.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from muie_bench.sources.common import BadRecord, TokenText, check_tokens, need, same_surface, token_range


@dataclass
class Sentence:
    tt: TokenText
    entities: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0  # entity mentions whose type the caller does not keep


def _mention_range(rec: dict[str, Any], tt: TokenText, where: str) -> tuple[int, int]:
    s, e = token_range(rec, len(tt.tokens), where)
    given = rec.get("text")
    if isinstance(given, str) and not same_surface(given, tt.surface(s, e)):
        raise BadRecord(f"{where}.text", f"{given!r} is not words[{s}:{e}] = {tt.surface(s, e)!r} "
                        f"(offsets are end exclusive)")
    return s, e


def parse(rec: Any, entity_type: Callable[[str], str | None], with_events: bool = True) -> Sentence:
    """One record. ``entity_type`` maps the source type to the kept label (None: drop it)."""
    words = check_tokens(need(rec, "words", list), "words")
    sent = Sentence(TokenText(words))
    tt = sent.tt
    by_range: dict[tuple[int, int], str] = {}
    seen: set[tuple[int, int, str]] = set()
    for i, m in enumerate(need(rec, "golden-entity-mentions", list)):
        where = f"golden-entity-mentions[{i}]"
        s, e = _mention_range(m, tt, where)
        typ = entity_type(need(m, "entity-type", str, where))
        if typ is None:
            sent.dropped += 1
            continue
        if (s, e, typ) in seen:
            continue
        seen.add((s, e, typ))
        mid = f"e{len(sent.entities)}"
        by_range.setdefault((s, e), mid)
        a, b = tt.char(s, e)
        sent.entities.append({"id": mid, "type": typ, "text": tt.text[a:b], "span": [a, b]})
    if not with_events:
        return sent
    for i, ev in enumerate(need(rec, "golden-event-mentions", list)):
        where = f"golden-event-mentions[{i}]"
        etype = need(ev, "event_type", str, where)
        if not etype.strip():
            raise BadRecord(f"{where}.event_type", "empty event type")
        trig = need(ev, "trigger", dict, where)
        s, e = _mention_range(trig, tt, f"{where}.trigger")
        a, b = tt.char(s, e)
        args = []
        for j, arg in enumerate(need(ev, "arguments", list, where)):
            aw = f"{where}.arguments[{j}]"
            role = need(arg, "role", str, aw)
            if not role.strip():
                raise BadRecord(f"{aw}.role", "empty role")
            r = _mention_range(arg, tt, aw)
            if r not in by_range:
                mid = f"e{len(sent.entities)}"
                by_range[r] = mid
                x, y = tt.char(*r)
                sent.entities.append({"id": mid, "text": tt.text[x:y], "span": [x, y]})
            a_obj = {"role": role, "mention": by_range[r]}
            if a_obj not in args:
                args.append(a_obj)
        sent.events.append({"type": etype,
                            "trigger": {"id": f"t{len(sent.events)}", "text": tt.text[a:b], "span": [a, b]},
                            "arguments": args})
    return sent
