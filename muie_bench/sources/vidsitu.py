"""VidSitu -> a V EE set (events and their argument phrases; no spatial grounding).

Input: ``vsann_{train,valid}_lb.json`` — a list whose items map ``Ev1`` .. ``Ev5`` (the 2 s
events of a 10 s clip) to ``{"vid_seg_int", "Verb", "VerbID", "Arg_List", "Args"}``; in
the validation file an item may be a list of such maps, one per annotator (the first is
used, as VidSitu's loader does). The clip is ``<vid_seg_int>.mp4`` in the media folder.
Each event becomes an event of type ``VerbID`` (e.g. ``drive.01``) with the verb as trigger
text; its arguments are the ``Args`` phrases, roles named as VidSitu's evaluation names them
(``Arg0``..``Arg5``, ``AScn`` for "Scene of the Event", ``ADir``, ``APrp``, ``AMnr``,
``ALoc``, ``AGol`` for ``ArgM (...)``). VidSitu has no boxes or tracks, so no mention is
grounded in the video: the set's ``grounding`` is ``none`` and V-Trck cannot be scored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from muie_bench.errors import UserError
from muie_bench.sources.common import (
    BadRecord,
    Converted,
    Problems,
    Source,
    find_media,
    labels_of,
    need,
    read_json_items,
)

SOURCE = Source(
    name="VidSitu",
    url="https://github.com/TheShadow29/VidSitu (vidsitu_data: vseg_ann_files); clips from YouTube",
    licence="none stated for the annotations; the VidSitu code is MIT",
    attribution="Sadhu et al., CVPR 2021 (Visual Semantic Role Labeling for Video Understanding)",
)
EVENTS = ("Ev1", "Ev2", "Ev3", "Ev4", "Ev5")
_ARGM = {"direction": "ADir", "purpose": "APrp", "manner": "AMnr", "location": "ALoc", "goal": "AGol"}


def arg_role(name: str) -> str:
    """VidSitu's role id of an argument name ("Arg0 (driver)" -> Arg0, "ArgM (manner)" -> AMnr)."""
    head = name.split(" ")[0]
    if head in ("Arg0", "Arg1", "Arg2", "Arg3", "Arg4", "Arg5"):
        return head
    if name == "Scene of the Event":
        return "AScn"
    m = re.match(r"ArgM \((.*)\)", name)
    if m:
        for key, role in _ARGM.items():
            if key in m.group(1):
                return role
    raise BadRecord("Args", f"unknown argument name {name!r}")


def convert(srcs: list[Path], media: Path | None, problems: Problems, set_id: str) -> list[Converted]:
    cs = Converted(set_id, ["video"], "ee", SOURCE,
                   "VidSitu 10 s clips: five 2 s events with verb and argument phrases; no tracks in "
                   "the source", grounding="none", inputs=list(srcs))
    for path in srcs:
        kind, items = read_json_items(path)
        if kind != "list":
            raise UserError(f"{path}:1: (json): expected a list of clip annotations")
        for i, item, line in items:
            try:
                inst = _clip(item, media, set_id, len(cs.instances))
                inst["meta"]["from"] = f"{path.name}:{line}"
                cs.instances.append(inst)
            except BadRecord as e:
                problems.bad(path, line, BadRecord(f"[{i}].{e.field}", e.message))
    _, _, cs.event_types = labels_of(cs.instances)
    return [cs]


def _clip(item: Any, media: Path | None, set_id: str, k: int) -> dict[str, Any]:
    if isinstance(item, list):  # several annotators: the first, as VidSitu's loader
        if not item:
            raise BadRecord("(item)", "empty list of annotations")
        item = item[0]
    if not isinstance(item, dict):
        raise BadRecord("(item)", f"expected an object with Ev1..Ev5, got {type(item).__name__}")
    clip = None
    ents: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for ev in EVENTS:
        rec = need(item, ev, dict)
        seg = need(rec, "vid_seg_int", str, ev)
        if clip is not None and seg != clip:
            raise BadRecord(f"{ev}.vid_seg_int", f"{seg!r} differs from {clip!r} of the same clip")
        clip = seg
        verb = need(rec, "Verb", str, ev)
        vid = rec.get("VerbID") or verb
        if not isinstance(vid, str) or not verb.strip():
            raise BadRecord(f"{ev}.Verb", "empty verb")
        args = []
        for name, phrase in need(rec, "Args", dict, ev).items():
            if not isinstance(phrase, str):
                raise BadRecord(f"{ev}.Args.{name}", f"expected a phrase, got {type(phrase).__name__}")
            try:
                role = arg_role(name)
            except BadRecord as e:
                raise BadRecord(f"{ev}.Args", e.message) from None
            if not phrase.strip():
                continue
            m = {"id": f"e{len(ents)}", "text": " ".join(phrase.split())}
            ents.append(m)
            args.append({"role": role, "mention": m["id"]})
        events.append({"type": vid, "trigger": {"id": f"t{len(events)}", "text": verb}, "arguments": args})
    assert clip is not None
    path = find_media(media, clip, "clip", f"{EVENTS[0]}.vid_seg_int", (".mp4", ".webm", ".mkv"))
    return {
        "id": f"{set_id}-{k:05d}", "set": set_id, "modalities": ["video"], "task": "ee", "video": path,
        "gold": {"entities": ents, "relations": [], "events": events},
        "meta": {"source": "vidsitu", "vid_seg_int": clip,
                 "ev_rel": {ev: item[ev].get("EvRel") for ev in EVENTS if item[ev].get("EvRel")}},
    }
