"""Build muie-synth: every set's instances (in parallel), media files and the manifest.

``build(size, seed, out, workers)`` writes ``out/instances.jsonl`` (sets in paper order,
instances in index order), ``out/media/<set>/<id>.<ext>`` and ``out/manifest.json`` with
the sets' label inventories, per-asset licences and the sha256 of every file. Instance
``k`` of set ``s`` depends only on ``(seed, s, k)``, so ``mini`` (8 per set) equals the first
8 instances of each set of ``full`` (200 per set), byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from muie_bench.datagen import GENERATOR_VERSION
from muie_bench.datagen.common import Ctx
from muie_bench.datagen.inventory import DESCRIPTIONS, INVENTORY
from muie_bench.errors import UserError
from muie_bench.paper_sets import PAPER_SETS

SIZES = {"mini": 8, "full": 200}
NAMES = {"mini": "muie-synth-mini", "full": "muie-synth"}

DESCRIPTION = (
    "muie-synth: a generated grounded-MUIE benchmark in the paper's 15-set layout. Media are "
    "composed from real images that ship inside pip wheels (scikit-image, matplotlib, "
    "scikit-learn) and speech synthesised with eSpeak NG; ground truth (text spans, masks, "
    "time spans, mask tracks) is exact by construction. All names of people, organisations "
    "and places are fictional. Photos of faces (LFW subset, the astronaut, Grace Hopper, the "
    "cameraman) are used only as generic person cut-outs under fictional names: nothing in "
    "the benchmark is a claim about the persons depicted."
)


def _builders() -> dict[str, Callable[[Ctx], dict[str, Any]]]:
    from muie_bench.datagen import sets_image, sets_mixed, sets_video

    out: dict[str, Callable[[Ctx], dict[str, Any]]] = {}
    for mod in (sets_image, sets_mixed, sets_video):
        for s in PAPER_SETS:
            fn = getattr(mod, "build_" + s.id.replace("-", "_"), None)
            if fn is not None:
                out[s.id] = fn
    return out


@dataclass
class Built:
    set_id: str
    k: int
    line: str
    files: dict[str, bytes]
    assets: list[str]


def build_instance(seed: int, set_id: str, k: int) -> Built:
    """Instance ``k`` of ``set_id``: its JSON line, media bytes and the assets it used."""
    from muie_bench.datagen.rng import instance_rng
    from muie_bench.paper_sets import PAPER_SET_BY_ID
    from muie_bench.schema import Instance

    ctx = Ctx(seed, set_id, k, instance_rng(seed, set_id, k))
    body = _builders()[set_id](ctx)
    ps = PAPER_SET_BY_ID[set_id]
    inst = Instance.model_validate(
        {"id": ctx.id, "set": set_id, "modalities": list(ps.modalities), "task": ps.task, **body}
    )
    return Built(set_id, k, inst.model_dump_json(exclude_none=True), ctx.files, sorted(ctx.assets))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _package_versions() -> dict[str, str]:
    from muie_bench.provenance import package_version

    return {p: package_version(p) for p in (
        "numpy", "scipy", "pillow", "av", "soundfile", "pycocotools", "scikit-image",
        "scikit-learn", "matplotlib", "espeakng-loader")}


def manifest_dict(size: str, seed: int, per_set: int, sets: list[str],
                  files: dict[str, str], used: dict[str, list[str]]) -> dict[str, Any]:
    from muie_bench.datagen.assets import ASSETS
    from muie_bench.paper_sets import PAPER_SET_BY_ID

    specs = []
    for sid in sets:
        ps = PAPER_SET_BY_ID[sid]
        specs.append({"id": sid, "modalities": list(ps.modalities), "task": ps.task,
                      "source": ps.source, "description": DESCRIPTIONS[sid],
                      **INVENTORY[sid], "count": per_set})
    assets = [{"name": a.name, "source": a.source, "licence": a.licence,
               "attribution": a.attribution, "used_in": sorted(used.get(a.name, []))}
              for a in ASSETS.values() if used.get(a.name)]
    return {
        "name": NAMES.get(size, f"muie-synth-{size}"),
        "version": GENERATOR_VERSION,
        "description": DESCRIPTION,
        "licence": "generated data: CC-BY-4.0; third-party assets keep their licences (assets)",
        "sets": specs,
        "assets": assets,
        "files": dict(sorted(files.items())),
        "generator": {"tool": "muie_bench.datagen", "version": GENERATOR_VERSION,
                      "seed": seed, "size": size, "per_set": per_set,
                      "packages": _package_versions()},
    }


def _prepare_out(out: Path) -> None:
    if out.exists():
        if not out.is_dir():
            raise UserError(f"--out {out}: exists and is not a directory")
        names = {p.name for p in out.iterdir()}
        if names - {"manifest.json", "instances.jsonl", "media"}:
            raise UserError(f"--out {out}: not empty and not a benchmark directory; "
                            f"refusing to overwrite it")
        shutil.rmtree(out / "media", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


@dataclass
class BuildReport:
    out: Path
    instances: int
    files: int
    bytes: int
    seconds: float


def build(
    size: str = "mini",
    seed: int = 0,
    out: Path | None = None,
    workers: int = 1,
    sets: list[str] | None = None,
    per_set: int | None = None,
    progress: bool = True,
) -> BuildReport:
    """Generate a benchmark directory. ``per_set`` overrides the size's count (tests)."""
    from muie_bench.benchmark import data_dir

    if size not in SIZES:
        raise UserError(f"--size: must be one of {', '.join(SIZES)}, got {size!r}")
    n = per_set if per_set is not None else SIZES[size]
    set_ids = [s.id for s in PAPER_SETS if sets is None or s.id in sets]
    unknown = set(sets or []) - set(set_ids)
    if unknown:
        raise UserError(f"--sets: unknown set {sorted(unknown)[0]!r}")
    if workers < 1:
        raise UserError(f"--workers: must be >= 1, got {workers}")
    out = Path(out) if out is not None else data_dir() / NAMES[size]
    _prepare_out(out)
    t0 = time.perf_counter()
    tasks = [(seed, s, k) for s in set_ids for k in range(n)]
    lines: dict[tuple[str, int], str] = {}
    files: dict[str, str] = {}
    used: dict[str, list[str]] = {}
    total_bytes = 0

    def take(b: Built) -> None:
        nonlocal total_bytes
        lines[(b.set_id, b.k)] = b.line
        for rel, data in b.files.items():
            p = out / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            files[rel] = _sha(data)
            total_bytes += len(data)
            for a in b.assets:
                used.setdefault(a, []).append(rel)

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), disable=not progress) as bar:
        job = bar.add_task(f"building {out.name}", total=len(tasks))
        if workers == 1:
            for t in tasks:
                take(build_instance(*t))
                bar.advance(job)
        else:
            import multiprocessing as mp

            with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
                futs = [pool.submit(build_instance, *t) for t in tasks]
                for f in as_completed(futs):
                    take(f.result())
                    bar.advance(job)
    body = "".join(lines[(s, k)] + "\n" for s in set_ids for k in range(n)).encode()
    (out / "instances.jsonl").write_bytes(body)
    files["instances.jsonl"] = _sha(body)
    total_bytes += len(body)
    man = manifest_dict(size, seed, n, set_ids, files, used)
    (out / "manifest.json").write_text(json.dumps(man, indent=1) + "\n", encoding="utf-8")
    return BuildReport(out, len(lines), len(files), total_bytes, time.perf_counter() - t0)
