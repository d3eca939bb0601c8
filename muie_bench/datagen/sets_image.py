"""Builders of the image-only sets: i-ner (PASCAL-Context), i-re (VRD), i-ee (imSitu)."""

from __future__ import annotations

from typing import Any

from muie_bench.datagen import assets as A
from muie_bench.datagen.common import Ctx, mention
from muie_bench.datagen.compose import jpeg_bytes
from muie_bench.datagen.inventory import OBJECT_CLASSES, PASCAL_STUFF
from muie_bench.datagen.rng import choice
from muie_bench.datagen.scenes import H, W, meta, paste_all, texture_scene


def _objects(ctx: Ctx, n: int, classes: list[str], backdrop: A.U8,
             ) -> list[tuple[str, str, A.U8, A.Mask]]:
    out = []
    for i in range(n):
        kind = choice(ctx.rng, classes)
        rgb, m, src = A.object_cutout(ctx.rng, kind, int(ctx.rng.integers(56, 104)), backdrop)
        ctx.assets.add(src)
        out.append((f"o{i}", kind, rgb, m))
    return out


def build_i_ner(ctx: Ctx) -> dict[str, Any]:
    """2-4 objects on a texture; each visible object and the visible stuff are entities."""
    scene, bgname = texture_scene(ctx)
    objs = _objects(ctx, int(ctx.rng.integers(2, 5)), OBJECT_CLASSES, scene.img)
    paste_all(ctx, scene, [(k, rgb, m) for k, _, rgb, m in objs], max_overlap=0.25)
    ents = [mention(k, kind, kind, mask=scene.masks[k]) for k, kind, _, _ in objs
            if scene.masks[k].any()]
    stuff = PASCAL_STUFF[bgname]
    ents.append(mention("stuff", stuff, stuff, mask=scene.background_mask()))
    return {"image": ctx.media("jpg", jpeg_bytes(scene.img)), "gold": {"entities": ents},
            "meta": meta(ctx)}


def _vrd_name(kind: str) -> str:
    return "plant" if kind == "flower" else kind


def spatial_predicate(
    a: tuple[int, int, int, int], b: tuple[int, int, int, int], b_occludes_a: bool
) -> tuple[str, bool]:
    """VRD predicate between objects with boxes a and b (x0, y0, x1, y1): returns
    (predicate, a_is_head).

    If b hides pixels of a, b is 'in the front of' a. Otherwise the larger of the
    horizontal / vertical centre offsets decides left/right or above/below, stated with
    ``a`` as head.
    """
    if b_occludes_a:
        return "in the front of", False
    dx = (b[0] + b[2]) / 2 - (a[0] + a[2]) / 2
    dy = (b[1] + b[3]) / 2 - (a[1] + a[3]) / 2
    if abs(dx) >= abs(dy):
        return ("on the left of" if dx > 0 else "on the right of"), True
    return ("above" if dy > 0 else "below"), True


def build_i_re(ctx: Ctx) -> dict[str, Any]:
    """2-3 objects; a relation for every pair: 'in the front of' when one hides pixels of
    the other, else the spatial predicate from the layout, from a random side."""
    scene, _ = texture_scene(ctx)
    objs = _objects(ctx, int(ctx.rng.integers(2, 4)), OBJECT_CLASSES, scene.img)
    paste_all(ctx, scene, [(k, rgb, m) for k, _, rgb, m in objs], max_overlap=0.2)
    objs = [o for o in objs if scene.masks[o[0]].any()]
    ents = [mention(k, _vrd_name(kind), _vrd_name(kind), mask=scene.masks[k])
            for k, kind, _, _ in objs]
    rels = []
    for i in range(len(objs)):
        for j in range(i + 1, len(objs)):
            ka, kb = objs[i][0], objs[j][0]  # kb was pasted later
            hides = bool((scene.full[ka] & scene.masks[kb]).any())
            if not hides and ctx.rng.random() < 0.5:
                ka, kb = kb, ka  # state it from the other object's side
            pred, a_head = spatial_predicate(scene.boxes[ka], scene.boxes[kb], hides)
            rels.append({"type": pred, "head": ka if a_head else kb, "tail": kb if a_head else ka})
    return {"image": ctx.media("jpg", jpeg_bytes(scene.img)),
            "gold": {"entities": ents, "relations": rels}, "meta": meta(ctx)}


def build_i_ee(ctx: Ctx) -> dict[str, Any]:
    """A person carrying a cat/flower, riding a horse, or drinking from a cup."""
    rng = ctx.rng
    scene, bgname = texture_scene(ctx)
    verb = choice(rng, ("carrying", "riding", "drinking"))
    prgb, pm, psrc = A.person_cutout(rng, int(rng.integers(90, 120)) if verb != "riding" else 70)
    ctx.assets.add(psrc)
    ph, pw = pm.shape
    if verb == "riding":
        hrgb, hm = A.horse_cutout(rng, int(rng.integers(90, 110)), scene.img)
        ctx.assets.add("horse")
        hx = int(rng.integers(0, W - hm.shape[1]))
        hy = int(rng.integers(ph - 20, H - hm.shape[0] + 1))
        scene.paste("item", hrgb, hm, hx, hy)
        scene.paste("agent", prgb, pm, hx + hm.shape[1] // 2 - pw // 2, hy - ph + 25)
        role, item_kind = "vehicle", "horse"
    else:
        item_kind = choice(rng, ("cat", "flower")) if verb == "carrying" else "cup"
        ih = int(ph * (0.45 if verb == "carrying" else 0.35))
        irgb, im, isrc = A.object_cutout(rng, item_kind, ih)
        ctx.assets.add(isrc)
        px = int(rng.integers(0, W - pw - im.shape[1] // 2))
        py = int(rng.integers(0, H - ph + 1))
        scene.paste("agent", prgb, pm, px, py)
        oy = py + (ph - ih - 4 if verb == "carrying" else ph // 2)
        scene.paste("item", irgb, im, px + pw - im.shape[1] // 2, min(oy, H - ih))
        role = "item" if verb == "carrying" else "container"
    stuff = PASCAL_STUFF[bgname]
    ents = [mention("agent", "person", "person", mask=scene.masks["agent"]),
            mention("item", item_kind, item_kind, mask=scene.masks["item"]),
            mention("place", stuff, stuff, mask=scene.background_mask())]
    trig = mention("trigger", verb, mask=scene.masks["agent"] | scene.masks["item"])
    event = {"type": verb, "trigger": trig, "arguments": [
        {"role": "agent", "mention": "agent"}, {"role": role, "mention": "item"},
        {"role": "place", "mention": "place"}]}
    return {"image": ctx.media("jpg", jpeg_bytes(scene.img)),
            "gold": {"entities": ents, "events": [event]}, "meta": meta(ctx)}
