"""Spoken versions of text (or text + image) sets, made as muie-synth makes its speech sets.

For every instance of a set whose modalities are ``text`` or ``text + image``, and for each
requested target (``A``, ``T+A`` from a text set; ``I+A``, ``T+I+A`` from a text + image
set), the instance's text is synthesised by :func:`muie_bench.datagen.scenes.speak` (eSpeak
NG in a fresh process, a voice and speed drawn from the instance's own generator, white noise
at 20 dB SNR in half the recordings). Every mention with a text span gets the time span of
its words from :func:`muie_bench.datagen.speech.spans` (eSpeak's word events, silence
trimmed). A mention whose first characters start no eSpeak word (punctuation eSpeak does not
speak) is located from the first word that starts inside it; one with no word at all keeps no
audio span (counted in ``meta.unlocated``). Without text in the target (A, I+A) spans are
dropped. Output set ids are the target's letters and the task (``ta-ner``, ``tia-ner``).
Instance ``k`` of an output set depends only on (seed, set id, k), as in muie-synth.
"""

from __future__ import annotations

import copy
import json
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from muie_bench.errors import UserError
from muie_bench.paper_sets import modality_label

TARGETS: dict[tuple[str, ...], tuple[tuple[str, ...], ...]] = {
    ("text",): (("audio",), ("text", "audio")),
    ("image", "text"): (("image", "audio"), ("text", "image", "audio")),
}
_LETTERS = {"T": "text", "I": "image", "A": "audio"}


def parse_target(spec: str) -> tuple[str, ...]:
    """'T+I+A' -> ('text', 'image', 'audio')."""
    parts = [p.strip().upper() for p in spec.split("+") if p.strip()]
    if not parts or any(p not in _LETTERS for p in parts) or "A" not in parts:
        raise UserError(f"--as: {spec!r} is not a speech target (A, T+A, I+A, T+I+A)")
    order = ("text", "image", "audio")
    return tuple(m for m in order if m in {_LETTERS[p] for p in parts})


def out_set_id(mods: tuple[str, ...], task: str) -> str:
    return modality_label(list(mods)).replace("+", "").lower() + "-" + task  # type: ignore[arg-type]


@dataclass
class Job:
    seed: int
    set_id: str
    k: int
    modalities: tuple[str, ...]
    inst: dict[str, Any]


@dataclass
class Spoken:
    set_id: str
    k: int
    line: str
    files: dict[str, bytes]
    unlocated: int


def _locate(words: list[int], s: int, e: int) -> int | None:
    if s in words:
        return s
    inside = [c for c in words if s <= c < e]
    return min(inside) if inside else None


def speak_instance(job: Job) -> Spoken:
    """One spoken instance (run in a worker process)."""
    from muie_bench.datagen import speech as S
    from muie_bench.datagen.common import Ctx
    from muie_bench.datagen.rng import instance_rng
    from muie_bench.datagen.scenes import speak
    from muie_bench.schema import Instance

    ctx = Ctx(job.seed, job.set_id, job.k, instance_rng(job.seed, job.set_id, job.k))
    inst = copy.deepcopy(job.inst)
    text = inst["text"]
    audio, sp = speak(ctx, text)
    starts = [c for c, _ in sp.words]
    unlocated = 0
    gold = inst["gold"]
    mentions = [*gold.get("entities", []), *(e["trigger"] for e in gold.get("events", []))]
    for m in mentions:
        span = m.get("span")
        if span is None:
            continue
        c = _locate(starts, span[0], span[1])
        if c is None:
            unlocated += 1
        else:
            m["audio_spans"] = S.spans(sp, c, span[1])
        if "text" not in job.modalities:
            del m["span"]
    body = {
        "id": ctx.id, "set": job.set_id, "modalities": list(job.modalities), "task": inst["task"],
        "audio": audio, "gold": gold,
        "meta": {**inst.get("meta", {}), "speech_of": inst["id"], "voice": sp.voice,
                 "unlocated": unlocated},
    }
    if "text" in job.modalities:
        body["text"] = text
    if "image" in job.modalities:
        body["image"] = inst["image"]
    line = Instance.model_validate(body).model_dump_json(exclude_none=True)
    return Spoken(job.set_id, job.k, line, ctx.files, unlocated)


@dataclass
class SpeakReport:
    out: Path
    counts: dict[str, int]
    unlocated: int


def speak_benchmark(
    src: str | Path,
    out: Path,
    targets: list[str] | None = None,
    sets: list[str] | None = None,
    seed: int = 0,
    workers: int = 1,
) -> SpeakReport:
    """Write the spoken versions of ``src``'s text and text + image sets to ``out``."""
    from muie_bench.benchmark import load_benchmark, validate_benchmark
    from muie_bench.datagen.assets import ASSETS
    from muie_bench.sources.common import prepare_out, sha256_bytes

    bench = load_benchmark(src)
    wanted = [parse_target(t) for t in targets] if targets else None
    jobs: list[Job] = []
    specs: list[dict[str, Any]] = []
    for spec in bench.manifest.sets:
        if sets and spec.id not in sets:
            continue
        key = tuple(sorted(spec.modalities))
        if key not in TARGETS:
            if sets:
                raise UserError(f"--sets: set {spec.id!r} is {'+'.join(spec.modalities)}; only text and "
                                f"text+image sets can be spoken")
            continue
        insts = [i for i in bench.instances if i.set == spec.id]
        for mods in TARGETS[key]:
            if wanted is not None and mods not in wanted:
                continue
            sid = out_set_id(mods, spec.task)
            if any(s["id"] == sid for s in specs):
                raise UserError(f"two input sets would both become {sid!r}; choose one with --sets")
            d = spec.model_dump(exclude_none=True)
            specs.append({**d, "id": sid, "modalities": list(mods), "count": len(insts),
                          "source": f"{spec.source} (speech)",
                          "description": f"{spec.description} Spoken with eSpeak NG "
                                         f"({modality_label(list(mods))}) from set {spec.id}."})  # type: ignore[arg-type]
            for k, inst in enumerate(insts):
                jobs.append(Job(seed, sid, k, mods, json.loads(inst.model_dump_json(exclude_none=True))))
    if not jobs:
        raise UserError(f"{bench.root}: no text or text+image set to speak")
    prepare_out(out)
    results: list[Spoken] = []
    if workers <= 1:
        results = [speak_instance(j) for j in jobs]
    else:
        import multiprocessing as mp

        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            results = list(pool.map(speak_instance, jobs, chunksize=4))
    files: dict[str, str] = {}
    wavs: list[str] = []
    for r in results:
        for rel, data in r.files.items():
            p = out / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            files[rel] = sha256_bytes(data)
            wavs.append(rel)
    images = sorted({j.inst["image"] for j in jobs if "image" in j.modalities})
    for rel in images:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(bench.media.path(rel), out / rel)
        files[rel] = bench.manifest.files.get(rel) or sha256_bytes((out / rel).read_bytes())
    order = {s["id"]: n for n, s in enumerate(specs)}
    results.sort(key=lambda r: (order[r.set_id], r.k))
    data = "".join(r.line + "\n" for r in results).encode()
    (out / "instances.jsonl").write_bytes(data)
    files["instances.jsonl"] = sha256_bytes(data)
    kept = set(images)
    assets = []
    for a in bench.manifest.assets:
        used = [u for u in a.used_in if u in kept]
        if used:
            assets.append({**a.model_dump(), "used_in": used})
    es = ASSETS["espeak-ng"]
    assets.append({"name": es.name, "source": es.source, "licence": es.licence,
                   "attribution": es.attribution, "used_in": sorted(wavs)})
    manifest = {
        "name": f"{bench.name}-speech", "version": bench.version,
        "description": f"Spoken versions (eSpeak NG, as muie-synth's speech sets) of {bench.name}. "
                       f"{bench.manifest.description}",
        "licence": bench.manifest.licence + "; speech: eSpeak NG output (assets)",
        "sets": specs, "assets": assets, "files": dict(sorted(files.items())),
        "generator": {"tool": "muie_bench.sources.speak", "seed": seed, "from": bench.info(),
                      "unlocated_mentions": sum(r.unlocated for r in results)},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    validate_benchmark(out)
    counts = {s["id"]: s["count"] for s in specs}
    return SpeakReport(out, counts, sum(r.unlocated for r in results))
