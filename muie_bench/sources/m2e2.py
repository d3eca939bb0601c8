"""M2E2 multimedia event extraction -> a T+I EE set whose arguments are grounded by boxes.

Inputs (any order; told apart by content): the JMEE-style text records (a JSON list, e.g.
``text_multimedia_event.json``), the image event records (a JSON object keyed by image id
WITHOUT ``.jpg``: ``{"event_type", "role": {"<Role>": [["1", x1, y1, x2, y2], ...]}}``,
pixel boxes) and the cross-media coreference file (``crossmedia_coref.txt``: TSV of
sentence id, image file WITH ``.jpg``, event type). One instance per coreference line: the
sentence (all its entities and events) with that image. In the sentence's events of the
coreferred type, an argument whose role the image record grounds gets the union of that
role's boxes as a box mask, and the trigger the union of its grounded arguments' masks.
Image roles with no text argument are not in the gold (they have no surface text); they are
listed in the instance's ``meta.image_only_roles``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from muie_bench.errors import UserError
from muie_bench.sources import jmee
from muie_bench.sources.common import (
    BadRecord,
    Converted,
    Problems,
    Source,
    box_mask_rle,
    find_media,
    image_size,
    need,
    read_json_items,
    read_lines,
    union_rle,
)

SOURCE = Source(
    name="M2E2",
    url="https://github.com/limanling/m2e2 (data/m2e2_annotations.zip); VOA images from the authors' link",
    licence="none stated",
    attribution="Li et al., ACL 2020 (Cross-media Structured Common Space for Multimedia Event Extraction)",
)

Box = tuple[float, float, float, float]


def _boxes(rec: Any) -> tuple[str, dict[str, list[Box]]]:
    etype = need(rec, "event_type", str)
    roles = need(rec, "role", dict)
    out: dict[str, list[Box]] = {}
    for role, items in roles.items():
        if not isinstance(items, list) or not items:
            raise BadRecord(f"role.{role}", "expected a non-empty list of ['id', x1, y1, x2, y2] boxes")
        for i, it in enumerate(items):
            ok = isinstance(it, list) and len(it) == 5 and all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in it[1:])
            if not ok:
                raise BadRecord(f"role.{role}[{i}]", f"expected ['id', x1, y1, x2, y2], got {it!r}")
            x1, y1, x2, y2 = (float(v) for v in it[1:])
            if x2 <= x1 or y2 <= y1:
                raise BadRecord(f"role.{role}[{i}]", f"box {it[1:]} has x2 <= x1 or y2 <= y1")
            out.setdefault(role, []).append((x1, y1, x2, y2))
    return etype, out


def convert(srcs: list[Path], media: Path | None, problems: Problems, set_id: str) -> list[Converted]:
    cs = Converted(set_id, ["text", "image"], "ee", SOURCE,
                   "M2E2 sentences with a coreferred image; arguments grounded by box masks",
                   grounding="box", inputs=list(srcs))
    sentences: dict[str, tuple[jmee.Sentence, str]] = {}
    images: dict[str, tuple[str, dict[str, list[Box]], str]] = {}
    corefs: list[Path] = []
    for path in srcs:
        if path.suffix == ".txt":
            corefs.append(path)
            continue
        kind, items = read_json_items(path)
        for key, rec, line in items:
            try:
                if kind == "list":
                    sid = need(rec, "sentence_id", str)
                    sentences[sid] = (jmee.parse(rec, lambda t: t), f"{path.name}:{line}")
                else:
                    etype, boxes = _boxes(rec)
                    images[key] = (etype, boxes, f"{path.name}:{line}")
            except BadRecord as e:
                if kind == "dict":
                    e = BadRecord(f"[{key!r}].{e.field}", e.message)
                problems.bad(path, line, e)
    if not corefs:
        raise UserError("m2e2: no cross-media coreference file (crossmedia_coref.txt) among the inputs")
    outside = 0
    for path in corefs:
        for n, text in read_lines(path):
            if not text.strip():
                continue
            try:
                inst = _instance(text, sentences, images, media, set_id, len(cs.instances))
                if inst is None:
                    outside += 1
                else:
                    inst["meta"]["coref"] = f"{path.name}:{n}"
                    cs.instances.append(inst)
            except BadRecord as e:
                problems.bad(path, n, e)
    if outside:
        cs.notes.append(f"{outside} coreference line(s) name a sentence or image record that is not "
                        f"among the inputs (or was malformed): left out")
    from muie_bench.sources.common import labels_of

    cs.entity_types, _, cs.event_types = labels_of(cs.instances)
    return [cs]


def _instance(line: str, sentences: dict[str, tuple[jmee.Sentence, str]],
              images: dict[str, tuple[str, dict[str, list[Box]], str]], media: Path | None,
              set_id: str, k: int) -> dict[str, Any] | None:
    parts = line.split("\t")
    if len(parts) != 3 or not all(p.strip() for p in parts):
        raise BadRecord("(line)", f"expected 'sentence_id<TAB>image.jpg<TAB>event_type', got {line[:60]!r}")
    sid, img_file, etype = (p.strip() for p in parts)
    img_id = img_file.rsplit(".", 1)[0] if img_file.lower().endswith((".jpg", ".jpeg", ".png")) else img_file
    if sid not in sentences or img_id not in images:
        return None  # in a file not given (the coreference file covers every split), or malformed
    img_type, boxes, img_from = images[img_id]
    if img_type != etype:
        raise BadRecord("event_type", f"{etype!r} but the image record says {img_type!r}")
    sent, sent_from = sentences[sid]
    if not any(e["type"] == etype for e in sent.events):
        raise BadRecord("event_type", f"sentence {sid!r} has no {etype!r} event")
    path = find_media(media, img_file, "image", "image")
    h, w = image_size(path)
    ents = copy.deepcopy(sent.entities)
    events = copy.deepcopy(sent.events)
    by_id = {m["id"]: m for m in ents}
    masks = {role: union_rle([_mask(b, h, w, role) for b in bs]) for role, bs in boxes.items()}
    grounded_roles: set[str] = set()
    for ev in events:
        if ev["type"] != etype:
            continue
        shown = []
        for a in ev["arguments"]:
            if a["role"] in masks:
                m = by_id[a["mention"]]
                m.setdefault("image_mask", masks[a["role"]])
                shown.append(m["image_mask"])
                grounded_roles.add(a["role"])
        if shown:
            ev["trigger"]["image_mask"] = union_rle(shown)
    return {
        "id": f"{set_id}-{k:05d}", "set": set_id, "modalities": ["text", "image"], "task": "ee",
        "text": sent.tt.text, "image": path,
        "gold": {"entities": ents, "relations": [], "events": events},
        "meta": {"source": "m2e2", "from": sent_from, "image_record": img_from, "sentence_id": sid,
                 "image_id": img_id, "image_only_roles": sorted(set(boxes) - grounded_roles)},
    }


def _mask(b: Box, h: int, w: int, role: str) -> dict[str, Any]:
    try:
        return box_mask_rle(*b, h, w)
    except BadRecord as e:
        raise BadRecord(f"role.{role}", e.message) from None
