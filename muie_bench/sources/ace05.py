"""ACE 2005 (JMEE json) -> a T NER set, the base of the spoken ACE05 sets.

Input: JMEE-style json files (a list of sentence records: ``words``,
``golden-entity-mentions`` with ``entity-type`` as ``TYPE:Subtype`` and token offsets, end
exclusive). Entities keep the ACE type before the colon; only the seven ACE entity types
are kept (PER, ORG, GPE, LOC, FAC, VEH, WEA); time and value mentions are left out (counted
in ``meta.dropped``). The text is the space-joined words. Events are not used (the paper's
ACE05 sets are NER).
"""

from __future__ import annotations

from pathlib import Path

from muie_bench.errors import UserError
from muie_bench.sources import jmee
from muie_bench.sources.common import BadRecord, Converted, Problems, Source, labels_of, read_json_items

SOURCE = Source(
    name="ACE05",
    url="LDC2006T06 (ACE 2005 Multilingual Training Corpus), preprocessed as JMEE "
    "(lx865712528/EMNLP2018-JMEE)",
    licence="LDC2006T06 licence (LDC members / licensees only)",
    attribution="Walker et al., 2006 (ACE 2005)",
)
TYPES = ("FAC", "GPE", "LOC", "ORG", "PER", "VEH", "WEA")


def _type(t: str) -> str | None:
    head = t.split(":")[0].strip().upper()
    return head if head in TYPES else None


def convert(srcs: list[Path], media: Path | None, problems: Problems, set_id: str) -> list[Converted]:
    cs = Converted(set_id, ["text"], "ner", SOURCE,
                   "ACE 2005 sentences (JMEE layout); the seven ACE entity types", inputs=list(srcs))
    for path in srcs:
        kind, items = read_json_items(path)
        if kind != "list":
            raise UserError(f"{path}:1: (json): expected a list of sentence records")
        for _, rec, line in items:
            try:
                sent = jmee.parse(rec, _type, with_events=False)
            except BadRecord as e:
                problems.bad(path, line, e)
                continue
            k = len(cs.instances)
            cs.instances.append({
                "id": f"{set_id}-{k:05d}", "set": set_id, "modalities": ["text"], "task": "ner",
                "text": sent.tt.text, "gold": {"entities": sent.entities, "relations": [], "events": []},
                "meta": {"source": "ace05", "from": f"{path.name}:{line}", "dropped": sent.dropped},
            })
    cs.entity_types = sorted(set(TYPES) | set(labels_of(cs.instances)[0]))
    return [cs]
