"""Settings sections of the full-tier components (``-o captioner.model=/models/blip-large``).

Every section has ``enabled`` (the presets turn components on), the weights (``model``: a
local path or a hub name; hub names load from the local Hugging Face cache only), ``device``
(``cpu`` / ``cuda`` / ``cuda:N`` / ``auto``; empty: the pipeline's ``device``), ``dtype`` and
``batch_size`` where the model takes batches. Defaults name real checkpoints that fit.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from muie_bench.systems.base import NestedSettings

Dtype = Literal["auto", "float32", "float16", "bfloat16"]
#: a device setting: cpu, cuda, cuda:N or auto ('' in a component: the pipeline's device)
DEVICE = r"^(cpu|cuda|cuda:\d+|auto)$"
DEVICE_OR_EMPTY = r"^(cpu|cuda|cuda:\d+|auto|)$"

#: COCO class -> entity types / head words it grounds (the first one an inventory has wins)
DEFAULT_CLASS_MAP: dict[str, list[str]] = {
    "person": ["per", "person", "people", "man", "woman", "boy", "girl", "child", "player",
               "reporter", "astronaut", "scientist", "officer", "agent", "face"],
    "cat": ["cat", "animal"], "dog": ["dog", "animal"], "horse": ["horse", "animal"],
    "bird": ["bird", "animal"], "sheep": ["sheep", "animal"], "cow": ["cow", "animal"],
    "elephant": ["elephant", "animal"], "bear": ["bear", "animal"], "zebra": ["zebra", "animal"],
    "giraffe": ["giraffe", "animal"],
    "cup": ["cup", "object", "misc"], "bottle": ["bottle", "object", "misc"],
    "book": ["book", "object", "misc"], "chair": ["chair", "object", "misc"],
    "potted plant": ["flower", "plant", "object", "misc"], "vase": ["vase", "object", "misc"],
    "car": ["car", "vehicle"], "bus": ["bus", "vehicle"], "truck": ["truck", "vehicle"],
    "bicycle": ["bicycle", "vehicle"], "motorcycle": ["motorcycle", "vehicle"],
    "train": ["train", "vehicle"], "boat": ["boat", "vehicle"], "airplane": ["airplane", "vehicle"],
    "sports ball": ["ball", "object", "misc"], "dining table": ["table", "object", "misc"],
}


class CaptionerSettings(NestedSettings):
    """:class:`~muie_bench.systems.pipeline.full.captioner.Captioner` (transformers
    image-to-text / image-text-to-text: BLIP, BLIP-2, GIT, Florence-2)."""

    enabled: bool = False
    model: str = "Salesforce/blip-image-captioning-base"
    device: str = Field("", pattern=DEVICE_OR_EMPTY)
    dtype: Dtype = "auto"
    batch_size: int = Field(8, ge=1)
    prompt: str = Field("", description="text prompt (BLIP-2 / Florence-2 task prompt); '' none")
    max_new_tokens: int = Field(30, ge=1)
    num_beams: int = Field(1, ge=1)
    video_frames: int = Field(3, ge=1, description="evenly spaced frames captioned per video")
    with_ocr: bool = Field(True, description="append the OCR lines to the caption")
    trust_remote_code: bool = False


class YoloSettings(NestedSettings):
    """:class:`~muie_bench.systems.pipeline.full.yolo.YoloSegmenter` (ultralytics)."""

    enabled: bool = False
    model: str = "yolov8n-seg.pt"
    device: str = Field("", pattern=DEVICE_OR_EMPTY)
    half: bool = Field(False, description="float16 inference (CUDA only)")
    batch_size: int = Field(8, ge=1, description="frames per forward pass")
    imgsz: int = Field(640, ge=32)
    conf: float = Field(0.25, ge=0, le=1)
    iou: float = Field(0.7, ge=0, le=1)
    max_det: int = Field(50, ge=1)
    class_map: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_CLASS_MAP))
    tracker: str = Field("bytetrack.yaml", description="bytetrack.yaml or botsort.yaml")
    sample_fps: float = Field(0.0, ge=0, description="video frames tracked per second; 0: all")


class OpenAIWhisperSettings(NestedSettings):
    """:class:`~muie_bench.systems.pipeline.full.whisper_asr.OpenAIWhisperASR`."""

    enabled: bool = False
    model: str = Field("tiny.en", description="a checkpoint file, or a name in download_root")
    download_root: str = Field("~/.cache/whisper", description="where named checkpoints lie")
    device: str = Field("", pattern=DEVICE_OR_EMPTY)
    fp16: bool = Field(False, description="float16 decoding (CUDA only)")
    language: str = "en"
    beam_size: int = Field(0, ge=0, description="0: greedy")
    sample_len: int = Field(0, ge=0, description="max tokens per 30-s window; 0: whisper's (224)")
    temperature: float = 0.0


class HfNerSettings(NestedSettings):
    """:class:`~muie_bench.systems.pipeline.full.hf_ner.TransformersIE` (token classification)."""

    enabled: bool = False
    model: str = "dslim/bert-base-NER"
    device: str = Field("", pattern=DEVICE_OR_EMPTY)
    dtype: Dtype = "float32"
    batch_size: int = Field(16, ge=1)
    #: model label (BIO prefix dropped) -> inventory types, the first one present wins;
    #: merged over the spaCy ``ner_map`` (OntoNotes labels)
    label_map: dict[str, list[str]] = Field(default_factory=lambda: {
        "PER": ["PER", "PERSON", "person"], "ORG": ["ORG", "organization"],
        "LOC": ["LOC", "GPE", "CITY", "location"], "MISC": ["MISC", "misc"]})
    min_score: float = Field(0.0, ge=0, le=1)


class PyannoteSettings(NestedSettings):
    """:class:`~muie_bench.systems.pipeline.full.pyannote_vad.PyannoteSpeech`."""

    enabled: bool = False
    model: str = "pyannote/segmentation-3.0"
    device: str = Field("", pattern=DEVICE_OR_EMPTY)
    batch_size: int = Field(32, ge=1)
    min_duration_on: float = Field(0.0, ge=0)
    min_duration_off: float = Field(0.0, ge=0)
    diarization: str = Field("", description="a pyannote diarization pipeline (local dir or "
                             "hub name, e.g. pyannote/speaker-diarization-3.1); '' off")


class ReferringSettings(NestedSettings):
    """:class:`~muie_bench.systems.pipeline.full.referring.ReferringSegmenter` (OWLv2 or
    Grounding DINO boxes -> SAM masks)."""

    enabled: bool = False
    detector: str = "google/owlv2-base-patch16-ensemble"
    sam: str = "facebook/sam-vit-base"
    device: str = Field("", pattern=DEVICE_OR_EMPTY)
    dtype: Dtype = "float32"
    batch_size: int = Field(8, ge=1, description="video frames per forward pass")
    threshold: float = Field(0.1, ge=0, le=1, description="detector score below which no box")
    video_frames: int = Field(8, ge=1, description="frames segmented per video (evenly spaced)")
    order: Literal["first", "fallback"] = Field(
        "fallback", description="in the pipeline: before the built-in grounders, or when they "
        "find nothing")
