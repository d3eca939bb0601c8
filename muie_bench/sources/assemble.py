"""Sample a benchmark in the paper's 15-set layout from imported (and spoken) sets.

Each paper set (:data:`muie_bench.paper_sets.PAPER_SETS`) takes its instances from every
input set with the same modalities and task (``ti-ner`` from a Twitter-2017 import,
``ta-ner`` from ``data speak`` of an ACE05 import, ...). ``per_set`` of them are drawn
without replacement by a generator seeded from (seed, set id), kept in input order, and
renamed ``<set>-<k:04d>`` (``meta.source_id`` and ``meta.source_benchmark`` say where each
came from). A set with fewer instances takes them all; a paper set no input provides is
left out and listed in the manifest (``generator.missing``). The manifest names every
source dataset, merges the inputs' label inventories, assets and licences.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from muie_bench.errors import UserError


@dataclass
class AssembleReport:
    out: Path
    counts: dict[str, int]
    missing: list[str]
    short: dict[str, int]  # set -> instances available, where fewer than per_set


def assemble(srcs: list[str | Path], out: Path, per_set: int = 200, seed: int = 0,
             name: str = "muie-real") -> AssembleReport:
    from muie_bench.benchmark import Benchmark, load_benchmark, validate_benchmark
    from muie_bench.datagen.rng import instance_rng
    from muie_bench.paper_sets import PAPER_SETS
    from muie_bench.schema import Instance, SetSpec
    from muie_bench.sources.common import prepare_out, sha256_bytes

    if per_set < 1:
        raise UserError(f"--per-set: must be >= 1, got {per_set}")
    if not srcs:
        raise UserError("assemble: no input benchmark given")
    benches: list[Benchmark] = [load_benchmark(s) for s in srcs]
    prepare_out(out)
    lines: list[str] = []
    specs: list[dict[str, Any]] = []
    files: dict[str, str] = {}
    copied: dict[tuple[Path, str], str] = {}
    missing: list[str] = []
    short: dict[str, int] = {}
    used_assets: dict[str, dict[str, Any]] = {}
    for ps in PAPER_SETS:
        pool: list[tuple[Benchmark, Instance]] = []
        contrib: list[tuple[Benchmark, SetSpec]] = []
        for b in benches:
            for spec in b.manifest.sets:
                if sorted(spec.modalities) == sorted(ps.modalities) and spec.task == ps.task:
                    contrib.append((b, spec))
                    pool += [(b, i) for i in b.instances if i.set == spec.id]
        if not pool:
            missing.append(ps.id)
            continue
        rng = instance_rng(seed, ps.id, 0, "assemble")
        n = min(per_set, len(pool))
        if n < per_set:
            short[ps.id] = len(pool)
        chosen = sorted(int(x) for x in rng.choice(len(pool), size=n, replace=False))
        for k, idx in enumerate(chosen):
            b, inst = pool[idx]
            body = json.loads(inst.model_dump_json(exclude_none=True))
            body["id"], body["set"] = f"{ps.id}-{k:04d}", ps.id
            body["modalities"] = list(ps.modalities)
            body["meta"] = {**body.get("meta", {}), "source_id": inst.id, "source_benchmark": b.name}
            for mod in ("image", "audio", "video"):
                rel = body.get(mod)
                if rel is None:
                    continue
                key = (b.root.resolve(), rel)
                if key not in copied:
                    new = _free_name(f"media/{ps.id}/{Path(rel).name}", set(copied.values()))
                    (out / new).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(b.media.path(rel), out / new)
                    copied[key] = new
                    files[new] = b.manifest.files.get(rel) or sha256_bytes((out / new).read_bytes())
                    for a in b.manifest.assets:
                        if rel in a.used_in:
                            entry = used_assets.setdefault(a.name, {**a.model_dump(), "used_in": []})
                            entry["used_in"].append(new)
                body[mod] = copied[key]
            lines.append(Instance.model_validate(body).model_dump_json(exclude_none=True))
        specs.append(_merged_spec(ps.id, list(ps.modalities), ps.task, contrib, n, seed))
    if not specs:
        raise UserError("assemble: no input set matches a paper set (modalities and task); "
                        "import or speak some first")
    data = "".join(x + "\n" for x in lines).encode()
    (out / "instances.jsonl").write_bytes(data)
    files["instances.jsonl"] = sha256_bytes(data)
    licences: list[str] = []
    for b in benches:
        for piece in b.manifest.licence.split("; "):
            if piece and piece not in licences:
                licences.append(piece)
    sources = sorted({s["source"] for s in specs})
    manifest = {
        "name": name, "version": "1",
        "description": (f"The paper's 15-set layout sampled from real source datasets ({per_set} per "
                        f"set, seed {seed}): {', '.join(sources)}."
                        + (f" Missing sets (no input): {', '.join(missing)}." if missing else "")),
        "licence": "; ".join(licences),
        "sets": specs,
        "assets": [{**a, "used_in": sorted(a["used_in"])} for a in used_assets.values()],
        "files": dict(sorted(files.items())),
        "generator": {"tool": "muie_bench.sources.assemble", "seed": seed, "per_set": per_set,
                      "inputs": [b.info() for b in benches], "missing": missing, "short": short},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    validate_benchmark(out)
    return AssembleReport(out, {s["id"]: s["count"] for s in specs}, missing, short)


def _merged_spec(set_id: str, mods: list[str], task: str, contrib: list[Any], n: int,
                 seed: int) -> dict[str, Any]:
    ents: set[str] = set()
    rels: set[str] = set()
    events: dict[str, list[str]] = {}
    groundings: set[str] = set()
    sources: list[str] = []
    origins: list[str] = []
    for b, spec in contrib:
        ents.update(spec.entity_types)
        rels.update(spec.relation_types)
        for ev, roles in spec.event_types.items():
            events[ev] = events.get(ev, []) + [r for r in roles if r not in events.get(ev, [])]
        groundings.add(spec.grounding or "mask")
        if spec.source not in sources:
            sources.append(spec.source)
        origins.append(f"{b.name}/{spec.id}")
    out: dict[str, Any] = {
        "id": set_id, "modalities": mods, "task": task, "source": "; ".join(sources),
        "description": f"{n} instances sampled (seed {seed}) from {', '.join(origins)}",
        "entity_types": sorted(ents), "relation_types": sorted(rels),
        "event_types": dict(sorted(events.items())), "count": n,
    }
    if "image" in mods or "video" in mods:  # one kind per set; masks mixed with boxes are box-level
        out["grounding"] = "box" if "box" in groundings else ("none" if groundings == {"none"} else "mask")
    return out


def _free_name(rel: str, taken: set[str]) -> str:
    p = Path(rel)
    k, cand = 1, rel
    while cand in taken:
        cand = str(p.with_name(f"{p.stem}-{k}{p.suffix}"))
        k += 1
    return cand
