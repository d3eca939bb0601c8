"""Builders of the video sets: v-ee, tv-ee (text + video), va-ee (video + spoken
narration), VidSitu-style verbs from motion.

Scenarios (192x144, 10 fps, 3 s): ``walk`` (an actor crosses the frame), ``carry`` (a
person moves with an item held at the side), ``meet`` (two people enter from both sides
and stop face to face), ``chase`` (an animal follows a person, or a person a cat). Half the
clips add a second actor that walks by behind (its own ``walk`` event). A trigger's track
is the union of its arguments' masks in each frame where any of them is visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from muie_bench.datagen import assets as A
from muie_bench.datagen import lexicon as lx
from muie_bench.datagen import speech as S
from muie_bench.datagen import video as V
from muie_bench.datagen.common import Ctx, mention
from muie_bench.datagen.rng import choice
from muie_bench.datagen.scenes import meta, speak
from muie_bench.datagen.text import TextBuilder

PLACES = {"grass": "field", "brick": "plaza", "gravel": "yard"}
VERB_FORMS = {"walk": "walks", "carry": "carries", "meet": "meets", "chase": "chases"}


@dataclass
class Clip:
    video: str
    tracks: dict[str, dict[int, A.Mask]]
    kinds: dict[str, str]  # actor key -> object class
    events: list[tuple[str, list[tuple[str, str]]]]  # verb, [(role, actor key)]
    place: str


def _actor(ctx: Ctx, kind: str, height: int, backdrop: A.U8) -> tuple[A.U8, A.Mask]:
    rgb, m, src = A.object_cutout(ctx.rng, kind, height, backdrop)
    ctx.assets.add(src)
    return rgb, m


def make_clip(ctx: Ctx) -> Clip:
    rng = ctx.rng
    bgname = choice(rng, ("grass", "brick", "gravel"))
    ctx.assets.add(bgname)
    bg, ctx.background = A.background(rng, bgname, V.H, V.W)
    verb = choice(rng, ("walk", "carry", "meet", "chase"))
    actors: list[V.Actor] = []
    kinds: dict[str, str] = {}
    events: list[tuple[str, list[tuple[str, str]]]] = []
    if rng.random() < 0.5:  # a bystander walking by in the back
        kind = choice(rng, ("person", "horse"))
        rgb, m = _actor(ctx, kind, int(rng.integers(34, 44)), bg)
        y = int(rng.integers(0, 30))
        ltr = rng.random() < 0.5
        a, b = (-m.shape[1], y), (V.W, y)
        actors.append(V.Actor("x", rgb, m, V.linear_path(a if ltr else b, b if ltr else a)))
        kinds["x"] = kind
        events.append(("walk", [("Arg0", "x")]))
    ground = int(rng.integers(60, 80))
    ltr = rng.random() < 0.5
    if verb == "walk":
        kind = choice(rng, ("person", "cat", "horse"))
        rgb, m = _actor(ctx, kind, int(rng.integers(50, 64)), bg)
        a, b = (-m.shape[1] // 2, ground), (V.W - m.shape[1] // 2, ground)
        actors.append(V.Actor("a0", rgb, m, V.linear_path(a if ltr else b, b if ltr else a)))
        kinds["a0"] = kind
        events.append(("walk", [("Arg0", "a0")]))
    elif verb == "carry":
        rgb, m = _actor(ctx, "person", int(rng.integers(54, 66)), bg)
        item = choice(rng, ("cat", "cup", "flower"))
        irgb, im = _actor(ctx, item, int(m.shape[0] * 0.5), bg)
        a, b = (-m.shape[1] // 2, ground), (V.W - m.shape[1], ground)
        path = V.linear_path(a if ltr else b, b if ltr else a)
        dx = m.shape[1] - im.shape[1] // 3 if ltr else -im.shape[1] * 2 // 3
        ipath = [(p[0] + dx, p[1] + m.shape[0] - im.shape[0]) if p else None for p in path]
        actors += [V.Actor("a0", rgb, m, path), V.Actor("a1", irgb, im, ipath)]
        kinds.update(a0="person", a1=item)
        events.append(("carry", [("Arg0", "a0"), ("Arg1", "a1")]))
    elif verb == "meet":
        r0, m0 = _actor(ctx, "person", int(rng.integers(50, 64)), bg)
        r1, m1 = _actor(ctx, "person", int(rng.integers(50, 64)), bg)
        stop = int(rng.integers(18, 24))
        cx = V.W // 2
        p0 = V.linear_path((-m0.shape[1], ground), (cx - m0.shape[1] - 2, ground), 0, stop)
        p1 = V.linear_path((V.W, ground + 4), (cx + 2, ground + 4), 0, stop)
        actors += [V.Actor("a0", r0, m0, p0), V.Actor("a1", r1, m1, p1)]
        kinds.update(a0="person", a1="person")
        events.append(("meet", [("Arg0", "a0"), ("Arg1", "a1")]))
    else:  # chase
        chaser = choice(rng, ("cat", "horse", "person"))
        chased = "cat" if chaser == "person" else "person"
        r1, m1 = _actor(ctx, chased, int(rng.integers(44, 58)), bg)
        r0, m0 = _actor(ctx, chaser, int(rng.integers(44, 58)), bg)
        gap = m0.shape[1] + 16
        a, b = (-m1.shape[1], ground), (V.W + gap, ground)
        p1 = V.linear_path(a if ltr else b, b if ltr else a)
        off = -gap if ltr else gap
        p0 = [(p[0] + off, p[1] + 6) if p else None for p in p1]
        actors += [V.Actor("a1", r1, m1, p1), V.Actor("a0", r0, m0, p0)]
        kinds.update(a0=chaser, a1=chased)
        events.append(("chase", [("Arg0", "a0"), ("Arg1", "a1")]))
    frames, tracks = V.render(bg, actors)
    rel = ctx.media("mp4", V.encode_mp4(frames))
    return Clip(rel, tracks, kinds, events, PLACES[bgname])


def _track(clip: Clip, keys: list[str]) -> dict[str, Any]:
    return V.track_json(V.union_track(*(clip.tracks[k] for k in keys)))


def build_v_ee(ctx: Ctx) -> dict[str, Any]:
    clip = make_clip(ctx)
    ents = [mention(k, kind, kind, track=_track(clip, [k])) for k, kind in clip.kinds.items()]
    events = [{"type": verb, "trigger": mention(f"t{i}", verb, track=_track(clip, [a for _, a in args])),
               "arguments": [{"role": r, "mention": a} for r, a in args]}
              for i, (verb, args) in enumerate(clip.events)]
    return {"video": clip.video, "gold": {"entities": ents, "events": events}, "meta": meta(ctx)}


def _narrate(ctx: Ctx, clip: Clip, names: bool) -> TextBuilder:
    """A sentence per event: main event first, then the bystander's ("Meanwhile ...").
    People get fictional names when ``names``, else "a person"; the text builder's slots are
    the actor keys and the trigger keys ``t<i>``."""
    tb = TextBuilder()
    used: set[str] = set()
    order = sorted(range(len(clip.events)), key=lambda i: clip.events[i][1][0][1] == "x")

    def noun_phrase(key: str, first: bool) -> None:
        kind = clip.kinds[key]
        if kind == "person" and names:
            name = lx.person(ctx.rng, used)
            used.add(name)
            tb.slot(key, name)
        else:
            second_person = kind == "person" and clip.kinds.get("a0") == "person"
            det = "another " if key in ("a1", "x") and second_person else "a "
            tb.lit("A " if first and det == "a " else det.capitalize() if first else det)
            tb.slot(key, kind)

    for n, i in enumerate(order):
        verb, args = clip.events[i]
        if n > 0:
            tb.lit(" Meanwhile, ")
        noun_phrase(args[0][1], first=(n == 0))
        tb.lit(" ").slot(f"t{i}", VERB_FORMS[verb])
        if len(args) > 1:
            tb.lit(" ")
            noun_phrase(args[1][1], first=False)
        if verb in ("walk", "carry", "chase"):
            tb.lit(f" across the {clip.place}")
        tb.lit(".")
    return tb


def _annotate(clip: Clip, tb: TextBuilder, with_text: bool, sp: S.Speech | None) -> dict[str, Any]:
    def grounded(key: str, type_: str | None, track_keys: list[str]) -> dict[str, Any]:
        s, e = tb.spans[key]
        return mention(key, tb.text[s:e], type_, span=(s, e) if with_text else None,
                       audio=S.spans(sp, s, e) if sp is not None else None,
                       track=_track(clip, track_keys))

    ents = [grounded(k, kind, [k]) for k, kind in clip.kinds.items()]
    events = [{"type": verb, "trigger": grounded(f"t{i}", None, [a for _, a in args]),
               "arguments": [{"role": r, "mention": a} for r, a in args]}
              for i, (verb, args) in enumerate(clip.events)]
    return {"entities": ents, "events": events}


def build_tv_ee(ctx: Ctx) -> dict[str, Any]:
    clip = make_clip(ctx)
    tb = _narrate(ctx, clip, names=True)
    return {"text": tb.text, "video": clip.video, "gold": _annotate(clip, tb, True, None),
            "meta": meta(ctx)}


def build_va_ee(ctx: Ctx) -> dict[str, Any]:
    clip = make_clip(ctx)
    tb = _narrate(ctx, clip, names=False)
    audio, sp = speak(ctx, tb.text)
    return {"video": clip.video, "audio": audio, "gold": _annotate(clip, tb, False, sp),
            "meta": meta(ctx, voice=sp.voice, narration=tb.text)}
