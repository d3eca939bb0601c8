"""Static HTML report of one run: scores, and per instance the gold and predicted labels
with their groundings drawn on the media (image masks, audio time spans over the waveform,
video mask tracks on sampled frames).

One self-contained file without scripts: audio timelines as inline SVG, images inlined as
base64. By default images are JPEG thumbnails (at most ``THUMB_SIDE`` pixels on a side,
quality ``JPEG_QUALITY``; small images are enlarged by the browser, not in the file), which
keeps the report of a few hundred images at a few MB; ``lossless=True`` inlines full-size
PNGs (exact mask edges, about 8 times larger). Per set, failed instances come first, then
the lowest-scoring ones, up to ``per_set`` instances. Reads run.json, predictions.jsonl,
instance_scores.jsonl (when scored) and the benchmark the run was made on.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from muie_bench.benchmark import Benchmark
from muie_bench.errors import UserError
from muie_bench.paper_sets import COLUMN_TITLES, columns_for, modality_label
from muie_bench.run.files import RunDir
from muie_bench.schema import (
    RLE,
    Annotation,
    Instance,
    InstanceScore,
    Mention,
    Prediction,
    RunRecord,
    Scores,
)

PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (70, 240, 240), (240, 50, 230), (210, 245, 60), (0, 128, 128), (170, 110, 40)]

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1200px}
table{border-collapse:collapse;font-size:.85em;margin:.4em 0}
th,td{border:1px solid #ccc;padding:.2em .45em;vertical-align:top}th{background:#f3f3f3}
.inst{border:1px solid #ddd;padding:.6em;margin:.8em 0;border-radius:4px}
.fail{border-color:#d33;background:#fff5f5}.side{display:flex;gap:1em;flex-wrap:wrap}
.side figure{margin:0}figcaption{font-size:.8em;color:#555}img{image-rendering:pixelated}
pre{white-space:pre-wrap;background:#f7f7f7;padding:.4em;font-size:.8em;max-height:12em;
overflow:auto}.sw{display:inline-block;width:.8em;height:.8em;margin-right:.2em}
"""


THUMB_SIDE = 320
JPEG_QUALITY = 70


def _img(arr: np.ndarray[Any, Any], alt: str, lossless: bool) -> str:
    """An ``<img>`` of an RGB array, shown ``_scale`` times its size.

    Lossless: a PNG enlarged in the file (nearest neighbour). Otherwise: a JPEG of at most
    ``THUMB_SIDE`` pixels on a side, enlarged by the browser (``width`` / ``height``).
    """
    from PIL import Image

    im = Image.fromarray(arr.astype(np.uint8))
    scale = _scale(im.height, im.width)
    buf = io.BytesIO()
    if lossless:
        if scale > 1:
            im = im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST)
        im.save(buf, format="PNG", optimize=True)
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'
    width, height = im.width * scale, im.height * scale
    if max(im.size) > THUMB_SIDE:
        r = THUMB_SIDE / max(im.size)
        im = im.resize((max(1, round(im.width * r)), max(1, round(im.height * r))),
                       Image.Resampling.LANCZOS)
        width, height = im.width, im.height
    im.convert("RGB").save(buf, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'<img alt="{escape(alt)}" width={width} height={height} '
            f'src="data:image/jpeg;base64,{data}">')


def _decode(rle: RLE) -> np.ndarray[Any, Any]:
    from pycocotools import mask as mask_utils

    m = mask_utils.decode({"size": list(rle.size), "counts": rle.counts.encode()})
    return np.asarray(m, dtype=bool)


def _overlay(base: np.ndarray[Any, Any], masks: list[tuple[int, RLE]]) -> np.ndarray[Any, Any]:
    out = base.astype(np.float32).copy()
    for color_i, rle in masks:
        if tuple(rle.size) != base.shape[:2]:
            continue  # a mask of the wrong size cannot be drawn (scored as an input error)
        m = _decode(rle)
        out[m] = 0.45 * out[m] + 0.55 * np.array(PALETTE[color_i % len(PALETTE)], np.float32)
    return out.clip(0, 255)


def _scale(h: int, w: int) -> int:
    return max(1, min(4, 320 // max(h, w, 1)))


def _mentions(a: Annotation) -> list[tuple[str, Mention]]:
    out = [(m.type or "", m) for m in a.entities]
    out += [(f"{e.type} (trigger)", e.trigger) for e in a.events]
    return out


def _legend(a: Annotation) -> str:
    rows = []
    for i, (label, m) in enumerate(_mentions(a)):
        c = PALETTE[i % len(PALETTE)]
        g = ", ".join(m.grounded_modalities()) or "–"
        span = "" if m.span is None else f" [{m.span[0]}, {m.span[1]})"
        rows.append(f'<tr><td><span class="sw" style="background:rgb{c}"></span>'
                    f"{escape(m.id)}</td><td>{escape(label)}</td><td>{escape(m.text)}{span}</td>"
                    f"<td>{escape(g)}</td></tr>")
    rel = [f"<li>{escape(r.type)}({escape(r.head)}, {escape(r.tail)})</li>" for r in a.relations]
    ev = [f"<li>{escape(e.type)}: trigger {escape(e.trigger.text)}; "
          + ", ".join(f"{escape(x.role)}={escape(x.mention)}" for x in e.arguments) + "</li>"
          for e in a.events]
    table = ("<table><tr><th>id</th><th>type</th><th>text</th><th>grounded in</th></tr>"
             + "".join(rows) + "</table>") if rows else "<p>(nothing)</p>"
    extra = f"<ul>{''.join(rel + ev)}</ul>" if rel or ev else ""
    return table + extra


def _image_panel(bench: Benchmark, inst: Instance, gold: Annotation, pred: Annotation,
                 lossless: bool) -> str:
    if inst.image is None:
        return ""
    img = bench.media.image(inst.image)
    figs = []
    for name, a in (("gold", gold), ("predicted", pred)):
        masks = [(i, m.image_mask) for i, (_l, m) in enumerate(_mentions(a))
                 if m.image_mask is not None]
        figs.append(f"<figure>{_img(_overlay(img, masks), f'{name} masks', lossless)}"
                    f"<figcaption>image, {name} masks</figcaption></figure>")
    return "".join(figs)


def _video_panel(bench: Benchmark, inst: Instance, gold: Annotation, pred: Annotation,
                 lossless: bool) -> str:
    if inst.video is None:
        return ""
    frames_with = sorted({f for _l, m in _mentions(gold) if m.video_track
                          for f in m.video_track.frames})
    info = bench.media.video_info(inst.video)
    picks = ([frames_with[0], frames_with[len(frames_with) // 2], frames_with[-1]]
             if frames_with else [0, info.frames // 2, max(info.frames - 1, 0)])
    wanted = sorted(set(picks))
    decoded: dict[int, np.ndarray[Any, Any]] = {}
    for i, fr in enumerate(bench.media.video_frames(inst.video)):
        if i in wanted:
            decoded[i] = fr
        if i >= wanted[-1]:
            break
    figs = []
    for fi in wanted:
        if fi not in decoded:
            continue
        fr = decoded[fi]
        for name, a in (("gold", gold), ("predicted", pred)):
            masks = [(i, m.video_track.frames[fi]) for i, (_l, m) in enumerate(_mentions(a))
                     if m.video_track is not None and fi in m.video_track.frames]
            figs.append(f"<figure>{_img(_overlay(fr, masks), f'frame {fi} {name}', lossless)}"
                        f"<figcaption>frame {fi} ({fi / info.fps:.2f} s), {name}"
                        "</figcaption></figure>")
    return "".join(figs)


def _audio_panel(bench: Benchmark, inst: Instance, gold: Annotation, pred: Annotation) -> str:
    if inst.audio is None:
        return ""
    samples, rate = bench.media.audio(inst.audio)
    dur = max(len(samples) / rate, 1e-6)
    width, height = 600, 150
    bins = np.array_split(np.abs(samples), width) if len(samples) >= width else [samples]
    env = [float(b.max()) if len(b) else 0.0 for b in bins]
    top = max(env) or 1.0
    wave = " ".join(f"M{x},{50 - 22 * v / top:.1f}V{50 + 22 * v / top:.1f}"
                    for x, v in enumerate(env))
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             'xmlns="http://www.w3.org/2000/svg" role="img">',
             f'<path d="{wave}" stroke="#999" stroke-width="1"/>']
    for row, (name, a) in enumerate((("gold", gold), ("predicted", pred))):
        y = 85 + row * 30
        parts.append(f'<text x="2" y="{y + 11}" font-size="10">{name}</text>')
        for i, (_l, m) in enumerate(_mentions(a)):
            for st, en in m.audio_spans or []:
                x0, x1 = width * st / dur, width * min(en, dur) / dur
                c = PALETTE[i % len(PALETTE)]
                parts.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 1):.1f}" '
                             f'height="14" fill="rgb{c}" opacity=".8"><title>'
                             f"{escape(m.text)} {st:.2f}–{en:.2f} s</title></rect>")
    parts.append(f'<text x="{width - 40}" y="{height - 2}" font-size="10">{dur:.2f} s</text>')
    parts.append("</svg>")
    return f'<figure>{"".join(parts)}<figcaption>audio, gold / predicted spans</figcaption></figure>'


def _instance_html(bench: Benchmark, inst: Instance, pred: Prediction | None,
                   score: InstanceScore | None, lossless: bool) -> str:
    p = pred.output if pred is not None else Annotation()
    cls = "inst fail" if pred is None or pred.error else "inst"
    head = f"<h4>{escape(inst.id)}</h4>"
    if inst.text:
        head += f"<p>{escape(inst.text)}</p>"
    if pred is None:
        head += "<p><b>missing</b>: no prediction</p>"
    elif pred.error:
        head += f"<p><b>error</b>: {escape(pred.error)}</p>"
    if pred is not None and pred.parse_error:
        head += f"<p><b>parse error</b>: {escape(pred.parse_error)}</p>"
    if score is not None:
        cells = [f"{k}: {c.tp}/{c.predicted}/{c.gold}" for k, c in score.counts.items()]
        cells += [f"{k}: {v * 100:.1f}" for k, v in score.grounding.items()]
        head += f"<p>tp/predicted/gold and IoU %: {escape('; '.join(cells))}</p>"
    try:
        media = (_image_panel(bench, inst, inst.gold, p, lossless)
                 + _video_panel(bench, inst, inst.gold, p, lossless)
                 + _audio_panel(bench, inst, inst.gold, p))
    except (UserError, OSError, ValueError) as e:
        media = f"<p>media not drawn: {escape(str(e))}</p>"
    labels = (f'<div class="side"><div><b>gold</b>{_legend(inst.gold)}</div>'
              f"<div><b>predicted</b>{_legend(p)}</div></div>")
    raw = f"<pre>{escape(pred.raw[:4000])}</pre>" if pred is not None and pred.raw else ""
    return f'<div class="{cls}">{head}<div class="side">{media}</div>{labels}{raw}</div>'


def _score_key(s: InstanceScore | None) -> float:
    if s is None:
        return 0.0
    vals = [2 * c.tp / (c.predicted + c.gold) if c.predicted + c.gold else 1.0
            for c in s.counts.values()] + list(s.grounding.values())
    return sum(vals) / len(vals) if vals else 1.0


def _run_benchmark(record: RunRecord, run_dir: Path) -> Benchmark:
    """The benchmark a run was made on (found by the path or name in run.json, sha256 checked)."""
    return RunDir(run_dir).benchmark(record)


@dataclass
class _RunView:
    """What the report reads of a run directory."""

    record: RunRecord
    predictions: dict[str, Prediction]
    scores: Scores | None
    instance_scores: dict[str, InstanceScore]


def _read_run(run_dir: Path) -> _RunView:
    """run.json, the last prediction per id, scores.json and instance_scores.jsonl (when
    scored); a damaged file is a :class:`UserError` naming it (and the line)."""
    run = RunDir.open(run_dir)
    record = run.record()
    preds = {p.id: p for p in run.predictions()}
    scores = run.scores() if run.scores_path.is_file() else None
    inst_scores = ({s.id: s for s in run.instance_scores()}
                   if run.instance_scores_path.is_file() else {})
    return _RunView(record, preds, scores, inst_scores)


def _check_out(path: Path) -> None:
    """The report is one file: a folder there, or a parent that cannot be made, is an error."""
    if path.is_dir():
        raise UserError(f"{path}: is a folder (--out names the HTML file to write)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{path.parent}: cannot create the output folder ({e.strerror})") from None


def write_report(run_dir: Path, out: Path | None = None, per_set: int = 5,
                 lossless: bool = False) -> Path:
    """Write the report of a run (default: ``RUN_DIR/report.html``); returns its path.

    ``lossless``: full-size PNGs instead of JPEG thumbnails (still one file)."""
    run = _read_run(run_dir)
    path = out or run_dir / "report.html"
    _check_out(path)
    record, preds, scores, inst_scores = run.record, run.predictions, run.scores, run.instance_scores
    bench = _run_benchmark(record, run_dir)
    sel = record.selection
    bench = bench.filter(sel.sets, sel.modalities, sel.tasks, limit=sel.limit)
    c = record.counts
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f'<link rel="icon" href="data:,"><title>run {escape(record.run_id)}</title>',
        f"<style>{CSS}</style></head><body>",
        f"<h1>{escape(record.system.name)} on {escape(bench.name)} {escape(bench.version)}</h1>",
        f"<p>run <code>{escape(record.run_id)}</code>, status {escape(record.status)}; "
        f"{c.done} done, {c.failed} failed, {c.missing} missing "
        f"of {c.total}; kind {escape(record.system.kind)}, fingerprint "
        f"{escape(record.system.fingerprint)}</p>",
    ]
    if scores is not None:
        rows = []
        for sid, ss in scores.sets.items():
            cols = columns_for(sid, ss.task, ss.modalities)
            vals = "; ".join(
                f"{COLUMN_TITLES.get(m, m)} {ss.metrics[m].value:.1f}" for m in cols
                if m in ss.metrics)
            rows.append(f"<tr><td>{escape(sid)}</td><td>{modality_label(ss.modalities)}</td>"
                        f"<td>{escape(vals)}</td><td>{ss.failed}</td></tr>")
        parts.append("<table><tr><th>set</th><th>modalities</th><th>scores (%)</th>"
                     f"<th>failed</th></tr>{''.join(rows)}</table>")
    for sid in bench.set_ids():
        insts = [i for i in bench.instances if i.set == sid]
        insts.sort(key=lambda i: (i.id in preds and not preds[i.id].error,
                                  _score_key(inst_scores.get(i.id)), i.id))
        parts.append(f"<h2>{escape(sid)} ({len(insts)} instances, showing "
                     f"{min(per_set, len(insts))})</h2>")
        for inst in insts[:per_set]:
            parts.append(_instance_html(bench, inst, preds.get(inst.id), inst_scores.get(inst.id),
                                        lossless))
    parts.append("</body></html>")
    try:
        path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    except OSError as e:
        raise UserError(f"{path}: cannot write ({e.strerror})") from None
    return path
