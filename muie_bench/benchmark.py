"""Load, validate and filter benchmark directories; the registry of known benchmarks.

A benchmark directory holds ``manifest.json``, ``instances.jsonl`` and ``media/``
(README, "Data format"). :func:`load_benchmark` parses it and checks the sha256 of
``instances.jsonl``; :func:`validate_benchmark` also checks everything that needs the
manifest or the media (labels, mask sizes, audio durations, video frames, file hashes).
Problems are reported as ``file:line: field: message``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from muie_bench.errors import UserError, ValidationProblems
from muie_bench.media import MediaReader, confined
from muie_bench.schema import Instance, Manifest, Mention

MANIFEST = "manifest.json"
INSTANCES = "instances.jsonl"


def data_dir() -> Path:
    """Where bundled benchmarks live: ``$MUIE_BENCH_DATA`` or the repository's benchmark_data/."""
    env = os.environ.get("MUIE_BENCH_DATA")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "benchmark_data"


def known_benchmarks() -> dict[str, Path]:
    """Name -> directory of every benchmark under :func:`data_dir` (built or not)."""
    base = data_dir()
    out = {"muie-synth-mini": base / "muie-synth-mini", "muie-synth": base / "muie-synth"}
    if base.is_dir():
        for d in sorted(base.iterdir()):
            if (d / MANIFEST).is_file():
                out.setdefault(d.name, d)
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_FIELD_PREFIX = re.compile(r"^(?P<field>[a-z_]+(?:\.[a-z_]+|\[\d+\])+): (?P<msg>.+)$", re.S)


def format_validation_error(e: ValidationError, prefix: str) -> list[str]:
    """One ``prefix: field: message`` line per pydantic error."""
    out = []
    for err in e.errors():
        loc = ""
        for part in err["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        msg = err["msg"].removeprefix("Value error, ")
        named = _FIELD_PREFIX.match(msg)
        if named and not loc:  # a whole-object check that names its field itself
            loc, msg = named["field"], named["msg"]
        out.append(f"{prefix}: {loc or '(instance)'}: {msg}")
    return out


@dataclass
class Benchmark:
    """A loaded benchmark: its manifest, its (possibly filtered) instances and media."""

    root: Path
    manifest: Manifest
    instances: list[Instance]
    sha256: str
    lines: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.media = MediaReader(self.root)
        self._by_id = {i.id: i for i in self.instances}

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    def __iter__(self) -> Iterator[Instance]:
        return iter(self.instances)

    def __len__(self) -> int:
        return len(self.instances)

    def __contains__(self, instance_id: object) -> bool:
        return instance_id in self._by_id

    def get(self, instance_id: str) -> Instance:
        return self._by_id[instance_id]

    def set_ids(self) -> list[str]:
        """Ids of the sets that have instances here, in manifest order."""
        present = {i.set for i in self.instances}
        return [s.id for s in self.manifest.sets if s.id in present]

    def info(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}

    def filter(
        self,
        sets: Sequence[str] | None = None,
        modalities: Sequence[str] | None = None,
        tasks: Sequence[str] | None = None,
        ids: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> Benchmark:
        """A benchmark with the instances that pass every given filter.

        ``modalities`` keeps sets whose modality combination equals one of the given ones
        (each ``text+image`` or ``T+I`` style) or, for a single modality name, contains it.
        ``limit`` keeps the first N instances of each set (every set stays represented).
        Unknown set ids, modalities or tasks are an error.
        """
        known_sets = {s.id for s in self.manifest.sets}
        for s in sets or []:
            if s not in known_sets:
                raise UserError(f"--sets: unknown set {s!r} (known: {', '.join(sorted(known_sets))})")
        for t in tasks or []:
            if t not in ("ner", "re", "ee"):
                raise UserError(f"--tasks: unknown task {t!r} (known: ner, re, ee)")
        combos = [_parse_modalities(m) for m in modalities or []]
        id_set = set(ids) if ids is not None else None
        if id_set is not None:
            unknown = id_set - self._by_id.keys()
            if unknown:
                raise UserError(f"--ids: unknown instance id {sorted(unknown)[0]!r}")
        if limit is not None and limit < 0:
            raise UserError(f"--limit: must be >= 0, got {limit}")
        kept: list[Instance] = []
        per_set: Counter[str] = Counter()
        for inst in self.instances:
            if sets and inst.set not in sets:
                continue
            if tasks and inst.task not in tasks:
                continue
            if combos and not any(_modality_match(c, inst.modalities) for c in combos):
                continue
            if id_set is not None and inst.id not in id_set:
                continue
            if limit is not None and per_set[inst.set] >= limit:
                continue
            per_set[inst.set] += 1
            kept.append(inst)
        return Benchmark(self.root, self.manifest, kept, self.sha256, self.lines)


_MOD_ABBREV = {"t": "text", "i": "image", "a": "audio", "v": "video"}


def _parse_modalities(spec: str) -> frozenset[str]:
    parts = [p.strip().lower() for p in spec.replace(",", "+").split("+") if p.strip()]
    out = set()
    for p in parts:
        name = _MOD_ABBREV.get(p, p)
        if name not in ("text", "image", "audio", "video"):
            raise UserError(f"--modalities: unknown modality {p!r} (text, image, audio, video)")
        out.add(name)
    return frozenset(out)


def _modality_match(combo: frozenset[str], mods: list[Any]) -> bool:
    if len(combo) == 1:
        return next(iter(combo)) in mods
    return combo == frozenset(mods)


# --------------------------------------------------------------------------- loading


#: entry point group of functions ``(name_or_path) -> Path | None`` that turn other kinds of
#: benchmark (a saved Hugging Face dataset, a hub name) into a benchmark directory
RESOLVERS_GROUP = "muie_bench.benchmark_resolvers"


def _resolved_elsewhere(name_or_path: str | Path) -> Path | None:
    """The first benchmark directory an installed resolver makes of ``name_or_path``."""
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=RESOLVERS_GROUP), key=lambda e: e.name):
        found = ep.load()(name_or_path)
        if found is not None:
            return Path(found)
    return None


def resolve_benchmark_path(name_or_path: str | Path) -> Path:
    """A directory path, the name of a known benchmark, or what an installed resolver makes of
    it (the ``hf`` one: a saved Hugging Face dataset directory or a hub name, materialised
    into the cache as a benchmark directory)."""
    p = Path(name_or_path)
    if (p / MANIFEST).is_file():
        return p
    known = known_benchmarks()
    if str(name_or_path) in known and (known[str(name_or_path)] / MANIFEST).is_file():
        return known[str(name_or_path)]
    other = _resolved_elsewhere(name_or_path)
    if other is not None:
        return other
    if str(name_or_path) in known:
        d = known[str(name_or_path)]
        hint = " (build it with `make data`)" if str(name_or_path) == "muie-synth" else ""
        raise UserError(f"benchmark {name_or_path!r} is not built at {d}{hint}")
    if p.exists():
        raise UserError(f"{p}: not a benchmark directory ({MANIFEST} missing)")
    raise UserError(
        f"benchmark {str(name_or_path)!r}: no such directory and not a known benchmark "
        f"(known: {', '.join(known)})"
    )


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_NUMBER = re.compile(r"NaN|-?Infinity|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def non_finite_line(text: str) -> int | None:
    """1-based line of the first NaN / Infinity literal or overflowing number (``1e400``)
    outside JSON strings, or None. (Python's and pydantic's JSON parsers accept them.)"""
    for n, line in enumerate(text.splitlines(), start=1):
        for tok in _JSON_NUMBER.findall(_JSON_STRING.sub('""', line)):
            if not math.isfinite(float(tok)):
                return n
    return None


def _read_manifest(root: Path) -> tuple[Manifest | None, list[str]]:
    path = root / MANIFEST
    try:
        raw = path.read_bytes()
    except OSError as e:
        return None, [f"{path}:0: (file): cannot read ({e.strerror})"]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        return None, [f"{path}:{line}: (encoding): invalid UTF-8 at byte {e.start}"]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return None, [f"{path}:{e.lineno}: (json): {e.msg}"]
    try:
        return Manifest.model_validate(data), []
    except ValidationError as e:
        non_finite = any(err["type"] == "finite_number" or "not a finite number" in err["msg"]
                         for err in e.errors())
        line = (non_finite_line(text) if non_finite else None) or 1
        return None, format_validation_error(e, f"{path}:{line}")


def _read_instances(root: Path) -> tuple[list[Instance], dict[str, int], list[str]]:
    path = root / INSTANCES
    if path.is_dir():
        return [], {}, [f"{path}:0: (file): is a directory, not a JSON Lines file"]
    if not path.is_file():
        return [], {}, [f"{path}:0: (file): missing"]
    problems: list[str] = []
    instances: list[Instance] = []
    lines: dict[str, int] = {}
    with open(path, "rb") as f:
        for n, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                problems.append(f"{path}:{n}: (encoding): invalid UTF-8 at byte {e.start} of the line")
                continue
            if not line.strip():
                continue
            try:
                inst = Instance.model_validate_json(line)
            except ValidationError as e:
                problems.extend(format_validation_error(e, f"{path}:{n}"))
                continue
            if inst.id in lines:
                problems.append(
                    f"{path}:{n}: id: duplicate instance id {inst.id!r} (first on line {lines[inst.id]})"
                )
                continue
            lines[inst.id] = n
            instances.append(inst)
    return instances, lines, problems


def load_benchmark(name_or_path: str | Path, check_hash: bool = True) -> Benchmark:
    """Parse a benchmark (schema-level checks and the sha256 of instances.jsonl).

    Raises :class:`ValidationProblems` listing every problem found, or :class:`UserError`
    when the benchmark cannot be found. For the deep checks use :func:`validate_benchmark`.
    """
    root = resolve_benchmark_path(name_or_path)
    manifest, problems = _read_manifest(root)
    instances, lines, inst_problems = _read_instances(root)
    problems += inst_problems
    sha = sha256_file(root / INSTANCES) if (root / INSTANCES).is_file() else ""
    if manifest is not None and check_hash:
        expected = manifest.files.get(INSTANCES)
        if expected is None:
            problems.append(f"{root / MANIFEST}:1: files: no sha256 for {INSTANCES}")
        elif expected != sha:
            problems.append(
                f"{root / MANIFEST}:1: files.{INSTANCES}: sha256 {expected[:12]}… does not match "
                f"the file ({sha[:12]}…); the instances changed after the manifest was written"
            )
    if problems or manifest is None:
        raise ValidationProblems(problems)
    return Benchmark(root, manifest, instances, sha, lines)


# --------------------------------------------------------------------------- deep validation


def validate_benchmark(name_or_path: str | Path, check_media_hashes: bool = True) -> Benchmark:
    """Every check: schema, labels, set agreement, media paths, sizes, durations, hashes.

    Raises :class:`ValidationProblems` with every problem as ``file:line: field: message``.
    """
    root = resolve_benchmark_path(name_or_path)
    try:
        bench = load_benchmark(root)
        problems: list[str] = []
    except ValidationProblems as e:
        problems = list(e.problems)
        manifest, _ = _read_manifest(root)
        if manifest is None:
            raise
        instances, lines, _ = _read_instances(root)
        bench = Benchmark(root, manifest, instances, "", lines)
    ipath = root / INSTANCES
    set_counts: Counter[str] = Counter()
    for inst in bench.instances:
        where = f"{ipath}:{bench.lines.get(inst.id, 0)}"
        set_counts[inst.set] += 1
        problems += _check_instance(bench, inst, where)
    mpath = root / MANIFEST
    parsed_all = len(bench.instances) == _count_lines(ipath)
    for s in bench.manifest.sets if parsed_all else []:  # counts are unknown otherwise
        if set_counts[s.id] != s.count:
            problems.append(
                f"{mpath}:1: sets.{s.id}.count: manifest says {s.count}, found {set_counts[s.id]}"
            )
    for rel, digest in bench.manifest.files.items():
        if rel == INSTANCES:
            continue
        try:  # the same confinement as instance media paths; nothing outside is read
            p = confined(root, rel)
        except UserError as e:
            problems.append(f"{mpath}:1: files.{rel}: {e}")
            continue
        if check_media_hashes and sha256_file(p) != digest:
            problems.append(f"{mpath}:1: files.{rel}: sha256 does not match the file")
    if problems:
        raise ValidationProblems(problems)
    return bench


def _count_lines(path: Path) -> int:
    if not path.is_file():
        return 0
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def _check_instance(bench: Benchmark, inst: Instance, where: str) -> list[str]:
    out: list[str] = []
    try:
        spec = bench.manifest.set(inst.set)
    except KeyError:
        return [f"{where}: set: unknown set {inst.set!r} (not in the manifest)"]
    if sorted(spec.modalities) != sorted(inst.modalities):
        out.append(f"{where}: modalities: {inst.modalities} differ from set {spec.id}'s {spec.modalities}")
    if spec.task != inst.task:
        out.append(f"{where}: task: {inst.task!r} differs from set {spec.id}'s {spec.task!r}")
    gold = inst.gold
    ents = set(spec.entity_types)
    for i, m in enumerate(gold.entities):
        if m.type is not None and ents and m.type not in ents:
            out.append(f"{where}: gold.entities[{i}].type: unknown label {m.type!r} for set {spec.id}")
        elif m.type is None and inst.task == "ner":
            out.append(f"{where}: gold.entities[{i}].type: missing (NER entities are typed)")
    for i, r in enumerate(gold.relations):
        if r.type not in spec.relation_types:
            out.append(f"{where}: gold.relations[{i}].type: unknown label {r.type!r} for set {spec.id}")
    for i, e in enumerate(gold.events):
        if e.type not in spec.event_types:
            out.append(f"{where}: gold.events[{i}].type: unknown label {e.type!r} for set {spec.id}")
            continue
        roles = set(spec.event_types[e.type])
        for j, a in enumerate(e.arguments):
            if a.role not in roles:
                out.append(
                    f"{where}: gold.events[{i}].arguments[{j}].role: unknown role {a.role!r} "
                    f"for event {e.type!r}"
                )
    out += _check_media(bench, inst, where)
    return out


def _check_media(bench: Benchmark, inst: Instance, where: str) -> list[str]:
    out: list[str] = []
    image_size = audio_dur = video = None
    for field_name in ("image", "audio", "video"):
        rel = getattr(inst, field_name)
        if rel is None:
            continue
        try:  # decode the whole file: a truncated file must fail here, not during a run
            if field_name == "image":
                image_size = bench.media.check_image(rel)
            elif field_name == "audio":
                audio_dur = bench.media.check_audio(rel)
            else:
                video = bench.media.check_video(rel)
        except UserError as e:
            out.append(f"{where}: {field_name}: {e}")
        except Exception as e:  # undecodable file
            msg = " ".join(str(e).split()) or type(e).__name__
            out.append(f"{where}: {field_name}: {rel}: cannot decode ({type(e).__name__}: {msg})")
    if out:
        return out
    labelled = [(f"gold.entities[{i}]", m) for i, m in enumerate(inst.gold.entities)]
    labelled += [(f"gold.events[{i}].trigger", e.trigger) for i, e in enumerate(inst.gold.events)]
    for loc, m in labelled:
        out += _check_mention_media(m, loc, where, image_size, audio_dur, video)
    return out


def _check_mention_media(
    m: Mention,
    loc: str,
    where: str,
    image_size: tuple[int, int] | None,
    audio_dur: float | None,
    video: Any,
) -> list[str]:
    out: list[str] = []
    if m.image_mask is not None and image_size is not None:
        if tuple(m.image_mask.size) != image_size:
            out.append(
                f"{where}: {loc}.image_mask.size: {list(m.image_mask.size)} differs from the "
                f"image's [height, width] {list(image_size)}"
            )
        elif not _rle_ok(m.image_mask.size, m.image_mask.counts):
            out.append(f"{where}: {loc}.image_mask.counts: not a valid COCO RLE")
    if m.audio_spans is not None and audio_dur is not None:
        tol = 0.05
        for j, (_s, e) in enumerate(m.audio_spans):
            if e > audio_dur + tol:
                out.append(
                    f"{where}: {loc}.audio_spans[{j}]: ends at {e:.3f} s, after the audio's "
                    f"{audio_dur:.3f} s"
                )
    if m.video_track is not None and video is not None:
        for fi, rle in m.video_track.frames.items():
            if fi >= video.frames:
                out.append(f"{where}: {loc}.video_track.frames.{fi}: video has {video.frames} frames")
                break
            if tuple(rle.size) != (video.height, video.width):
                out.append(
                    f"{where}: {loc}.video_track.frames.{fi}.size: {list(rle.size)} differs from "
                    f"the video's [height, width] {[video.height, video.width]}"
                )
                break
    return out


def _rle_ok(size: tuple[int, int], counts: str) -> bool:
    """Well-formed: non-negative runs that add up to height x width (never hands pycocotools
    a malformed string: it can loop for ever on one)."""
    from muie_bench.metrics.rle import rle_error
    from muie_bench.schema import RLE

    return rle_error(RLE(size=size, counts=counts)) is None


def summary_rows(bench: Benchmark) -> list[dict[str, Any]]:
    """Per set: modalities, task, count, inventory sizes, grounded mentions per modality."""
    rows = []
    for spec in bench.manifest.sets:
        insts = [i for i in bench.instances if i.set == spec.id]
        grounded: Counter[str] = Counter()
        mentions = 0
        for inst in insts:
            for m in inst.gold.mentions():
                mentions += 1
                if m.span is not None:
                    grounded["text"] += 1
                for mod in m.grounded_modalities():
                    grounded[mod] += 1
        rows.append(
            {
                "set": spec.id,
                "modalities": "+".join(spec.modalities),
                "task": spec.task,
                "instances": len(insts),
                "entity_types": len(spec.entity_types),
                "relation_types": len(spec.relation_types),
                "event_types": len(spec.event_types),
                "mentions": mentions,
                "grounded": dict(grounded),
            }
        )
    return rows
