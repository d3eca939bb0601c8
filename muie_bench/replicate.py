"""Replicate a benchmark to N instances (for load tests of the harness itself).

Copies ``manifest.json`` and ``media/`` of a source benchmark and writes N instances that
cycle through the source's instances with ids ``<id>~<k>`` (k = copy number). Media paths
are unchanged, so the copies share the media files. Set counts and the sha256 of
``instances.jsonl`` are rewritten so the result loads and validates like any benchmark.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

from muie_bench.benchmark import INSTANCES, MANIFEST, resolve_benchmark_path, sha256_file
from muie_bench.errors import UserError


def replicate_benchmark(src: str | Path, dst: Path, n: int, name: str | None = None) -> Path:
    """Write a benchmark of exactly ``n`` instances made from ``src`` into ``dst``."""
    if n < 1:
        raise UserError(f"replicate: n must be >= 1, got {n}")
    root = resolve_benchmark_path(src)
    lines = [ln for ln in (root / INSTANCES).read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not lines:
        raise UserError(f"{root / INSTANCES}: no instances to replicate")
    dst.mkdir(parents=True, exist_ok=True)
    if (root / "media").is_dir() and not (dst / "media").exists():
        shutil.copytree(root / "media", dst / "media")
    counts: Counter[str] = Counter()
    with open(dst / INSTANCES, "w", encoding="utf-8") as f:
        for i in range(n):
            rec = json.loads(lines[i % len(lines)])
            rec["id"] = f"{rec['id']}~{i // len(lines)}"
            counts[rec["set"]] += 1
            f.write(json.dumps(rec, sort_keys=True) + "\n")
    manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    manifest["name"] = name or f"{manifest['name']}-x{n}"
    for s in manifest["sets"]:
        s["count"] = counts.get(s["id"], 0)
    manifest.setdefault("files", {})[INSTANCES] = sha256_file(dst / INSTANCES)
    manifest.setdefault("generator", {})["replicated_from"] = str(root)
    (dst / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return dst
