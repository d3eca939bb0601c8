"""imSitu with SWiG groundings -> an I EE set (one event per image, box-grounded roles).

Inputs: a SWiG split file (``{"<image>.jpg": {"verb", "height", "width", "bb": {role:
[x1, y1, x2, y2]}, "frames": [{role: synset id or ''} x3]}}``; ``[-1, -1, -1, -1]`` = no
box) and ``imsitu_space.json`` (``verbs[verb]["order"]`` gives the roles, ``nouns[id]
["gloss"][0]`` a noun's word). The event type is the verb and its trigger text the verb;
a role's filler is the noun most of the three annotators chose (ties: the earliest frame's),
its text the noun's first gloss; a role whose majority is empty has no argument. A
grounded filler gets its box mask, the trigger the union of its arguments' masks. The
image must have the record's height and width (SWiG's boxes are in images_512).
"""

from __future__ import annotations

from collections import Counter
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
    union_rle,
)

SOURCE = Source(
    name="imSitu (SWiG)",
    url="https://github.com/my89/imSitu (annotations); SWiG boxes as in jhcho99/gsrtr SWiG/SWiG_jsons",
    licence="none stated in the imSitu README; the gsrtr repository (SWiG jsons) is Apache-2.0",
    attribution="Yatskar et al., CVPR 2016 (imSitu); Pratt et al., ECCV 2020 (SWiG)",
)


def convert(srcs: list[Path], media: Path | None, problems: Problems, set_id: str) -> list[Converted]:
    space: dict[str, Any] | None = None
    splits: list[tuple[Path, list[tuple[Any, Any, int]]]] = []
    for p in srcs:
        kind, items = read_json_items(p)
        keys = {k for k, _, _ in items}
        if kind == "dict" and {"verbs", "nouns"} <= keys:
            space = {k: v for k, v, _ in items}
        elif kind == "dict":
            splits.append((p, items))
        else:
            raise UserError(f"{p}:1: (json): expected an object keyed by image file")
    if space is None:
        raise UserError("swig: imsitu_space.json (verbs and nouns) is needed among the inputs")
    cs = Converted(set_id, ["image"], "ee", SOURCE,
                   "imSitu images with SWiG boxes: the verb as event, roles as arguments",
                   grounding="box", inputs=list(srcs))
    for path, items in splits:
        for img, rec, line in items:
            try:
                inst = _image(img, rec, space, media, set_id, len(cs.instances))
                inst["meta"]["from"] = f"{path.name}:{line}"
                cs.instances.append(inst)
            except BadRecord as e:
                problems.bad(path, line, BadRecord(f"[{img!r}].{e.field}", e.message))
    used = labels_of(cs.instances)[2]
    cs.event_types = {v: list(space["verbs"][v].get("order", roles)) for v, roles in used.items()}
    return [cs]


def _image(img: str, rec: Any, space: dict[str, Any], media: Path | None, set_id: str,
           k: int) -> dict[str, Any]:
    verb = need(rec, "verb", str)
    if verb not in space["verbs"]:
        raise BadRecord("verb", f"{verb!r} is not a verb of imsitu_space.json")
    order = list(space["verbs"][verb].get("order", []))
    frames = need(rec, "frames", list)
    if not frames or not all(isinstance(f, dict) for f in frames):
        raise BadRecord("frames", "expected a non-empty list of {role: noun} frames")
    bb = need(rec, "bb", dict)
    h, w = need(rec, "height", int), need(rec, "width", int)
    path = find_media(media, img, "image", "image")
    if image_size(path) != (h, w):
        raise BadRecord("height", f"the record says {w}x{h} but the image is "
                        f"{image_size(path)[1]}x{image_size(path)[0]} (SWiG boxes are in images_512)")
    ents: list[dict[str, Any]] = []
    args: list[dict[str, str]] = []
    for role in order or sorted(frames[0]):
        nouns = [f.get(role, "") for f in frames]
        if not all(isinstance(n, str) for n in nouns):
            raise BadRecord(f"frames.{role}", f"noun ids must be strings, got {nouns!r}")
        counts = Counter(nouns)
        best = max(counts.values())
        noun = next(n for n in nouns if counts[n] == best)
        if not noun:
            continue
        if noun not in space["nouns"]:
            raise BadRecord(f"frames.{role}", f"noun {noun!r} is not in imsitu_space.json")
        gloss = space["nouns"][noun].get("gloss") or [noun]
        m: dict[str, Any] = {"id": f"e{len(ents)}", "text": str(gloss[0])}
        b = bb.get(role, [-1, -1, -1, -1])
        if not (isinstance(b, list) and len(b) == 4 and all(isinstance(v, int | float) for v in b)):
            raise BadRecord(f"bb.{role}", f"expected [x1, y1, x2, y2], got {b!r}")
        if list(b) != [-1, -1, -1, -1]:
            if b[2] <= b[0] or b[3] <= b[1]:
                raise BadRecord(f"bb.{role}", f"box {b} has x2 <= x1 or y2 <= y1")
            try:
                m["image_mask"] = box_mask_rle(b[0], b[1], b[2], b[3], h, w)
            except BadRecord as e:
                raise BadRecord(f"bb.{role}", e.message) from None
        ents.append(m)
        args.append({"role": role, "mention": m["id"]})
    trigger: dict[str, Any] = {"id": "t0", "text": verb}
    shown = [m["image_mask"] for m in ents if "image_mask" in m]
    if shown:
        trigger["image_mask"] = union_rle(shown)
    return {
        "id": f"{set_id}-{k:05d}", "set": set_id, "modalities": ["image"], "task": "ee", "image": path,
        "gold": {"entities": ents, "relations": [], "events": [{"type": verb, "trigger": trigger,
                                                                "arguments": args}]},
        "meta": {"source": "swig", "image_id": img},
    }
