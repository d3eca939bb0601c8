"""Shared scene makers: backgrounds, depicting named entities, speaking a text."""

from __future__ import annotations

from typing import Any

from muie_bench.datagen import assets as A
from muie_bench.datagen import speech as S
from muie_bench.datagen.common import Ctx
from muie_bench.datagen.compose import Scene, jpeg_bytes, place
from muie_bench.datagen.rng import choice

W, H = 320, 240
TEXTURES = ("grass", "brick", "gravel")
SIGN_COLOURS = ((30, 60, 140), (150, 30, 40), (40, 40, 40), (110, 50, 130), (200, 120, 20))
LOC_GREEN = (0, 105, 60)


def texture_scene(ctx: Ctx, names: tuple[str, ...] = TEXTURES) -> tuple[Scene, str]:
    name = choice(ctx.rng, names)
    ctx.assets.add(name)
    img, ctx.background = A.background(ctx.rng, name, H, W)
    return Scene(img), name


def paste_all(ctx: Ctx, scene: Scene, items: list[tuple[str, A.U8, A.Mask]],
              max_overlap: float = 0.0) -> None:
    """Paste cut-outs at random non-overlapping places (in list order)."""
    pos = place(ctx.rng, (H, W), [m.shape for _, _, m in items], max_overlap=max_overlap)
    for (key, rgb, m), (x, y) in zip(items, pos, strict=True):
        scene.paste(key, rgb, m, x, y)


def depiction(ctx: Ctx, kind: str, name: str) -> tuple[A.U8, A.Mask]:
    """A person card with the printed name, an organisation sign or a place sign."""
    rng = ctx.rng
    if kind == "person":
        rgb, m, src = A.person_card(rng, name, int(rng.integers(84, 104)))
        ctx.assets.add(src)
    elif kind == "org":
        rgb, m = A.sign(name, SIGN_COLOURS[int(rng.integers(len(SIGN_COLOURS)))],
                        int(rng.integers(24, 32)))
    else:
        rgb, m = A.sign(name, LOC_GREEN, int(rng.integers(24, 32)))
    ctx.assets.add("dejavu-sans-bold")
    return rgb, m


def depict(ctx: Ctx, shown: dict[str, tuple[str, str]], extra: list[tuple[str, A.U8, A.Mask]] | None = None,
           ) -> tuple[str, dict[str, A.Mask]]:
    """An image showing each slot's entity (slot -> (kind, name)); returns path and masks."""
    bgname = choice(ctx.rng, ("china", "grass", "brick", "gravel"))
    ctx.assets.add(bgname)
    img, ctx.background = A.background(ctx.rng, bgname, H, W)
    scene = Scene(img)
    items = [(slot, *depiction(ctx, kind, name)) for slot, (kind, name) in shown.items()]
    items += extra or []
    paste_all(ctx, scene, items)
    rel = ctx.media("jpg", jpeg_bytes(scene.img))
    return rel, {slot: scene.masks[slot] for slot in shown}


def speak(ctx: Ctx, text: str) -> tuple[str, S.Speech]:
    """Speech of ``text`` in a random voice, 50 % with white noise at 20 dB SNR; the WAV path."""
    voice = choice(ctx.rng, S.VOICES)
    wpm = int(ctx.rng.integers(150, 181))
    sp = S.speak(text, voice, wpm)
    ctx.assets.add("espeak-ng")
    samples = S.add_noise(sp.samples, ctx.rng, 20.0) if ctx.rng.random() < 0.5 else sp.samples
    return ctx.media("wav", S.wav_bytes(samples)), sp


def meta(ctx: Ctx, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"generator": "muie-synth", "seed": ctx.seed}
    if ctx.background is not None:
        out["background"] = ctx.background
    return {**out, **kw}
