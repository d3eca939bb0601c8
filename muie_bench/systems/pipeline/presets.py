"""Named presets of the ``pipeline`` kind (importing this module registers the kind).

- ``pipeline-offline``: every offline component (ASR, alignment, OCR, Haar detection, motion
  tracklets, spaCy IE, all grounders);
- ``asr-spacy``: speech only (ASR transcript -> spaCy; audio grounding by alignment);
- ``ocr-spacy``: image text only (OCR -> spaCy; image grounding by OCR boxes, no detector);
- ``text-spacy``: the instance text only, no media grounding (the IE floor of the others);
- full tier (models a user supplies, README "Full tier"): ``pipeline-full`` (every
  component), ``caption-spacy``, ``yolo-spacy``, ``whisper-spacy``, ``hfner-text``,
  ``referring-spacy`` (one component each, for attribution).
"""

from __future__ import annotations

from muie_bench.systems.pipeline import system as _system  # noqa: F401 - registers the kind
from muie_bench.systems.registry import add_preset

add_preset(
    "pipeline-offline", "pipeline",
    "offline pipeline: whisper tiny.en ASR + pocketsphinx alignment + RapidOCR + Haar faces + "
    "motion tracklets -> spaCy IE -> built-in grounders",
)
add_preset(
    "asr-spacy", "pipeline", "speech only: whisper tiny.en ASR -> spaCy IE -> word alignment",
    perceive=["text", "audio"], ground=["audio"], detector_entities=False,
    spatial_relations=False,
)
add_preset(
    "ocr-spacy", "pipeline", "image text only: RapidOCR -> spaCy IE -> OCR-box grounding",
    perceive=["text", "image"], ground=["image"], detector_entities=False,
    spatial_relations=False, grounder={"use_detector": False},
)
add_preset(
    "text-spacy", "pipeline", "instance text only: spaCy IE, no perception, no grounding",
    perceive=["text"], ground=[], detector_entities=False, spatial_relations=False,
)

# ---------------------------------------------------------------- full tier (README "Full tier")
add_preset(
    "pipeline-full", "pipeline",
    "full tier: BLIP captions + YOLO-seg masks and ByteTrack tracks + openai-whisper ASR + "
    "pyannote speech regions + OWLv2/SAM referring segmentation + transformers NER (weights: "
    "-o captioner.model=... etc.)",
    captioner={"enabled": True}, yolo={"enabled": True}, whisper={"enabled": True},
    pyannote={"enabled": True}, referring={"enabled": True}, hf_ner={"enabled": True},
    grounder={"trim_to_speech": True},
)
add_preset(
    "caption-spacy", "pipeline", "captions only: BLIP caption (+ OCR) -> spaCy IE, no grounding",
    perceive=["text", "image", "video"], ground=[], detector_entities=False,
    spatial_relations=False, captioner={"enabled": True},
)
add_preset(
    "yolo-spacy", "pipeline",
    "YOLO only: spaCy IE on the text, YOLO-seg entities, masks and tracks, box-geometry relations",
    perceive=["text"], ground=["image", "video"], yolo={"enabled": True},
    grounder={"use_ocr": False, "video": {"use_motion": False}},
)
add_preset(
    "whisper-spacy", "pipeline", "speech only: openai-whisper ASR -> spaCy IE -> word alignment",
    perceive=["text", "audio"], ground=["audio"], detector_entities=False,
    spatial_relations=False, whisper={"enabled": True},
)
add_preset(
    "hfner-text", "pipeline", "instance text only: transformers NER + spaCy rules, no grounding",
    perceive=["text"], ground=[], detector_entities=False, spatial_relations=False,
    hf_ner={"enabled": True},
)
add_preset(
    "referring-spacy", "pipeline",
    "spaCy IE on the text, OWLv2 + SAM referring segmentation for every image / video mention",
    perceive=["text"], ground=["image", "video"], detector_entities=False,
    grounder={"use_ocr": False, "use_detector": False, "motion_fallback": False},
    referring={"enabled": True, "order": "first"},
)
