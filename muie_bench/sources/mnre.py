"""MNRE (v2) multimodal relation extraction -> a T+I RE set.

Each line is a Python dict literal (single quotes, read with ``ast.literal_eval``): ``token``,
``h`` / ``t`` (``{'name', 'pos': [start, end]}``, token offsets, end exclusive), ``img_id``
(file name with extension) and ``relation`` (``/<head type>/<tail type>/<name>`` or the
string ``'None'``). MNRE repeats a sentence once per entity pair; lines with the same tokens
and image become one instance holding every pair's entities and every relation that is not
``'None'``. Entity types (per, org, loc, misc) come from the relation path when one names
them; an entity seen only in ``'None'`` pairs is untyped. Relation labels are kept whole
(``/per/org/member_of``). MNRE has no boxes: entities carry text spans only.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from muie_bench.sources.common import (
    BadRecord,
    Converted,
    Problems,
    Source,
    TokenText,
    check_tokens,
    find_media,
    need,
    read_lines,
    same_surface,
    token_range,
)

SOURCE = Source(
    name="MNRE",
    url="https://github.com/thecharm/MNRE (mnre_txt/); images from the authors' link",
    licence="none stated",
    attribution="Zheng et al., ICME 2021",
)


def _pair_side(rec: dict[str, Any], key: str, tokens: list[str]) -> tuple[int, int]:
    side = need(rec, key, dict)
    name = need(side, "name", str, key)
    pos = need(side, "pos", list, key)
    if len(pos) != 2 or not all(isinstance(x, int) and not isinstance(x, bool) for x in pos):
        raise BadRecord(f"{key}.pos", f"expected [start, end] token offsets, got {pos!r}")
    s, e = token_range({"start": pos[0], "end": pos[1]}, len(tokens), "", fld=f"{key}.pos")
    got = " ".join(tokens[s:e])
    if not same_surface(got, name):
        raise BadRecord(f"{key}.name", f"{name!r} is not tokens[{s}:{e}] = {got!r} (offsets are end "
                        f"exclusive)")
    return s, e


def _parse(line: str) -> dict[str, Any]:
    try:
        rec = ast.literal_eval(line)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as e:
        raise BadRecord("(record)", f"not a Python dict literal ({type(e).__name__})") from None
    if not isinstance(rec, dict):
        raise BadRecord("(record)", f"expected a dict literal, got {type(rec).__name__}")
    return rec


def convert(srcs: list[Path], media: Path | None, problems: Problems, set_id: str) -> list[Converted]:
    cs = Converted(set_id, ["text", "image"], "re", SOURCE,
                   "MNRE sentences with their images; one instance per sentence and image, all its "
                   "annotated pairs", inputs=list(srcs))
    groups: dict[tuple[tuple[str, ...], str], dict[str, Any]] = {}
    for path in srcs:
        for n, line in read_lines(path):
            if not line.strip():
                continue
            try:
                rec = _parse(line)
                tokens = check_tokens(need(rec, "token", list), "token")
                hs = _pair_side(rec, "h", tokens)
                ts = _pair_side(rec, "t", tokens)
                img = need(rec, "img_id", str)
                rel = need(rec, "relation", str)
                parts = rel.split("/")
                if rel != "None" and (len(parts) != 4 or parts[0] or not all(parts[1:])):
                    raise BadRecord("relation", f"expected '/<type>/<type>/<name>' or 'None', got {rel!r}")
                if hs == ts:
                    raise BadRecord("t.pos", f"head and tail are the same tokens {list(hs)}")
                key = (tuple(tokens), img)
                if key not in groups:
                    image = find_media(media, img, "image", "img_id")
                    groups[key] = {"tokens": tokens, "image": image, "img": img, "pairs": [],
                                   "from": f"{path.name}:{n}"}
                groups[key]["pairs"].append((hs, ts, rel))
            except BadRecord as e:
                problems.bad(path, n, e)
    for g in groups.values():
        cs.instances.append(_instance(g, set_id, len(cs.instances)))
    rels = sorted({r for g in groups.values() for _, _, r in g["pairs"] if r != "None"})
    types = sorted({m["type"] for i in cs.instances for m in i["gold"]["entities"] if m.get("type")})
    cs.relation_types, cs.entity_types = rels, types
    return [cs]


def _instance(g: dict[str, Any], set_id: str, k: int) -> dict[str, Any]:
    tt = TokenText(g["tokens"])
    ids: dict[tuple[int, int], str] = {}
    types: dict[tuple[int, int], str] = {}
    rels = []
    for hs, ts, rel in g["pairs"]:
        for side in (hs, ts):
            ids.setdefault(side, f"e{len(ids)}")
        if rel != "None":
            _, ht, tt_, _name = rel.split("/")
            types.setdefault(hs, ht)
            types.setdefault(ts, tt_)
            r = {"type": rel, "head": ids[hs], "tail": ids[ts]}
            if r not in rels:
                rels.append(r)
    ents = []
    for side, mid in ids.items():
        a, b = tt.char(*side)
        m: dict[str, Any] = {"id": mid, "text": tt.text[a:b], "span": [a, b]}
        if side in types:
            m["type"] = types[side]
        ents.append(m)
    return {
        "id": f"{set_id}-{k:05d}", "set": set_id, "modalities": ["text", "image"], "task": "re",
        "text": tt.text, "image": g["image"],
        "gold": {"entities": ents, "relations": rels, "events": []},
        "meta": {"source": "mnre", "from": g["from"], "image_id": g["img"], "pairs": len(g["pairs"])},
    }
