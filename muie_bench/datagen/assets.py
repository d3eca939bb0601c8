"""Real media that ship inside pip wheels, their licences, and cut-outs made from them.

A cut-out is ``(rgb, mask)``: ``rgb`` HxWx3 uint8 and a binary ``mask`` HxW bool (an
ellipse over a photo crop, the silhouette of the horse, or a whole card/sign rectangle).
Masks are binary (no anti-aliasing), so pasted pixels and ground-truth masks agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

U8 = np.ndarray[Any, np.dtype[np.uint8]]
Mask = np.ndarray[Any, np.dtype[np.bool_]]


@dataclass(frozen=True)
class AssetInfo:
    name: str
    source: str
    licence: str
    attribution: str = ""


ASSETS: dict[str, AssetInfo] = {
    a.name: a
    for a in (
        AssetInfo("astronaut", "scikit-image skimage/data/astronaut.png", "public domain",
                  "NASA (Great Images database)"),
        AssetInfo("camera", "scikit-image skimage/data/camera.png", "CC0",
                  "as distributed with scikit-image"),
        AssetInfo("chelsea", "scikit-image skimage/data/chelsea.png", "CC0",
                  "Stefan van der Walt"),
        AssetInfo("coffee", "scikit-image skimage/data/coffee.png", "CC0",
                  "Rachel Michetti, courtesy of Pikolo Espresso Bar"),
        AssetInfo("horse", "scikit-image skimage/data/horse.png", "CC0",
                  "Andreas Preuss (marauder), openclipart"),
        AssetInfo("brick", "scikit-image skimage/data/brick.png", "CC0",
                  "as distributed with scikit-image"),
        AssetInfo("grass", "scikit-image skimage/data/grass.png", "CC0",
                  "as distributed with scikit-image"),
        AssetInfo("gravel", "scikit-image skimage/data/gravel.png", "CC0",
                  "as distributed with scikit-image"),
        AssetInfo("lfw_subset", "scikit-image skimage/data/lfw_subset.npy (faces 0-99)",
                  "as redistributed by scikit-image (BSD-3-Clause package); Labeled Faces in "
                  "the Wild research database",
                  "Huang et al., Labeled Faces in the Wild, UMass Amherst; used only as "
                  "generic face cut-outs under fictional names"),
        AssetInfo("grace_hopper", "matplotlib mpl-data/sample_data/grace_hopper.jpg",
                  "public domain", "US Navy photograph"),
        AssetInfo("china", "scikit-learn sklearn/datasets/images/china.jpg", "CC-BY-2.0",
                  "Some rights reserved by danielbuechele "
                  "(https://www.flickr.com/photos/danielbuechele/6061409035)"),
        AssetInfo("flower", "scikit-learn sklearn/datasets/images/flower.jpg", "CC-BY-2.0",
                  "Some rights reserved by vultilion "
                  "(https://www.flickr.com/photos/vultilion/6056698931)"),
        AssetInfo("dejavu-sans-bold", "matplotlib mpl-data/fonts/ttf/DejaVuSans-Bold.ttf",
                  "Bitstream Vera / DejaVu font licence (free redistribution)",
                  "DejaVu fonts team"),
        AssetInfo("espeak-ng", "espeakng-loader wheel (libespeak-ng.so and espeak-ng-data)",
                  "GPL-3.0-or-later (the synthesised speech is program output)",
                  "eSpeak NG contributors"),
    )
}

# crop boxes (y0, y1, x0, x1) of the subject in each source photo
PHOTO_BOXES: dict[str, tuple[int, int, int, int]] = {
    "astronaut": (0, 400, 30, 270),
    "grace_hopper": (40, 600, 20, 490),
    "camera": (50, 400, 60, 300),
    "chelsea": (0, 300, 60, 360),
    "coffee": (10, 330, 60, 400),
    "flower": (60, 290, 130, 370),
}
PERSON_SOURCES = ("astronaut", "grace_hopper", "camera", "lfw_subset")
N_FACES = 100


@cache
def source_image(name: str) -> U8:
    """The full RGB pixels of a photo asset (grey images are stacked to RGB)."""
    if name in ("astronaut", "camera", "chelsea", "coffee", "brick", "grass", "gravel"):
        from skimage import data

        img = np.asarray(getattr(data, name)())
    elif name == "grace_hopper":
        from matplotlib.cbook import get_sample_data

        with Image.open(str(get_sample_data("grace_hopper.jpg", asfileobj=False))) as im:
            img = np.asarray(im.convert("RGB"))
    elif name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        img = np.asarray(load_sample_image(f"{name}.jpg"))
    else:
        raise KeyError(name)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return np.ascontiguousarray(img, dtype=np.uint8)


@cache
def faces() -> np.ndarray[Any, np.dtype[np.float64]]:
    """The 100 face crops of scikit-image's LFW subset, 25x25 floats in [0, 1]."""
    from skimage import data

    arr = np.load(Path(data.__file__).parent / "lfw_subset.npy")
    return np.asarray(arr[:N_FACES], dtype=np.float64)


@cache
def horse_silhouette() -> Mask:
    from skimage import data

    m: Mask = np.asarray(data.horse()) == 0  # type: ignore[no-untyped-call]
    ys, xs = np.nonzero(m)
    return np.ascontiguousarray(m[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


def font(size: int) -> ImageFont.FreeTypeFont:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
    return ImageFont.truetype(str(path), size)


def resize(img: U8, h: int, w: int) -> U8:
    return np.asarray(Image.fromarray(img).resize((w, h), Image.Resampling.BILINEAR))


def ellipse_mask(h: int, w: int) -> Mask:
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = (h - 1) / 2, (w - 1) / 2
    return np.asarray(((yy - cy) / (h / 2)) ** 2 + ((xx - cx) / (w / 2)) ** 2 <= 1.0)


def tint(grey: U8, colour: tuple[int, int, int]) -> U8:
    """Multiply a grey (or RGB) image by a colour, for variety between instances."""
    c = np.asarray(colour, dtype=np.float32) / 255.0
    return np.clip(grey.astype(np.float32) * c, 0, 255).astype(np.uint8)


def background(rng: np.random.Generator, name: str, h: int, w: int) -> tuple[U8, dict[str, Any]]:
    """A random crop of a texture or scene asset scaled to h x w (textures are tinted), and
    the parameters that reproduce it with :func:`background_from` (kept in instance meta)."""
    src = source_image(name)
    scale = float(rng.uniform(0.6, 1.0))
    ch = min(src.shape[0], int(src.shape[0] * scale))
    cw = min(src.shape[1], int(ch * w / h))
    ch = int(cw * h / w)
    y0 = int(rng.integers(0, src.shape[0] - ch + 1))
    x0 = int(rng.integers(0, src.shape[1] - cw + 1))
    colour: list[int] | None = None
    if name in TEXTURE_TINTS:
        jitter = rng.integers(-25, 26, size=3)
        colour = [int(np.clip(b + j, 60, 255)) for b, j in zip(TEXTURE_TINTS[name], jitter, strict=True)]
    params: dict[str, Any] = {"asset": name, "crop": [y0, x0, ch, cw], "tint": colour}
    return background_from(params, h, w), params


def background_from(params: dict[str, Any], h: int, w: int) -> U8:
    """The background described by ``params`` (see :func:`background`)."""
    y0, x0, ch, cw = params["crop"]
    src = source_image(params["asset"])
    img = resize(np.ascontiguousarray(src[y0 : y0 + ch, x0 : x0 + cw]), h, w)
    if params["tint"] is not None:
        r, g, b = params["tint"]
        img = tint(img, (int(r), int(g), int(b)))
    return img


TEXTURE_TINTS: dict[str, tuple[int, int, int]] = {
    "grass": (150, 230, 120),
    "brick": (235, 150, 120),
    "gravel": (210, 200, 185),
}


def photo_cutout(name: str, height: int) -> tuple[U8, Mask]:
    """An elliptical cut-out of the subject of a photo, ``height`` pixels tall."""
    y0, y1, x0, x1 = PHOTO_BOXES[name]
    crop = np.ascontiguousarray(source_image(name)[y0:y1, x0:x1])
    w = max(4, round(height * crop.shape[1] / crop.shape[0]))
    return resize(crop, height, w), ellipse_mask(height, w)


def face_cutout(index: int, height: int, tone: tuple[int, int, int]) -> tuple[U8, Mask]:
    """LFW face ``index`` as an elliptical cut-out, tinted by ``tone``."""
    f = (faces()[index] * 255).astype(np.uint8)
    grey = resize(np.stack([f] * 3, axis=-1), height, round(height * 0.8))
    return tint(grey, tone), ellipse_mask(height, round(height * 0.8))


def person_cutout(rng: np.random.Generator, height: int) -> tuple[U8, Mask, str]:
    """A person: one of the public-domain/CC0 portraits or an LFW face. Returns the asset too."""
    src = PERSON_SOURCES[int(rng.integers(len(PERSON_SOURCES)))]
    if src == "lfw_subset":
        tone = (int(rng.integers(200, 256)), int(rng.integers(170, 230)), int(rng.integers(150, 210)))
        rgb, m = face_cutout(int(rng.integers(N_FACES)), height, tone)
        return rgb, m, src
    rgb, m = photo_cutout(src, height)
    return rgb, m, src


def horse_cutout(rng: np.random.Generator, height: int, backdrop: U8 | None = None,
                 ) -> tuple[U8, Mask]:
    """The horse silhouette filled with a coat colour shaded top to bottom (its mask is the
    silhouette): a light coat on a dark ``backdrop`` (mean luminance < 110), else a dark one."""
    sil = horse_silhouette()
    w = round(height * sil.shape[1] / sil.shape[0])
    m = np.asarray(Image.fromarray(sil.astype(np.uint8) * 255).resize((w, height),
                   Image.Resampling.NEAREST)) > 127
    light = backdrop is not None and float(backdrop.mean()) < 110
    lo, hi = ((200, 185, 160), (245, 230, 205)) if light else ((40, 22, 8), (90, 50, 30))
    coat = np.array([rng.integers(a, b + 1) for a, b in zip(lo, hi, strict=True)], np.float32)
    shade = np.linspace(1.25, 0.75, height, dtype=np.float32)[:, None, None]
    rgb = np.clip(coat[None, None, :] * shade * np.ones((1, w, 1), np.float32), 0, 255)
    return rgb.astype(np.uint8), m


def object_cutout(rng: np.random.Generator, kind: str, height: int,
                  backdrop: U8 | None = None) -> tuple[U8, Mask, str]:
    """A cut-out of an object class: person, cat, cup, horse, plant/flower. Returns its asset.
    ``backdrop`` (the background it goes on) picks the horse's coat for contrast."""
    if kind == "person":
        return person_cutout(rng, height)
    if kind == "horse":
        rgb, m = horse_cutout(rng, height, backdrop)
        return rgb, m, "horse"
    src = {"cat": "chelsea", "cup": "coffee", "flower": "flower", "plant": "flower"}[kind]
    rgb, m = photo_cutout(src, height)
    return rgb, m, src


def sign(
    text: str, colour: tuple[int, int, int], height: int,
    fg: tuple[int, int, int] = (255, 255, 255),
) -> tuple[U8, Mask]:
    """A rendered rectangular sign with ``text`` (its mask is the whole rectangle)."""
    f = font(max(8, int(height * 0.45)))
    left, top, right, bottom = f.getbbox(text)
    w = int(right - left) + int(height * 0.6)
    im = Image.new("RGB", (w, height), colour)
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, w - 1, height - 1], outline=fg, width=max(1, height // 12))
    d.text(((w - (right - left)) / 2 - left, (height - (bottom - top)) / 2 - top), text, font=f, fill=fg)
    return np.asarray(im), np.ones((height, w), dtype=bool)


def person_card(rng: np.random.Generator, name: str, height: int) -> tuple[U8, Mask, str]:
    """A photo card: a person cut-out on a pale card with the name printed underneath.

    The mask is the whole card (photo and caption strip).
    """
    cap_h = max(10, height // 5)
    photo_h = height - cap_h
    rgb, m, src = person_cutout(rng, photo_h - 4)
    f = font(max(7, int(cap_h * 0.7)))
    left, top, right, bottom = f.getbbox(name)
    w = max(rgb.shape[1] + 8, right - left + 6)
    card = Image.new("RGB", (w, height), (245, 243, 235))
    arr = np.asarray(card).copy()
    ox = (w - rgb.shape[1]) // 2
    region = arr[2 : 2 + rgb.shape[0], ox : ox + rgb.shape[1]]
    region[m] = rgb[m]
    card = Image.fromarray(arr)
    d = ImageDraw.Draw(card)
    xy = ((w - (right - left)) / 2 - left, photo_h + (cap_h - (bottom - top)) / 2 - top)
    d.text(xy, name, font=f, fill=(20, 20, 20))
    d.rectangle([0, 0, w - 1, height - 1], outline=(90, 90, 90), width=1)
    return np.asarray(card), np.ones((height, w), dtype=bool), src
