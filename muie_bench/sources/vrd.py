"""VRD visual relationships -> an I RE set with box masks.

Inputs: ``annotations_{train,test}.json`` (``{"<image>.jpg": [{"predicate": i, "subject":
{"category": j, "bbox": [ymin, ymax, xmin, xmax]}, "object": {...}}]}``), ``objects.json``
and ``predicates.json`` (the label lists the indices point into; taken from the inputs or
from the annotation file's folder). Box order is **[ymin, ymax, xmin, xmax]** in pixels.
VRD has no object ids: equal (category, box) pairs are one entity. An image with an empty
list becomes an instance with an empty gold. Entity text is the category name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from muie_bench.errors import UserError
from muie_bench.sources.common import (
    BadRecord,
    Converted,
    Problems,
    Source,
    box_mask_rle,
    find_media,
    image_size,
    labels_of,
    need,
    read_json_items,
)

SOURCE = Source(
    name="VRD",
    url="https://cs.stanford.edu/people/ranjaykrishna/vrd/ "
    "(annotations as in StanfordVL/ReferringRelationships data/VRD)",
    licence="none stated by the dataset; the ReferringRelationships repository is MIT",
    attribution="Lu et al., ECCV 2016 (Visual Relationship Detection with Language Priors)",
)


def _labels(path: Path) -> list[str]:
    try:
        v = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{path}: cannot read the label list ({e})") from None
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise UserError(f"{path}:1: (list): expected a JSON list of label names")
    return v


def _find(srcs: list[Path], name: str, anns: list[Path]) -> list[str]:
    for p in srcs:
        if p.name == name:
            return _labels(p)
    for a in anns:
        if (a.parent / name).is_file():
            return _labels(a.parent / name)
    raise UserError(f"vrd: {name} not among the inputs nor next to {anns[0] if anns else 'them'}")


def convert(srcs: list[Path], media: Path | None, problems: Problems, set_id: str) -> list[Converted]:
    anns = [p for p in srcs if p.name not in ("objects.json", "predicates.json") and "metadata" not in p.name]
    if not anns:
        raise UserError("vrd: no annotations_*.json among the inputs")
    objects, predicates = _find(srcs, "objects.json", anns), _find(srcs, "predicates.json", anns)
    cs = Converted(set_id, ["image"], "re", SOURCE,
                   "VRD images; subject and object grounded by box masks", grounding="box",
                   inputs=list(srcs))
    for path in anns:
        kind, items = read_json_items(path)
        if kind != "dict":
            raise UserError(f"{path}:1: (json): expected an object keyed by image file")
        for img, rels, line in items:
            try:
                inst = _image(img, rels, objects, predicates, media, set_id, len(cs.instances))
                inst["meta"]["from"] = f"{path.name}:{line}"
                cs.instances.append(inst)
            except BadRecord as e:
                sub = e.field if not e.field or e.field.startswith("[") else "." + e.field
                problems.bad(path, line, BadRecord(f"[{img!r}]{sub}", e.message))
    cs.entity_types, cs.relation_types, _ = labels_of(cs.instances)
    return [cs]


def _side(rel: dict[str, Any], key: str, where: str, objects: list[str]) -> tuple[int, tuple[int, ...]]:
    side = need(rel, key, dict, where)
    cat = need(side, "category", int, f"{where}.{key}")
    if not 0 <= cat < len(objects):
        raise BadRecord(f"{where}.{key}.category", f"{cat} is not an index into the {len(objects)} objects")
    bbox = need(side, "bbox", list, f"{where}.{key}")
    if len(bbox) != 4 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox):
        raise BadRecord(f"{where}.{key}.bbox", f"expected [ymin, ymax, xmin, xmax], got {bbox!r}")
    ymin, ymax, xmin, xmax = bbox
    if ymax <= ymin or xmax <= xmin:
        raise BadRecord(f"{where}.{key}.bbox", f"{bbox} is not [ymin, ymax, xmin, xmax] with min < max")
    return cat, tuple(bbox)


def _image(img: str, rels: Any, objects: list[str], predicates: list[str], media: Path | None,
           set_id: str, k: int) -> dict[str, Any]:
    if not isinstance(rels, list):
        raise BadRecord("", f"expected a list of relationships, got {type(rels).__name__}")
    parsed = []
    for i, rel in enumerate(rels):
        where = f"[{i}]"
        pred = need(rel, "predicate", int, where)
        if not 0 <= pred < len(predicates):
            raise BadRecord(f"{where}.predicate",
                            f"{pred} is not an index into the {len(predicates)} predicates")
        subj, obj = _side(rel, "subject", where, objects), _side(rel, "object", where, objects)
        parsed.append((subj, predicates[pred], obj))
    path = find_media(media, img, "image", "")
    h, w = image_size(path)
    ids: dict[tuple[int, tuple[int, ...]], str] = {}
    ents = []
    rel_out: list[dict[str, str]] = []
    for n, (subj, pred, obj) in enumerate(parsed):
        for side, key in ((subj, "subject"), (obj, "object")):
            if side in ids:
                continue
            ids[side] = f"e{len(ids)}"
            cat, (ymin, ymax, xmin, xmax) = side
            try:
                mask = box_mask_rle(xmin, ymin, xmax, ymax, h, w)
            except BadRecord as e:
                raise BadRecord(f"[{n}].{key}.bbox", e.message) from None
            ents.append({"id": ids[side], "type": objects[cat], "text": objects[cat], "image_mask": mask})
        r = {"type": pred, "head": ids[subj], "tail": ids[obj]}
        if r not in rel_out:
            rel_out.append(r)
    return {
        "id": f"{set_id}-{k:05d}", "set": set_id, "modalities": ["image"], "task": "re", "image": path,
        "gold": {"entities": ents, "relations": rel_out, "events": []},
        "meta": {"source": "vrd", "image_id": img},
    }
