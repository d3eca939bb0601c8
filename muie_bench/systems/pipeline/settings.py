"""Settings sections of the offline components, as typed models (``-o grounder.asr.beam_size=2``).

Each model lists the public fields of one component dataclass, whose defaults it takes
(the component is the single source of defaults). Unknown keys are an error naming the
section and its known keys. A section serialises to the keys that were set only (see
:class:`muie_bench.systems.base.NestedSettings`), so run fingerprints are those of the
plain dicts these sections replace.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from pydantic import Field

from muie_bench.systems.base import NestedSettings
from muie_bench.systems.pipeline.align import SphinxAligner
from muie_bench.systems.pipeline.asr import WhisperASR
from muie_bench.systems.pipeline.detect import HaarDetector
from muie_bench.systems.pipeline.grounders import BuiltinGrounder
from muie_bench.systems.pipeline.ocr import RapidOcr
from muie_bench.systems.pipeline.text_ie import SpacyIE
from muie_bench.systems.pipeline.vad import SileroVAD
from muie_bench.systems.pipeline.video import VideoAnalyzer


def _default(cls: type, name: str) -> Any:
    """A pydantic default that is the dataclass field's own default (or factory)."""
    f = {f.name: f for f in dataclasses.fields(cls)}[name]
    if f.default is not dataclasses.MISSING:
        return Field(default=f.default)
    factory: Callable[[], Any] = f.default_factory  # type: ignore[assignment]
    return Field(default_factory=factory)


class WhisperASRSettings(NestedSettings):
    """:class:`WhisperASR` (faster-whisper): model, decoding and threads."""

    model: str = _default(WhisperASR, "model")
    compute_type: str = _default(WhisperASR, "compute_type")
    portable: bool = _default(WhisperASR, "portable")
    beam_size: int = _default(WhisperASR, "beam_size")
    language: str = _default(WhisperASR, "language")
    cpu_threads: int = _default(WhisperASR, "cpu_threads")
    vad_filter: bool = _default(WhisperASR, "vad_filter")
    temperatures: list[float] = _default(WhisperASR, "temperatures")


class SphinxAlignerSettings(NestedSettings):
    """:class:`SphinxAligner` (pocketsphinx forced alignment)."""

    loglevel: str = _default(SphinxAligner, "loglevel")
    beam: float = _default(SphinxAligner, "beam")
    wbeam: float = _default(SphinxAligner, "wbeam")
    pbeam: float = _default(SphinxAligner, "pbeam")


class RapidOcrSettings(NestedSettings):
    """:class:`RapidOcr`."""

    min_score: float = _default(RapidOcr, "min_score")
    box_thresh: float = _default(RapidOcr, "box_thresh")
    threads: int = _default(RapidOcr, "threads")


class HaarDetectorSettings(NestedSettings):
    """:class:`HaarDetector` (OpenCV Haar cascades)."""

    labels: list[str] = _default(HaarDetector, "labels")
    scale_factor: float = _default(HaarDetector, "scale_factor")
    min_neighbors: int = _default(HaarDetector, "min_neighbors")
    min_size: int = _default(HaarDetector, "min_size")
    person_scale: float = _default(HaarDetector, "person_scale")
    person_height: float = _default(HaarDetector, "person_height")
    person_top: float = _default(HaarDetector, "person_top")
    nms_iou: float = _default(HaarDetector, "nms_iou")
    upscale: float = _default(HaarDetector, "upscale")
    threads: int = _default(HaarDetector, "threads")


class VideoAnalyzerSettings(NestedSettings):
    """:class:`VideoAnalyzer` (frame sampling, motion tracklets)."""

    sample_fps: float = _default(VideoAnalyzer, "sample_fps")
    ocr_every: int = _default(VideoAnalyzer, "ocr_every")
    use_ocr: bool = _default(VideoAnalyzer, "use_ocr")
    use_motion: bool = _default(VideoAnalyzer, "use_motion")
    motion_threshold: float = _default(VideoAnalyzer, "motion_threshold")
    motion_min_area: float = _default(VideoAnalyzer, "motion_min_area")
    link_iou: float = _default(VideoAnalyzer, "link_iou")
    max_gap: int = _default(VideoAnalyzer, "max_gap")
    min_samples: int = _default(VideoAnalyzer, "min_samples")
    integer_yuv: bool = _default(VideoAnalyzer, "integer_yuv")


class SileroVADSettings(NestedSettings):
    """:class:`SileroVAD`."""

    threshold: float = _default(SileroVAD, "threshold")
    min_speech_ms: int = _default(SileroVAD, "min_speech_ms")
    min_silence_ms: int = _default(SileroVAD, "min_silence_ms")
    pad_ms: int = _default(SileroVAD, "pad_ms")


class SpacyIESettings(NestedSettings):
    """:class:`SpacyIE` (the pipeline's ``text_ie``)."""

    model: str = _default(SpacyIE, "model")
    ner_map: dict[str, list[str]] = _default(SpacyIE, "ner_map")
    noun_map: dict[str, list[str]] = _default(SpacyIE, "noun_map")
    rel_cues: dict[str, list[str]] = _default(SpacyIE, "rel_cues")
    trigger_lexicon: dict[str, list[str]] = _default(SpacyIE, "trigger_lexicon")
    role_rules: dict[str, list[str]] = _default(SpacyIE, "role_rules")
    type_aliases: dict[str, list[str]] = _default(SpacyIE, "type_aliases")
    symmetric: list[str] = _default(SpacyIE, "symmetric")
    nouns_as_entities: bool = _default(SpacyIE, "nouns_as_entities")
    org_words: list[str] = _default(SpacyIE, "org_words")
    arg_extent: str = _default(SpacyIE, "arg_extent")
    hashtag_types: list[str] = _default(SpacyIE, "hashtag_types")
    cue_window: int = _default(SpacyIE, "cue_window")
    trigger_pos: list[str] = _default(SpacyIE, "trigger_pos")


class BuiltinGrounderSettings(NestedSettings):
    """:class:`BuiltinGrounder` (the pipeline's ``grounder``, the MLLMs' ``grounder_settings``)."""

    ocr: RapidOcrSettings = Field(default_factory=RapidOcrSettings)
    detect: HaarDetectorSettings = Field(default_factory=HaarDetectorSettings)
    asr: WhisperASRSettings = Field(default_factory=WhisperASRSettings)
    align: SphinxAlignerSettings = Field(default_factory=SphinxAlignerSettings)
    video: VideoAnalyzerSettings = Field(default_factory=VideoAnalyzerSettings)
    vad: SileroVADSettings = Field(default_factory=SileroVADSettings)
    type_map: dict[str, list[str]] = _default(BuiltinGrounder, "type_map")
    use_ocr: bool = _default(BuiltinGrounder, "use_ocr")
    use_detector: bool = _default(BuiltinGrounder, "use_detector")
    align_text: bool = _default(BuiltinGrounder, "align_text")
    realign_asr: bool = _default(BuiltinGrounder, "realign_asr")
    asr_ocr_prompt: bool = _default(BuiltinGrounder, "asr_ocr_prompt")
    lexicon_ratio: float = _default(BuiltinGrounder, "lexicon_ratio")
    trim_to_speech: bool = _default(BuiltinGrounder, "trim_to_speech")
    motion_fallback: bool = _default(BuiltinGrounder, "motion_fallback")
    min_ratio: float = _default(BuiltinGrounder, "min_ratio")
    sign_max_area: float = _default(BuiltinGrounder, "sign_max_area")
    text_pad: float = _default(BuiltinGrounder, "text_pad")
    portrait_aspect: float = _default(BuiltinGrounder, "portrait_aspect")
    cache_size: int = _default(BuiltinGrounder, "cache_size")


#: the component dataclass of each settings model (tests check they list the same fields)
COMPONENTS: dict[type[NestedSettings], type] = {
    WhisperASRSettings: WhisperASR, SphinxAlignerSettings: SphinxAligner,
    RapidOcrSettings: RapidOcr, HaarDetectorSettings: HaarDetector,
    VideoAnalyzerSettings: VideoAnalyzer, SileroVADSettings: SileroVAD,
    SpacyIESettings: SpacyIE, BuiltinGrounderSettings: BuiltinGrounder,
}
