"""Benchmarks as Hugging Face ``datasets`` datasets, and back.

:func:`export_hf` writes a benchmark with ``Dataset.save_to_disk``: one row per instance with
``id``, ``set``, ``task``, ``modalities``, ``text``, the media as ``Image`` / ``Audio`` /
``Video`` features (bytes embedded), their relative paths (``image_path`` ...), and the
annotation as JSON columns (``entities``, ``relations``, ``events``, ``meta``). The manifest
travels as JSON in the dataset's ``info.description``.

:func:`hf_benchmark_path` is what :func:`muie_bench.benchmark.resolve_benchmark_path` asks
first: a saved dataset directory is materialised once into the cache
(``$MUIE_BENCH_CACHE`` or ``~/.cache/muie-bench``) as a benchmark directory, keyed by the
dataset's fingerprint; a hub name (``owner/name``) is loaded with ``datasets`` (which fails
in one line when offline). Media are written back under their original paths, so a round
trip gives the same instances.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from muie_bench.errors import UserError

MARKER = "muie_bench_manifest"
MEDIA = ("image", "audio", "video")
_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise UserError("Hugging Face datasets are not installed: pip install 'muie-bench[hf]'") from None
    return datasets


def export_hf(src: str | Path, out: Path) -> int:
    """Save benchmark ``src`` as a ``datasets`` dataset at ``out``; the number of rows."""
    import pyarrow as pa

    from muie_bench.benchmark import load_benchmark

    ds_mod = _datasets()
    from datasets.table import InMemoryTable

    bench = load_benchmark(src)
    if out.exists() and any(out.iterdir()):
        if not (out / "dataset_info.json").is_file():
            raise UserError(f"--out {out}: not empty and not a saved dataset; refusing to overwrite it")
        shutil.rmtree(out)
    cols: dict[str, list[Any]] = {k: [] for k in (
        "id", "set", "task", "modalities", "text", *MEDIA, *(f"{m}_path" for m in MEDIA),
        "entities", "relations", "events", "meta")}
    for inst in bench.instances:
        d = json.loads(inst.model_dump_json(exclude_none=True))
        for k in ("id", "set", "task", "modalities"):
            cols[k].append(d[k])
        cols["text"].append(d.get("text"))
        for m in MEDIA:
            rel = d.get(m)
            cols[f"{m}_path"].append(rel)
            cols[m].append(None if rel is None else {
                "bytes": bench.media.path(rel).read_bytes(), "path": Path(rel).name})
        for k in ("entities", "relations", "events"):
            cols[k].append(json.dumps(d["gold"].get(k, []), ensure_ascii=False))
        cols["meta"].append(json.dumps(d.get("meta", {}), ensure_ascii=False))
    blob = pa.struct({"bytes": pa.binary(), "path": pa.string()})
    table = pa.table({k: pa.array(v, blob if k in MEDIA else None) for k, v in cols.items()})
    feats = ds_mod.Features({
        "id": ds_mod.Value("string"), "set": ds_mod.Value("string"), "task": ds_mod.Value("string"),
        "modalities": ds_mod.List(ds_mod.Value("string")), "text": ds_mod.Value("string"),
        "image": ds_mod.Image(), "audio": ds_mod.Audio(), "video": ds_mod.Video(),
        **{f"{m}_path": ds_mod.Value("string") for m in MEDIA},
        **{k: ds_mod.Value("string") for k in ("entities", "relations", "events", "meta")},
    })
    table = table.cast(feats.arrow_schema)
    manifest = json.loads(bench.manifest.model_dump_json(exclude_none=True))
    manifest.pop("files", None)
    info = ds_mod.DatasetInfo(description=json.dumps({MARKER: manifest}), features=feats,
                              dataset_name=bench.name, version=None)
    # built from an Arrow table: the Audio / Video encoders (torchcodec) are not needed
    ds_mod.disable_progress_bars()
    ds_mod.Dataset(InMemoryTable(table), info=info).save_to_disk(str(out))
    return len(bench.instances)


def is_saved_dataset(p: Path) -> bool:
    return p.is_dir() and (p / "dataset_info.json").is_file() and (p / "state.json").is_file()


def hf_benchmark_path(name_or_path: str | Path) -> Path | None:
    """A benchmark directory for a saved dataset or a hub name; None for anything else."""
    p = Path(name_or_path)
    if (p / "manifest.json").is_file():
        return None
    if is_saved_dataset(p):
        digest = hashlib.sha256((p / "state.json").read_bytes() + (p / "dataset_info.json").read_bytes())
        return _materialise_cached(digest.hexdigest()[:16], lambda: _datasets().load_from_disk(str(p)),
                                   str(p))
    s = str(name_or_path)
    if not p.exists() and _HUB_NAME.fullmatch(s) and not s.startswith(("./", "../")):
        import importlib.util

        if importlib.util.find_spec("datasets") is None:
            return None  # without the hf extra a missing path is just a missing path
        key = hashlib.sha256(f"hub:{s}".encode()).hexdigest()[:16]
        return _materialise_cached(key, lambda: _load_hub(s), s)
    return None


def _hub_unreachable() -> str | None:
    """Why the hub cannot be reached (offline mode, no DNS), or None: checked first so an
    offline machine fails at once instead of after the client's retries."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return None  # datasets answers from its cache or fails at once
    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.getaddrinfo(host, 443)
    except OSError as e:
        return f"{host} cannot be resolved ({e.strerror or e}); offline?"
    return None


def _load_hub(name: str) -> Any:
    ds_mod = _datasets()
    why = _hub_unreachable()
    if why:
        raise UserError(f"benchmark {name!r}: no such directory or known benchmark, and the Hugging "
                        f"Face hub cannot be reached: {why}")
    import logging

    for logger in ("huggingface_hub", "datasets"):  # no retry chatter: the error below is the one line
        logging.getLogger(logger).setLevel(logging.ERROR)
    try:
        d = ds_mod.load_dataset(name)
    except Exception as e:  # offline, unknown name, no access: one line
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"benchmark {name!r}: no such directory or known benchmark, and the Hugging "
                        f"Face hub dataset could not be loaded ({type(e).__name__}: {msg[:200]})") from None
    if isinstance(d, ds_mod.DatasetDict):
        split = "test" if "test" in d else next(iter(d))
        return d[split]
    return d


def cache_dir() -> Path:
    env = os.environ.get("MUIE_BENCH_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "muie-bench"


def _materialise_cached(key: str, load: Any, what: str) -> Path:
    target = cache_dir() / "hf" / key
    if (target / ".complete").is_file():
        return target
    ds = load()
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    materialise(ds, tmp, what)
    (tmp / ".complete").write_text(what + "\n")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def materialise(ds: Any, out: Path, what: str) -> None:
    """Write dataset ``ds`` (exported by :func:`export_hf`) as a benchmark directory."""
    from muie_bench.schema import Instance
    from muie_bench.sources.common import sha256_bytes

    try:
        manifest = json.loads(ds.info.description or "")[MARKER]
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{what}: a datasets dataset, but not one exported by muie-bench "
                        f"(no manifest in its info.description)") from None
    out.mkdir(parents=True)
    files: dict[str, str] = {}
    lines: list[str] = []
    for batch in ds.with_format("arrow").iter(batch_size=64):
        for row in batch.to_pylist():
            body: dict[str, Any] = {k: row[k] for k in ("id", "set", "task", "modalities")}
            if row["text"] is not None:
                body["text"] = row["text"]
            for m in MEDIA:
                rel = row[f"{m}_path"]
                if rel is None:
                    continue
                data = (row[m] or {}).get("bytes")
                if data is None:
                    raise UserError(f"{what}: row {row['id']!r}: {m} has no embedded bytes")
                dst = out / rel
                if not dst.resolve().is_relative_to(out.resolve()):
                    raise UserError(f"{what}: row {row['id']!r}: {m}_path {rel!r} leaves the directory")
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_bytes(data)
                files[rel] = sha256_bytes(data)
                body[m] = rel
            body["gold"] = {k: json.loads(row[k]) for k in ("entities", "relations", "events")}
            body["meta"] = json.loads(row["meta"])
            lines.append(Instance.model_validate(body).model_dump_json(exclude_none=True))
    data = "".join(x + "\n" for x in lines).encode()
    (out / "instances.jsonl").write_bytes(data)
    files["instances.jsonl"] = sha256_bytes(data)
    manifest["files"] = dict(sorted(files.items()))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
