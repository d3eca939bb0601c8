"""Builders of the sets with text and/or speech: a-ner, a-re, ta-ner, ta-re (ACE05,
Re-TACRED, spoken), ti-ner, ti-re, ti-ee (Twitter-2017, MNRE, M2E2 with an image),
ia-re (MNRE spoken, with an image) and tia-ner (tweet, image and speech).

Every entity keeps the exact span of its slot; spoken entities get the time span of their
words; depicted entities get the mask of their card or sign.
"""

from __future__ import annotations

from typing import Any

from muie_bench.datagen import content as C
from muie_bench.datagen import speech as S
from muie_bench.datagen.assets import Mask
from muie_bench.datagen.common import Ctx, mention
from muie_bench.datagen.rng import choice
from muie_bench.datagen.scenes import depict, meta, speak


def _gold(
    c: C.Content,
    with_span: bool,
    masks: dict[str, Mask] | None = None,
    sp: S.Speech | None = None,
) -> dict[str, Any]:
    """Annotation of a content: spans (if the instance has text), masks, audio spans."""

    def one(slot: str, type_: str | None) -> dict[str, Any]:
        s, e = c.tb.spans[slot]
        audio = None
        if sp is not None and (c.spoken_end is None or e <= c.spoken_end):
            audio = S.spans(sp, s, e)
        return mention(slot, c.text[s:e], type_, span=(s, e) if with_span else None,
                       mask=(masks or {}).get(slot), audio=audio)

    ents = [one(slot, t) for slot, (t, _) in c.ents.items()]
    rels = [{"type": r, "head": h, "tail": t} for r, h, t in c.rels]
    events = []
    for etype, trig, args in c.events:
        tm = one(trig, None)
        if masks is not None:
            shown = [masks[a] for _, a in args if a in masks]
            if shown:
                u = shown[0].copy()
                for m in shown[1:]:
                    u |= m
                from muie_bench.datagen.compose import rle

                tm["image_mask"] = rle(u)
        events.append({"type": etype, "trigger": tm,
                       "arguments": [{"role": r, "mention": a} for r, a in args]})
    return {"entities": ents, "relations": rels, "events": events}


def _speech_set(ctx: Ctx, c: C.Content, with_text: bool) -> dict[str, Any]:
    audio, sp = speak(ctx, c.text)
    out: dict[str, Any] = {"audio": audio, "gold": _gold(c, with_text, sp=sp),
                           "meta": meta(ctx, voice=sp.voice)}
    if with_text:
        out["text"] = c.text
    return out


def build_a_ner(ctx: Ctx) -> dict[str, Any]:
    return _speech_set(ctx, C.ace_sentence(ctx.rng), with_text=False)


def build_ta_ner(ctx: Ctx) -> dict[str, Any]:
    return _speech_set(ctx, C.ace_sentence(ctx.rng), with_text=True)


def build_a_re(ctx: Ctx) -> dict[str, Any]:
    return _speech_set(ctx, C.tacred_sentence(ctx.rng), with_text=False)


def build_ta_re(ctx: Ctx) -> dict[str, Any]:
    return _speech_set(ctx, C.tacred_sentence(ctx.rng), with_text=True)


def _shown(ctx: Ctx, c: C.Content, drop_one: float) -> dict[str, tuple[str, str]]:
    """Depictable slots -> (kind, name); with probability ``drop_one`` one of them is left
    out of the image (a text-only entity)."""
    shown = {slot: (kind, c.text[slice(*c.tb.spans[slot])])
             for slot, (_, kind) in c.ents.items() if kind is not None}
    if len(shown) > 1 and ctx.rng.random() < drop_one:
        del shown[choice(ctx.rng, sorted(shown))]
    return shown


def build_ti_ner(ctx: Ctx) -> dict[str, Any]:
    c = C.tweet(ctx.rng)
    image, masks = depict(ctx, _shown(ctx, c, 0.3))
    return {"text": c.text, "image": image, "gold": _gold(c, True, masks), "meta": meta(ctx)}


def build_ti_re(ctx: Ctx) -> dict[str, Any]:
    c = C.mnre_sentence(ctx.rng)
    image, masks = depict(ctx, _shown(ctx, c, 0.2))
    return {"text": c.text, "image": image, "gold": _gold(c, True, masks), "meta": meta(ctx)}


def build_ti_ee(ctx: Ctx) -> dict[str, Any]:
    from muie_bench.datagen import assets as A
    from muie_bench.datagen import lexicon as lx
    from muie_bench.datagen.scenes import SIGN_COLOURS

    c = C.m2e2_sentence(ctx.rng)
    shown = {s: v for s, v in _shown(ctx, c, 0.0).items() if v[0] == "person" or ctx.rng.random() < 0.5}
    extra = []
    if c.events[0][0] == "Conflict:Demonstrate":
        rgb, m = A.sign(choice(ctx.rng, lx.SLOGANS), SIGN_COLOURS[1], 30)
        extra.append(("slogan", rgb, m))
    image, masks = depict(ctx, shown, extra)
    return {"text": c.text, "image": image, "gold": _gold(c, True, masks), "meta": meta(ctx)}


def build_ia_re(ctx: Ctx) -> dict[str, Any]:
    c = C.mnre_sentence(ctx.rng)
    image, masks = depict(ctx, _shown(ctx, c, 0.0))
    audio, sp = speak(ctx, c.text)
    return {"image": image, "audio": audio, "gold": _gold(c, False, masks, sp),
            "meta": meta(ctx, voice=sp.voice)}


def build_tia_ner(ctx: Ctx) -> dict[str, Any]:
    c = C.tweet(ctx.rng, hashtag=ctx.rng.random() < 0.5)
    image, masks = depict(ctx, _shown(ctx, c, 0.3))
    audio, sp = speak(ctx, c.text[: c.spoken_end])
    return {"text": c.text, "image": image, "audio": audio, "gold": _gold(c, True, masks, sp),
            "meta": meta(ctx, voice=sp.voice)}
