"""Pydantic models of every muie-bench file format.

Instances, annotations and predictions (``instances.jsonl``, ``predictions.jsonl``), the
benchmark manifest (``manifest.json``), the run record (``run.json``) and scores
(``scores.json``, ``instance_scores.jsonl``). ``muie-bench schema`` writes their JSON Schema.

Checks that need only the object itself live here (ids, references, spans against the
instance text, modality/input agreement, path shape). Checks that need the benchmark
(label inventories, media sizes and durations, symlinks) live in :mod:`muie_bench.benchmark`.
"""

from __future__ import annotations

import math
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION = "1"

Modality = Literal["text", "image", "audio", "video"]
Task = Literal["ner", "re", "ee"]
MODALITIES: tuple[Modality, ...] = ("text", "image", "audio", "video")
TASKS: tuple[Task, ...] = ("ner", "re", "ee")
MEDIA_FIELDS: tuple[Literal["image", "audio", "video"], ...] = ("image", "audio", "video")


class _Model(BaseModel):
    """Base of every file model: unknown fields and non-finite numbers (NaN, +-inf) are errors.

    ``allow_inf_nan=False`` covers the float fields (also the ``NaN`` / ``Infinity`` literals
    and overflowing numbers such as ``1e400`` that JSON parsers accept); free-form
    ``dict[str, Any]`` fields are checked by :func:`check_finite`.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=False, populate_by_name=True, allow_inf_nan=False
    )


def _first_non_finite(value: Any, path: str) -> tuple[str, float] | None:
    """(path, number) of the first NaN / +-inf float nested in dicts and lists, or None."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            return where, v
        if isinstance(v, dict):
            items = [(f"{where}.{k}" if where else str(k), x) for k, x in v.items()]
            stack.extend(reversed(items))
        elif isinstance(v, list | tuple):
            stack.extend(reversed([(f"{where}[{i}]", x) for i, x in enumerate(v)]))
    return None


def check_finite(value: dict[str, Any]) -> dict[str, Any]:
    """Raise ValueError naming the nested key of the first NaN / +-inf number in ``value``."""
    bad = _first_non_finite(value, "")
    if bad is not None:
        where, v = bad
        raise ValueError(f"{where}: {v} is not a finite number (NaN and infinity are not allowed)")
    return value


# --------------------------------------------------------------------------- groundings


class RLE(_Model):
    """A binary mask in COCO compressed run-length encoding (column-major, as pycocotools)."""

    size: tuple[int, int] = Field(description="[height, width] of the mask in pixels")
    counts: str = Field(description="compressed RLE string as produced by pycocotools.mask.encode")

    @field_validator("size")
    @classmethod
    def _positive_size(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] <= 0 or v[1] <= 0:
            raise ValueError(f"mask size must be positive, got {list(v)}")
        return v


AudioSpan = tuple[float, float]


def _check_audio_spans(spans: list[AudioSpan]) -> list[AudioSpan]:
    for start, end in spans:
        if start < 0:
            raise ValueError(f"audio span [{start}, {end}] starts before 0 s")
        if end <= start:
            raise ValueError(f"audio span [{start}, {end}] has end <= start")
    return spans


class VideoTrack(_Model):
    """A per-frame mask track. Its time extent is derived: first/last frame index over fps."""

    fps: float = Field(gt=0, description="frames per second of the frame indices below")
    frames: dict[int, RLE] = Field(
        description="frame index (0-based, decoded order) -> mask of the object in that frame; "
        "frames where the object is absent are omitted"
    )

    @field_validator("frames")
    @classmethod
    def _frames_ok(cls, v: dict[int, RLE]) -> dict[int, RLE]:
        sizes = {m.size for m in v.values()}
        if len(sizes) > 1:
            raise ValueError(f"track masks have different sizes: {sorted(sizes)}")
        if any(k < 0 for k in v):
            raise ValueError("negative frame index")
        return v

    def extent(self) -> tuple[float, float] | None:
        """Time span [first_frame / fps, (last_frame + 1) / fps) in seconds, None if empty."""
        if not self.frames:
            return None
        return min(self.frames) / self.fps, (max(self.frames) + 1) / self.fps


# --------------------------------------------------------------------------- annotation


class Mention(_Model):
    """A mention of an entity, argument or trigger, with optional groundings."""

    id: str = Field(min_length=1, description="unique within the annotation")
    type: str | None = Field(
        default=None, description="entity type; absent for event triggers and untyped arguments"
    )
    text: str = Field(description="surface form (what is said, written or shown)")
    span: tuple[int, int] | None = Field(
        default=None, description="[start, end) character offsets into the instance text"
    )
    image_mask: RLE | None = Field(default=None, description="mask of the mention in the image")
    audio_spans: list[AudioSpan] | None = Field(
        default=None, description="[start_s, end_s] times in the audio where it is spoken"
    )
    video_track: VideoTrack | None = Field(default=None, description="mask track in the video")

    @field_validator("span")
    @classmethod
    def _span_ordered(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and (v[0] < 0 or v[1] <= v[0]):
            raise ValueError(f"span [{v[0]}, {v[1]}) must have 0 <= start < end")
        return v

    @field_validator("audio_spans")
    @classmethod
    def _spans_ok(cls, v: list[AudioSpan] | None) -> list[AudioSpan] | None:
        return None if v is None else _check_audio_spans(v)

    def grounded_modalities(self) -> list[Modality]:
        """Media modalities in which this mention carries a grounding."""
        out: list[Modality] = []
        if self.image_mask is not None:
            out.append("image")
        if self.audio_spans is not None:
            out.append("audio")
        if self.video_track is not None:
            out.append("video")
        return out


class Relation(_Model):
    type: str = Field(description="relation label")
    head: str = Field(description="id of the subject entity mention")
    tail: str = Field(description="id of the object entity mention")


class Argument(_Model):
    role: str = Field(description="argument role label")
    mention: str = Field(description="id of the entity mention that fills the role")


class Event(_Model):
    type: str = Field(description="event type label")
    trigger: Mention = Field(description="the trigger (no entity type); may be grounded in audio")
    arguments: list[Argument] = Field(default_factory=list)


class Annotation(_Model):
    """Entities, relations and events of one instance (gold or predicted)."""

    entities: list[Mention] = Field(
        default_factory=list, description="entity mentions; also the fillers of event arguments"
    )
    relations: list[Relation] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids_and_refs(self) -> Annotation:
        seen: set[str] = set()
        for m in self.mentions():
            if m.id in seen:
                raise ValueError(f"duplicate mention id {m.id!r}")
            seen.add(m.id)
        entity_ids = {m.id for m in self.entities}
        for i, r in enumerate(self.relations):
            for side in ("head", "tail"):
                ref = getattr(r, side)
                if ref not in entity_ids:
                    raise ValueError(f"relations[{i}].{side} {ref!r} names no entity mention")
        for i, e in enumerate(self.events):
            for j, a in enumerate(e.arguments):
                if a.mention not in entity_ids:
                    raise ValueError(
                        f"events[{i}].arguments[{j}].mention {a.mention!r} names no entity mention"
                    )
        return self

    def mentions(self) -> list[Mention]:
        """All mentions: entities first, then event triggers."""
        return [*self.entities, *(e.trigger for e in self.events)]

    def entity(self, mention_id: str) -> Mention:
        for m in self.entities:
            if m.id == mention_id:
                return m
        raise KeyError(mention_id)

    def is_empty(self) -> bool:
        return not (self.entities or self.relations or self.events)


# --------------------------------------------------------------------------- instance


def check_relative_path(v: str) -> str:
    """A media path must be relative, POSIX, and stay inside the benchmark directory."""
    if not v:
        raise ValueError("empty path")
    if "\\" in v:
        raise ValueError(f"path {v!r} must use '/' separators")
    p = PurePosixPath(v)
    if p.is_absolute() or v.startswith("~") or (len(v) > 1 and v[1] == ":"):
        raise ValueError(f"path {v!r} must be relative to the benchmark directory")
    if ".." in p.parts:
        raise ValueError(f"path {v!r} leaves the benchmark directory ('..')")
    return v


class Instance(_Model):
    """One benchmark instance: inputs in one or more modalities and the gold annotation."""

    id: str = Field(min_length=1, description="unique within the benchmark")
    set: str = Field(description="id of the set (see the manifest), e.g. 'ti-ner'")
    modalities: list[Modality] = Field(
        min_length=1, description="modalities of the input; each must have its input field"
    )
    task: Task = Field(description="ner, re or ee")
    text: str | None = Field(default=None, description="text input")
    image: str | None = Field(default=None, description="relative path of the image file")
    audio: str | None = Field(default=None, description="relative path of the audio file")
    video: str | None = Field(default=None, description="relative path of the video file")
    gold: Annotation = Field(description="the gold annotation")
    meta: dict[str, Any] = Field(default_factory=dict, description="free-form provenance")

    @field_validator("meta")
    @classmethod
    def _meta_finite(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_finite(v)

    @field_validator("image", "audio", "video")
    @classmethod
    def _relative(cls, v: str | None) -> str | None:
        return None if v is None else check_relative_path(v)

    @field_validator("modalities")
    @classmethod
    def _unique_modalities(cls, v: list[Modality]) -> list[Modality]:
        if len(set(v)) != len(v):
            raise ValueError(f"modalities listed twice: {v}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Instance:
        for mod in MODALITIES:
            has_input = getattr(self, mod) is not None
            listed = mod in self.modalities
            if listed and not has_input:
                raise ValueError(f"modality {mod!r} is listed but field {mod!r} is missing")
            if has_input and not listed:
                raise ValueError(f"field {mod!r} is given but {mod!r} is not in modalities")
        for loc, m in _mention_locations(self):
            _check_mention_against_instance(loc, m, self)
        return self


def _mention_locations(inst: Instance) -> list[tuple[str, Mention]]:
    out = [(f"gold.entities[{i}]", m) for i, m in enumerate(inst.gold.entities)]
    out += [(f"gold.events[{i}].trigger", e.trigger) for i, e in enumerate(inst.gold.events)]
    return out


def _check_mention_against_instance(loc: str, m: Mention, inst: Instance) -> None:
    """Raise ``ValueError("<field>: <message>")``; the field prefix names the mention."""
    if m.span is not None:
        if inst.text is None:
            raise ValueError(f"{loc}.span: mention {m.id!r} has a span but the instance has no text")
        s, e = m.span
        if e > len(inst.text):
            raise ValueError(
                f"{loc}.span: mention {m.id!r} span [{s}, {e}) is outside the text "
                f"(length {len(inst.text)})"
            )
        if inst.text[s:e] != m.text:
            raise ValueError(
                f"{loc}.span: mention {m.id!r} span [{s}, {e}) covers {inst.text[s:e]!r}, "
                f"not {m.text!r}"
            )
    for mod in m.grounded_modalities():
        if mod not in inst.modalities:
            raise ValueError(f"{loc}: mention {m.id!r} is grounded in {mod!r}, not a modality of it")


# --------------------------------------------------------------------------- prediction


class Prediction(_Model):
    """One line of ``predictions.jsonl``: a system's output for one instance."""

    id: str = Field(description="instance id")
    output: Annotation = Field(default_factory=Annotation, description="predicted annotation")
    raw: str | None = Field(default=None, description="the model's raw text output, if any")
    parse_error: str | None = Field(
        default=None,
        description="why the raw output could not be parsed; the output is then empty and the "
        "instance counts in the parse-failure rate",
    )
    trace: dict[str, Any] = Field(
        default_factory=dict,
        description="intermediate stage outputs (transcript, OCR, caption, invocations, timings)",
    )
    error: str | None = Field(default=None, description="exception that stopped the prediction")
    seconds: float = Field(default=0.0, ge=0, description="wall time of the prediction")

    @field_validator("trace")
    @classmethod
    def _trace_finite(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_finite(v)


# --------------------------------------------------------------------------- manifest


class SetSpec(_Model):
    """One set of a benchmark and its label inventories."""

    id: str = Field(description="set id, e.g. 'ti-ner'")
    modalities: list[Modality] = Field(min_length=1)
    task: Task
    source: str = Field(default="", description="dataset whose style and labels the set follows")
    description: str = ""
    entity_types: list[str] = Field(default_factory=list, description="entity type inventory")
    relation_types: list[str] = Field(default_factory=list, description="relation inventory")
    event_types: dict[str, list[str]] = Field(
        default_factory=dict, description="event type -> its argument roles"
    )
    count: int = Field(ge=0, description="number of instances in the set")
    grounding: Literal["mask", "box", "none"] | None = Field(
        default=None,
        description="what the image / video groundings are: 'mask' (object pixels), 'box' (box "
        "masks from a source with boxes only: IoU is box-level), 'none' (the source has no "
        "spatial grounding); absent: masks",
    )


class Asset(_Model):
    """A third-party or generated asset the benchmark's media were made from."""

    name: str
    source: str = Field(description="where it comes from, e.g. a pip package and path")
    licence: str
    attribution: str = ""
    used_in: list[str] = Field(default_factory=list, description="media files using it")


class Manifest(_Model):
    """``manifest.json`` of a benchmark directory."""

    name: str
    version: str
    description: str = ""
    licence: str = ""
    schema_version: str = SCHEMA_VERSION
    sets: list[SetSpec]
    assets: list[Asset] = Field(default_factory=list)
    files: dict[str, str] = Field(
        default_factory=dict,
        description="relative path -> sha256 hex of instances.jsonl and every media file",
    )
    generator: dict[str, Any] = Field(default_factory=dict, description="how it was made")

    @field_validator("generator")
    @classmethod
    def _generator_finite(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_finite(v)

    @model_validator(mode="after")
    def _unique_sets(self) -> Manifest:
        ids = [s.id for s in self.sets]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate set ids: {sorted(dup)}")
        return self

    def set(self, set_id: str) -> SetSpec:
        for s in self.sets:
            if s.id == set_id:
                return s
        raise KeyError(set_id)


# --------------------------------------------------------------------------- scores


class Counts(_Model):
    """Match counts of one F1-style metric."""

    tp: int = 0
    predicted: int = 0
    gold: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            tp=self.tp + other.tp,
            predicted=self.predicted + other.predicted,
            gold=self.gold + other.gold,
        )


class InstanceScore(_Model):
    """One line of ``instance_scores.jsonl``: what aggregation and bootstrap read."""

    id: str
    set: str
    counts: dict[str, Counts] = Field(
        default_factory=dict, description="F1-style metric id -> counts (e.g. 'f1', 'et', 'ea')"
    )
    per_type: dict[str, dict[str, Counts]] = Field(
        default_factory=dict,
        description="F1-style metric id -> label (entity / relation / event type, "
        "'event/role') -> counts; what SetScores.per_type is aggregated from",
    )
    grounding: dict[str, float] = Field(
        default_factory=dict,
        description="grounding metric id ('i_seg', 'a_seg', 'v_trck') -> instance value in "
        "[0, 1]; absent when the instance has no gold regions in that modality",
    )
    missing: bool = Field(default=False, description="no prediction for this instance")
    failed: bool = Field(default=False, description="the prediction carries an error")
    parse_failed: bool = Field(default=False, description="the raw output could not be parsed")


class MetricValue(_Model):
    """A metric of a set, in percent, with its bootstrap confidence interval."""

    value: float = Field(description="percent, 0-100")
    ci_low: float | None = None
    ci_high: float | None = None
    precision: float | None = Field(default=None, description="percent, F1-style metrics only")
    recall: float | None = Field(default=None, description="percent, F1-style metrics only")
    counts: Counts | None = None
    n: int | None = Field(default=None, description="instances averaged (grounding metrics)")


class SetScores(_Model):
    set: str
    modalities: list[Modality]
    task: Task
    instances: int
    missing: int = 0
    failed: int = 0
    parse_failures: int = 0
    metrics: dict[str, MetricValue] = Field(default_factory=dict)
    per_type: dict[str, dict[str, MetricValue]] = Field(
        default_factory=dict, description="metric id -> label -> value (P/R/F1 per type)"
    )


class Scores(_Model):
    """``scores.json`` of a run."""

    schema_version: str = SCHEMA_VERSION
    benchmark: dict[str, str] = Field(description="name, version, sha256")
    tau: float = Field(description="IoU threshold of grounded F1")
    bootstrap: dict[str, Any] = Field(default_factory=dict, description="resamples, seed, level")
    sets: dict[str, SetScores]
    macro: dict[str, MetricValue] = Field(
        default_factory=dict, description="metric id -> mean over the sets that report it"
    )
    instances: int = 0
    missing: int = 0
    failed: int = 0
    parse_failure_rate: float = 0.0

    @field_validator("bootstrap")
    @classmethod
    def _bootstrap_finite(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_finite(v)


# --------------------------------------------------------------------------- run record


class SystemInfo(_Model):
    name: str = Field(description="preset name given to --system")
    kind: str = Field(description="registered system kind")
    settings: dict[str, Any] = Field(default_factory=dict, description="secrets removed")
    fingerprint: str = Field(description="hash of kind, settings and component versions")
    components: dict[str, str] = Field(default_factory=dict, description="component versions")


class BenchmarkRef(_Model):
    """The benchmark a run was made on."""

    name: str
    version: str
    sha256: str = Field(description="sha256 of instances.jsonl")
    path: str = Field(default="", description="absolute path of the benchmark directory")


class Selection(_Model):
    """Which instances a run covers (the filters of ``muie-bench run``)."""

    sets: list[str] | None = None
    modalities: list[str] | None = None
    tasks: list[str] | None = None
    limit: int | None = None
    instances: int | None = Field(default=None, description="instances selected")


class RunCounts(_Model):
    """Instances of the selection: ``total = done + failed + missing``."""

    total: int = 0
    done: int = 0
    failed: int = 0
    missing: int = 0


class RunError(_Model):
    """A failed instance (``id``) or an error that stopped the run (``id`` null)."""

    id: str | None
    error: str


class RunRecord(_Model):
    """``run.json``: provenance and status of one run."""

    schema_version: str = SCHEMA_VERSION
    run_id: str
    argv: list[str] = Field(default_factory=list)
    system: SystemInfo
    benchmark: BenchmarkRef
    selection: Selection = Field(default_factory=Selection)
    git: dict[str, Any] = Field(default_factory=dict, description="commit, dirty")
    packages: dict[str, str] = Field(default_factory=dict)
    host: dict[str, Any] = Field(default_factory=dict)
    started: str = ""
    ended: str | None = None
    status: Literal["running", "complete", "interrupted", "failed"] = "running"
    counts: RunCounts = Field(default_factory=RunCounts)
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per stage")
    errors: list[RunError] = Field(default_factory=list)
    resume_key: str = Field(
        default="", description="hash of system fingerprint, benchmark sha256 and selection: "
        "re-running a command with the same key resumes this run"
    )
    trace_totals: dict[str, float] = Field(
        default_factory=dict, description="sums of numeric top-level trace counters (e.g. retries)"
    )
    scored_predictions_bytes: int | None = Field(
        default=None, description="size of predictions.jsonl when scores.json was last written"
    )


ALL_MODELS: dict[str, type[BaseModel]] = {
    "instance": Instance,
    "prediction": Prediction,
    "manifest": Manifest,
    "scores": Scores,
    "instance_score": InstanceScore,
    "run": RunRecord,
}
