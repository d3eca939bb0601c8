"""Build the tiny test benchmark under tests/data/tiny (committed; ~100 KB).

Two instances in each of seven sets that together cover every modality (text, image, audio,
video) and every task (NER, RE, EE). Media are real files: PNG images with drawn shapes,
8 kHz WAV with tone bursts where mentions are "spoken", H.264 MP4 with a moving square.
Ground truth is exact by construction. Deterministic: ``python tests/data/make_tiny.py OUT``
writes the same bytes every time, on any CPU (videos: see ``write_video``).
"""

from __future__ import annotations

import hashlib
import json
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from pycocotools import mask as mask_utils

H, W = 48, 64
RATE = 8000
FPS = 8.0


def rle(mask: np.ndarray) -> dict[str, Any]:
    enc = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(enc["size"][0]), int(enc["size"][1])], "counts": enc["counts"].decode()}


def box_mask(x0: int, y0: int, x1: int, y1: int, h: int = H, w: int = W) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


def write_image(path: Path, boxes: list[tuple[tuple[int, int, int, int], tuple[int, int, int]]]) -> None:
    im = Image.new("RGB", (W, H), (30, 30, 30))
    d = ImageDraw.Draw(im)
    for (x0, y0, x1, y1), colour in boxes:
        d.rectangle([x0, y0, x1 - 1, y1 - 1], fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, format="PNG", optimize=False)


def write_wav(path: Path, duration: float, bursts: list[tuple[float, float, float]]) -> None:
    """Silence with sine bursts (start_s, end_s, frequency) standing in for spoken words."""
    import soundfile as sf

    n = int(duration * RATE)
    t = np.arange(n) / RATE
    x = np.zeros(n, np.float32)
    for s, e, f in bursts:
        sel = (t >= s) & (t < e)
        x[sel] = 0.5 * np.sin(2 * np.pi * f * t[sel])
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, RATE, subtype="PCM_16", format="WAV")


def write_video(path: Path, frames: list[np.ndarray]) -> None:
    """H.264 MP4 whose bytes do not depend on the CPU: RGB->YUV in integer arithmetic (the
    generator's ``to_yuv420p``, not FFmpeg's SIMD swscale) and libx264 with the generator's
    x264 parameters (``asm=0``: x264's C code, none of its CPU-specific assembly)."""
    import av

    from muie_bench.datagen.video import X264_PARAMS, to_yuv420p

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4", options={"fflags": "+bitexact"}) as c:
        s = c.add_stream("libx264", rate=int(FPS))
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"crf": "18", "preset": "veryfast", "threads": "1", "flags": "+bitexact",
                     "x264-params": X264_PARAMS}
        for i, arr in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(to_yuv420p(arr), format="yuv420p")
            frame.pts = i  # without explicit timestamps libx264's output is not reproducible
            frame.time_base = Fraction(1, int(FPS))
            for pkt in s.encode(frame):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)


def moving_square(n: int, x_start: int, dx: int, y: int, size: int = 12) -> list[tuple[int, int, int, int]]:
    return [(x_start + dx * k, y, x_start + dx * k + size, y + size) for k in range(n)]


def render_frames(n: int, tracks: list[tuple[list[tuple[int, int, int, int]], tuple[int, int, int]]]) -> list[np.ndarray]:
    frames = []
    for k in range(n):
        f = np.full((H, W, 3), 30, np.uint8)
        for boxes, colour in tracks:
            x0, y0, x1, y1 = boxes[k]
            f[y0:y1, x0:x1] = colour
        frames.append(f)
    return frames


def span(text: str, sub: str) -> list[int]:
    s = text.index(sub)
    return [s, s + len(sub)]


def build(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    instances: list[dict[str, Any]] = []

    # ---- ti-ner: text + image
    for k, (name, org) in enumerate([("Mara Velto", "Quillon Labs"), ("Tavi Brenn", "Orvex")]):
        text = f"{name} joined {org} in Lumeria."
        img = f"media/ti-ner-{k}.png"
        b1, b2 = (4 + k, 6, 24 + k, 40), (36, 10 + k, 60, 30 + k)
        write_image(out / img, [(b1, (200, 60, 60)), (b2, (60, 60, 200))])
        instances.append({
            "id": f"ti-ner-{k}", "set": "ti-ner", "modalities": ["text", "image"], "task": "ner",
            "text": text, "image": img,
            "gold": {"entities": [
                {"id": "e1", "type": "PER", "text": name, "span": span(text, name),
                 "image_mask": rle(box_mask(*b1))},
                {"id": "e2", "type": "ORG", "text": org, "span": span(text, org),
                 "image_mask": rle(box_mask(*b2))},
                {"id": "e3", "type": "LOC", "text": "Lumeria", "span": span(text, "Lumeria")},
            ]},
            "meta": {"template": "joined"},
        })

    # ---- ta-ner: text + audio
    for k, name in enumerate(["Iris Kade", "Olan Mere"]):
        text = f"Reporter {name} spoke from Darrow."
        aud = f"media/ta-ner-{k}.wav"
        write_wav(out / aud, 2.0, [(0.3, 0.8, 440.0 + 40 * k), (1.2, 1.6, 660.0)])
        instances.append({
            "id": f"ta-ner-{k}", "set": "ta-ner", "modalities": ["text", "audio"], "task": "ner",
            "text": text, "audio": aud,
            "gold": {"entities": [
                {"id": "e1", "type": "PER", "text": name, "span": span(text, name),
                 "audio_spans": [[0.3, 0.8]]},
                {"id": "e2", "type": "GPE", "text": "Darrow", "span": span(text, "Darrow"),
                 "audio_spans": [[1.2, 1.6]]},
            ]},
        })

    # ---- a-re: audio only
    for k, (h, t) in enumerate([("Neva Sol", "Brightwater"), ("Jon Arle", "Kestrel Corp")]):
        aud = f"media/a-re-{k}.wav"
        write_wav(out / aud, 2.0, [(0.2, 0.7, 500.0), (1.1, 1.7, 700.0 + 50 * k), (1.8, 1.95, 300.0)])
        instances.append({
            "id": f"a-re-{k}", "set": "a-re", "modalities": ["audio"], "task": "re",
            "audio": aud,
            "gold": {
                "entities": [
                    {"id": "e1", "type": "PER", "text": h, "audio_spans": [[0.2, 0.7]]},
                    {"id": "e2", "type": "ORG", "text": t, "audio_spans": [[1.1, 1.7], [1.8, 1.95]]},
                ],
                "relations": [{"type": "works_for", "head": "e1", "tail": "e2"}],
            },
            "meta": {"transcript": f"{h} works for {t}"},
        })

    # ---- ia-re: image + audio
    for k in range(2):
        img, aud = f"media/ia-re-{k}.png", f"media/ia-re-{k}.wav"
        b1, b2 = (2, 20, 22, 44), (40 - k, 4, 62 - k, 24)
        write_image(out / img, [(b1, (220, 180, 40)), (b2, (40, 200, 120))])
        write_wav(out / aud, 1.5, [(0.1, 0.5, 520.0), (0.8, 1.3, 610.0)])
        instances.append({
            "id": f"ia-re-{k}", "set": "ia-re", "modalities": ["image", "audio"], "task": "re",
            "image": img, "audio": aud,
            "gold": {
                "entities": [
                    {"id": "e1", "type": "person", "text": "person", "image_mask": rle(box_mask(*b1)),
                     "audio_spans": [[0.1, 0.5]]},
                    {"id": "e2", "type": "sign", "text": "sign", "image_mask": rle(box_mask(*b2)),
                     "audio_spans": [[0.8, 1.3]]},
                ],
                "relations": [{"type": "left_of", "head": "e1", "tail": "e2"}],
            },
        })

    # ---- i-ee: image only
    for k in range(2):
        img = f"media/i-ee-{k}.png"
        agent, item = (6, 8, 26, 44), (26, 20 + k, 36, 30 + k)
        write_image(out / img, [(agent, (180, 90, 200)), (item, (250, 250, 250))])
        instances.append({
            "id": f"i-ee-{k}", "set": "i-ee", "modalities": ["image"], "task": "ee",
            "image": img,
            "gold": {
                "entities": [
                    {"id": "a1", "text": "person", "image_mask": rle(box_mask(*agent))},
                    {"id": "a2", "text": "bag", "image_mask": rle(box_mask(*item))},
                ],
                "events": [{"type": "carrying", "trigger": {"id": "t1", "text": "carrying"},
                            "arguments": [{"role": "agent", "mention": "a1"},
                                          {"role": "item", "mention": "a2"}]}],
            },
        })

    # ---- v-ee and tv-ee: video (+ text)
    n = 12
    for set_id in ("v-ee", "tv-ee"):
        for k in range(2):
            vid = f"media/{set_id}-{k}.mp4"
            a_boxes = moving_square(n, 2, 3 + k, 8)
            b_boxes = [(46, 28, 58, 40)] * n
            write_video(out / vid, render_frames(n, [(a_boxes, (230, 70, 70)), (b_boxes, (70, 230, 70))]))
            track_a = {"fps": FPS, "frames": {str(i): rle(box_mask(*a_boxes[i])) for i in range(n)}}
            track_b = {"fps": FPS, "frames": {str(i): rle(box_mask(*b_boxes[i])) for i in range(4, n)}}
            inst: dict[str, Any] = {
                "id": f"{set_id}-{k}", "set": set_id, "task": "ee",
                "modalities": ["video"] if set_id == "v-ee" else ["text", "video"], "video": vid,
            }
            ents = [{"id": "a1", "text": "red car", "video_track": track_a},
                    {"id": "a2", "text": "garage", "video_track": track_b}]
            trig: dict[str, Any] = {"id": "t1", "text": "drives"}
            if set_id == "tv-ee":
                text = "A red car drives to the garage."
                inst["text"] = text
                ents[0]["span"] = span(text, "red car")
                ents[1]["span"] = span(text, "garage")
                trig["span"] = span(text, "drives")
            inst["gold"] = {"entities": ents, "events": [{
                "type": "Transport", "trigger": trig,
                "arguments": [{"role": "Artifact", "mention": "a1"},
                              {"role": "Destination", "mention": "a2"}]}]}
            instances.append(inst)

    lines = "".join(json.dumps(i, sort_keys=True) + "\n" for i in instances)
    (out / "instances.jsonl").write_text(lines)
    files = {"instances.jsonl": hashlib.sha256(lines.encode()).hexdigest()}
    for p in sorted((out / "media").iterdir()):
        files[f"media/{p.name}"] = hashlib.sha256(p.read_bytes()).hexdigest()
    counts: dict[str, int] = {}
    for i in instances:
        counts[i["set"]] = counts.get(i["set"], 0) + 1
    sets = [
        {"id": "ti-ner", "modalities": ["text", "image"], "task": "ner", "source": "Twitter-2017",
         "entity_types": ["PER", "ORG", "LOC", "MISC"]},
        {"id": "ta-ner", "modalities": ["text", "audio"], "task": "ner", "source": "ACE05",
         "entity_types": ["PER", "ORG", "GPE", "LOC", "FAC", "VEH", "WEA"]},
        {"id": "a-re", "modalities": ["audio"], "task": "re", "source": "Re-TACRED (speech)",
         "entity_types": ["PER", "ORG", "LOC"], "relation_types": ["works_for", "located_in"]},
        {"id": "ia-re", "modalities": ["image", "audio"], "task": "re", "source": "MNRE (speech)",
         "entity_types": ["person", "sign", "cup"], "relation_types": ["left_of", "above", "on"]},
        {"id": "i-ee", "modalities": ["image"], "task": "ee", "source": "imSitu",
         "event_types": {"carrying": ["agent", "item", "place"]}},
        {"id": "v-ee", "modalities": ["video"], "task": "ee", "source": "VidSitu",
         "event_types": {"Transport": ["Artifact", "Destination", "Origin"]}},
        {"id": "tv-ee", "modalities": ["text", "video"], "task": "ee", "source": "VidSitu-Txt",
         "event_types": {"Transport": ["Artifact", "Destination", "Origin"]}},
    ]
    for s in sets:
        s["count"] = counts[str(s["id"])]
    manifest = {
        "name": "tiny", "version": "1", "schema_version": "1",
        "description": "Tiny test benchmark of muie-bench: drawn shapes, tone bursts, a moving square.",
        "licence": "CC0-1.0",
        "sets": sets,
        "assets": [{"name": "synthetic shapes and tones", "source": "tests/data/make_tiny.py",
                    "licence": "CC0-1.0", "used_in": sorted(k for k in files if k != "instances.jsonl")}],
        "files": files,
        "generator": {"script": "tests/data/make_tiny.py"},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "tiny")
