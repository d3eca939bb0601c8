"""Re-TACRED (TACRED json + the Re-TACRED label patch) -> a T RE set.

Inputs: TACRED json files (a list of instances: ``id``, ``docid``, ``token``, ``subj_start``,
``subj_end``, ``obj_start``, ``obj_end`` — token indices, END INCLUSIVE — ``subj_type``,
``obj_type``, ``relation``) and the Re-TACRED patch files (``{"<TACRED id>": "<relation>"}``,
e.g. ``test_id2label.json``). As Re-TACRED's ``apply_patch.py``: only instances whose id is
in a patch are kept, with the patched relation. TACRED repeats a sentence once per pair;
instances with the same document and tokens become one instance with every pair's
entities and each relation other than ``no_relation``. PTB bracket tokens (``-LRB-`` ...)
are written as brackets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from muie_bench.errors import UserError
from muie_bench.sources.common import (
    PTB_BRACKETS,
    BadRecord,
    Converted,
    Problems,
    Source,
    TokenText,
    check_tokens,
    labels_of,
    need,
    read_json_items,
    token_range,
)

SOURCE = Source(
    name="Re-TACRED",
    url="TACRED (LDC2018T24) with the Re-TACRED patch (github.com/gstoica27/Re-TACRED)",
    licence="TACRED: LDC2018T24 licence; Re-TACRED patch: none stated",
    attribution="Zhang et al., EMNLP 2017 (TACRED); Stoica et al., AAAI 2021 (Re-TACRED)",
)
NO_RELATION = "no_relation"


def convert(srcs: list[Path], media: Path | None, problems: Problems, set_id: str) -> list[Converted]:
    patch: dict[str, str] = {}
    data: list[tuple[Path, list[tuple[Any, Any, int]]]] = []
    for p in srcs:
        kind, items = read_json_items(p)
        if kind == "dict":
            for key, label, line in items:
                if not isinstance(label, str) or not label:
                    problems.add(p, line, f"[{key!r}]", f"expected a relation label, got {label!r}")
                    continue
                patch[key] = label
        else:
            data.append((p, items))
    if not patch:
        raise UserError("re-tacred: no Re-TACRED patch file ({\"<id>\": \"<relation>\"}) among the inputs")
    if not data:
        raise UserError("re-tacred: no TACRED json file (a list of instances) among the inputs")
    cs = Converted(set_id, ["text"], "re", SOURCE,
                   "TACRED sentences relabelled by the Re-TACRED patch; one instance per sentence",
                   inputs=list(srcs))
    groups: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
    pruned = 0
    for path, items in data:
        for i, rec, line in items:
            try:
                rid = need(rec, "id", str)
                if rid not in patch:
                    pruned += 1
                    continue
                tokens = [PTB_BRACKETS.get(t, t) for t in check_tokens(need(rec, "token", list), "token")]
                subj = token_range(rec, len(tokens), "", "subj_start", "subj_end", inclusive=True)
                obj = token_range(rec, len(tokens), "", "obj_start", "obj_end", inclusive=True)
                st, ot = need(rec, "subj_type", str), need(rec, "obj_type", str)
                key = (str(rec.get("docid", "")), tuple(tokens))
                g = groups.setdefault(key, {"tokens": tokens, "pairs": [], "from": f"{path.name}:{line}",
                                            "ids": []})
                g["pairs"].append((subj, st, obj, ot, patch[rid]))
                g["ids"].append(rid)
            except BadRecord as e:
                problems.bad(path, line, BadRecord(f"[{i}].{e.field}", e.message))
    for g in groups.values():
        cs.instances.append(_instance(g, set_id, len(cs.instances)))
    if pruned:
        cs.notes.append(f"{pruned} TACRED instance(s) not in the patch: pruned, as apply_patch.py does")
    cs.entity_types, cs.relation_types, _ = labels_of(cs.instances)
    return [cs]


def _instance(g: dict[str, Any], set_id: str, k: int) -> dict[str, Any]:
    tt = TokenText(g["tokens"])
    ids: dict[tuple[tuple[int, int], str], str] = {}
    ents: list[dict[str, Any]] = []
    rels: list[dict[str, str]] = []

    def ent(r: tuple[int, int], typ: str) -> str:
        if (r, typ) not in ids:
            ids[(r, typ)] = f"e{len(ids)}"
            a, b = tt.char(*r)
            ents.append({"id": ids[(r, typ)], "type": typ, "text": tt.text[a:b], "span": [a, b]})
        return ids[(r, typ)]

    for subj, st, obj, ot, label in g["pairs"]:
        h, t = ent(subj, st), ent(obj, ot)
        if label != NO_RELATION and {"type": label, "head": h, "tail": t} not in rels:
            rels.append({"type": label, "head": h, "tail": t})
    return {
        "id": f"{set_id}-{k:05d}", "set": set_id, "modalities": ["text"], "task": "re", "text": tt.text,
        "gold": {"entities": ents, "relations": rels, "events": []},
        "meta": {"source": "re-tacred", "from": g["from"], "tacred_ids": g["ids"]},
    }
