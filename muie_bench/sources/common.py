"""What every source converter shares: located problems, JSON with line numbers, token text,
box masks, and writing the converted sets as a benchmark directory.

A converter reads its source files into :class:`Converted` sets (instance dicts whose media
are absolute paths of the source files). :func:`write_benchmark` copies the media to
``media/<set>/<name>``, checks every instance against the schema, writes
``instances.jsonl`` and the manifest (label inventories, sources, licences, sha256s), then
validates the result.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from muie_bench.errors import UserError, ValidationProblems

# --------------------------------------------------------------------------- problems


class BadRecord(Exception):
    """A malformed source record: ``field`` is where in the record, ``message`` what is wrong."""

    def __init__(self, field: str, message: str, line: int | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.line = line


@dataclass
class Problems:
    """Located problems (``file:line: field: message``) of one import."""

    lines: list[str] = field(default_factory=list)

    def add(self, path: Path | str, line: int, fld: str, message: str) -> None:
        self.lines.append(f"{path}:{line}: {fld}: {message}")

    def bad(self, path: Path | str, line: int, e: BadRecord) -> None:
        self.add(path, e.line if e.line is not None else line, e.field, e.message)


def need(rec: Any, key: str, typ: type | tuple[type, ...], where: str = "") -> Any:
    """``rec[key]``, which must exist and be of ``typ`` (else :class:`BadRecord`)."""
    name = f"{where}.{key}" if where else key
    if not isinstance(rec, dict):
        raise BadRecord(where or "(record)", f"expected an object, got {type(rec).__name__}")
    if key not in rec:
        raise BadRecord(name, "missing")
    v = rec[key]
    if not isinstance(v, typ) or (isinstance(v, bool) and bool not in _as_tuple(typ)):
        want = " or ".join(t.__name__ for t in _as_tuple(typ))
        raise BadRecord(name, f"expected {want}, got {type(v).__name__} {_short(v)}")
    return v


def _as_tuple(typ: type | tuple[type, ...]) -> tuple[type, ...]:
    return typ if isinstance(typ, tuple) else (typ,)


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


def token_range(rec: dict[str, Any], n_tokens: int, where: str, start_key: str = "start",
                end_key: str = "end", inclusive: bool = False, fld: str | None = None) -> tuple[int, int]:
    """``[start, end)`` token offsets; ``inclusive`` reads an end-inclusive end (TACRED).
    ``fld`` names the field in a problem (default: ``where.start_key``)."""
    s = need(rec, start_key, int, where)
    e = need(rec, end_key, int, where) + (1 if inclusive else 0)
    if not 0 <= s < e <= n_tokens:
        shown = e - 1 if inclusive else e
        raise BadRecord(fld or (f"{where}.{start_key}" if where else start_key),
                        f"token range [{s}, {shown}{']' if inclusive else ')'} is not inside the "
                        f"{n_tokens} tokens")
    return s, e


# --------------------------------------------------------------------------- JSON with lines


def read_json_items(path: Path) -> tuple[str, list[tuple[Any, Any, int]]]:
    """Top-level items of a JSON list or object with the line each starts on.

    Returns ``("list", [(index, value, line)])`` or ``("dict", [(key, value, line)])``.
    Raises :class:`ValidationProblems` with the position of a syntax error.
    """
    text = _read_text(path)
    dec = json.JSONDecoder()
    try:
        top = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValidationProblems([f"{path}:{e.lineno}: (json): {e.msg}"]) from None
    if not isinstance(top, list | dict):
        raise ValidationProblems([f"{path}:1: (json): expected a list or an object, got "
                                  f"{type(top).__name__}"])
    out: list[tuple[Any, Any, int]] = []
    pos = _skip_ws(text, 0) + 1  # past '[' or '{'
    for k in range(len(top)):
        pos = _skip_ws(text, pos)
        if text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
        line = text.count("\n", 0, pos) + 1
        if isinstance(top, dict):
            key, pos = dec.raw_decode(text, pos)
            pos = _skip_ws(text, pos) + 1  # past ':'
            pos = _skip_ws(text, pos)
            value, pos = dec.raw_decode(text, pos)
            out.append((key, value, line))
        else:
            value, pos = dec.raw_decode(text, pos)
            out.append((k, value, line))
    return ("dict" if isinstance(top, dict) else "list"), out


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its line end)."""
    for n, line in enumerate(_read_text(path).split("\n"), start=1):
        yield n, line.rstrip("\r")


# --------------------------------------------------------------------------- text


PTB_BRACKETS = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}


@dataclass
class TokenText:
    """Tokens joined by single spaces; ``char(s, e)`` is the character span of tokens [s, e)."""

    tokens: list[str]
    text: str = ""
    starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        pos = 0
        for t in self.tokens:
            self.starts.append(pos)
            pos += len(t) + 1
        self.text = " ".join(self.tokens)

    def char(self, s: int, e: int) -> tuple[int, int]:
        return self.starts[s], self.starts[e - 1] + len(self.tokens[e - 1])

    def surface(self, s: int, e: int) -> str:
        a, b = self.char(s, e)
        return self.text[a:b]


def check_tokens(tokens: Any, where: str) -> list[str]:
    """A non-empty list of non-empty strings without whitespace inside."""
    if not isinstance(tokens, list) or not tokens:
        raise BadRecord(where, "expected a non-empty list of tokens")
    for i, t in enumerate(tokens):
        if not isinstance(t, str) or not t.strip():
            raise BadRecord(f"{where}[{i}]", f"token must be a non-empty string, got {_short(t)}")
    return [" ".join(t.split()) for t in tokens]


def same_surface(a: str, b: str) -> bool:
    """Equal when whitespace is ignored (tokenisers differ on spacing, never on characters)."""
    return "".join(a.split()) == "".join(b.split())


# --------------------------------------------------------------------------- boxes


def box_mask_rle(x1: float, y1: float, x2: float, y2: float, height: int, width: int) -> dict[str, Any]:
    """COCO RLE (pycocotools) of the pixels of box ``[x1, x2) x [y1, y2)`` clipped to the image.

    Coordinates are pixel edges: a box covers pixel columns ``floor(x1) .. ceil(x2) - 1``.
    Raises :class:`BadRecord` when nothing of the box is inside the image.
    """
    from muie_bench import masks

    c0, r0 = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
    c1, r1 = min(width, int(np.ceil(x2))), min(height, int(np.ceil(y2)))
    if c1 <= c0 or r1 <= r0:
        raise BadRecord("box", f"box [{x1}, {y1}, {x2}, {y2}] (x1, y1, x2, y2) has no pixel inside "
                        f"the {width}x{height} image")
    m = np.zeros((height, width), np.uint8, order="F")
    m[r0:r1, c0:c1] = 1
    r = masks.encode(m)
    return {"size": [r.size[0], r.size[1]], "counts": r.counts}


def union_rle(rles: list[dict[str, Any]]) -> dict[str, Any]:
    """Union of masks of the same size (pycocotools merge)."""
    from muie_bench import masks
    from muie_bench.schema import RLE

    if len(rles) == 1:
        return rles[0]
    u = masks.merge([RLE(size=tuple(r["size"]), counts=r["counts"]) for r in rles])
    return {"size": [u.size[0], u.size[1]], "counts": u.counts}


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) from the header; :class:`BadRecord` when it is not a readable image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            w, h = im.size
    except (UnidentifiedImageError, OSError) as e:
        raise BadRecord("image", f"{path}: not a readable image ({e})") from None
    return h, w


def find_media(folder: Path | None, name: str, what: str, fld: str,
               exts: tuple[str, ...] = ()) -> Path:
    """``folder/name`` (or with one of ``exts`` appended), else :class:`BadRecord`."""
    if folder is None:
        raise BadRecord(fld, f"{what} {name!r} needs the media folder (--media DIR)")
    for cand in [name, *(name + e for e in exts)]:
        p = folder / cand
        if p.is_file():
            return p
    raise BadRecord(fld, f"{what} {name!r} not found in {folder}")


# --------------------------------------------------------------------------- output


@dataclass
class Source:
    """A source dataset as the manifest names it."""

    name: str
    url: str
    licence: str
    attribution: str = ""


@dataclass
class Converted:
    """One converted set: its spec fields and instances (media as absolute source paths)."""

    set_id: str
    modalities: list[str]
    task: str
    source: Source
    description: str
    instances: list[dict[str, Any]] = field(default_factory=list)
    entity_types: list[str] = field(default_factory=list)
    relation_types: list[str] = field(default_factory=list)
    event_types: dict[str, list[str]] = field(default_factory=dict)
    grounding: str | None = None
    inputs: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was left out, and why (not malformed)


def labels_of(instances: list[dict[str, Any]]) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """Entity types, relation types and event type -> roles that the instances use (sorted)."""
    ents: set[str] = set()
    rels: set[str] = set()
    evs: dict[str, set[str]] = {}
    for inst in instances:
        g = inst["gold"]
        ents.update(m["type"] for m in g.get("entities", []) if m.get("type"))
        rels.update(r["type"] for r in g.get("relations", []))
        for e in g.get("events", []):
            evs.setdefault(e["type"], set()).update(a["role"] for a in e["arguments"])
    return sorted(ents), sorted(rels), {k: sorted(v) for k, v in sorted(evs.items())}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def prepare_out(out: Path) -> None:
    """Create ``out``; an existing benchmark directory is replaced, anything else refused."""
    if out.exists():
        if not out.is_dir():
            raise UserError(f"--out {out}: exists and is not a directory")
        names = {p.name for p in out.iterdir()}
        if names - {"manifest.json", "instances.jsonl", "media"}:
            raise UserError(f"--out {out}: not empty and not a benchmark directory; refusing to "
                            f"overwrite it")
        shutil.rmtree(out / "media", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


MEDIA_FIELDS = ("image", "audio", "video")


def write_benchmark(
    out: Path,
    name: str,
    version: str,
    description: str,
    sets: list[Converted],
    generator: dict[str, Any],
) -> dict[str, int]:
    """Copy media, write ``instances.jsonl`` and ``manifest.json``, validate; set -> count."""
    from pydantic import ValidationError

    from muie_bench.benchmark import format_validation_error, validate_benchmark
    from muie_bench.schema import Instance

    prepare_out(out)
    files: dict[str, str] = {}
    used: dict[str, list[str]] = {}
    lines: list[str] = []
    problems: list[str] = []
    for cs in sets:
        copied: dict[Path, str] = {}
        for inst in cs.instances:
            body = dict(inst)
            for mod in MEDIA_FIELDS:
                src = body.get(mod)
                if src is None or not isinstance(src, Path):
                    continue
                if src not in copied:
                    rel = _media_rel(cs.set_id, src, copied)
                    dst = out / rel
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dst)
                    files[rel] = _sha_file(dst)
                    used.setdefault(cs.source.name, []).append(rel)
                    copied[src] = rel
                body[mod] = copied[src]
            try:
                obj = Instance.model_validate(body)
            except ValidationError as e:
                where = body.get("meta", {}).get("from", "(converter)")
                problems += format_validation_error(e, str(where))
                continue
            lines.append(obj.model_dump_json(exclude_none=True))
    if problems:
        raise ValidationProblems(problems)
    data = "".join(x + "\n" for x in lines).encode()
    (out / "instances.jsonl").write_bytes(data)
    files["instances.jsonl"] = sha256_bytes(data)
    specs = []
    for cs in sets:
        spec: dict[str, Any] = {
            "id": cs.set_id, "modalities": cs.modalities, "task": cs.task,
            "source": cs.source.name, "description": cs.description,
            "entity_types": cs.entity_types, "relation_types": cs.relation_types,
            "event_types": cs.event_types, "count": len(cs.instances),
        }
        if cs.grounding is not None:
            spec["grounding"] = cs.grounding
        specs.append(spec)
    sources = {cs.source.name: cs.source for cs in sets}
    assets = [{"name": s.name, "source": s.url, "licence": s.licence, "attribution": s.attribution,
               "used_in": sorted(used.get(s.name, []))} for s in sources.values()]
    manifest = {
        "name": name,
        "version": version,
        "description": description,
        "licence": "; ".join(f"{s.name}: {s.licence}" for s in sources.values()),
        "sets": specs,
        "assets": assets,
        "files": dict(sorted(files.items())),
        "generator": generator,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    validate_benchmark(out)
    return {cs.set_id: len(cs.instances) for cs in sets}


def _media_rel(set_id: str, src: Path, copied: dict[Path, str]) -> str:
    taken = set(copied.values())
    rel = f"media/{set_id}/{src.name}"
    k = 1
    while rel in taken:
        rel = f"media/{set_id}/{src.stem}-{k}{src.suffix}"
        k += 1
    return rel


def _sha_file(p: Path) -> str:
    from muie_bench.benchmark import sha256_file

    return sha256_file(p)


def file_digests(paths: list[Path]) -> list[dict[str, str]]:
    """Name and sha256 of each source file (provenance in the manifest's generator)."""
    return [{"file": p.name, "sha256": _sha_file(p)} for p in paths]
