"""Named presets of the ``pipeline`` kind (importing this module registers the kind).

- ``pipeline-offline``: every offline component (ASR, alignment, OCR, Haar detection, motion
  tracklets, spaCy IE, all grounders);
- ``asr-spacy``: speech only (ASR transcript -> spaCy; audio grounding by alignment);
- ``ocr-spacy``: image text only (OCR -> spaCy; image grounding by OCR boxes, no detector);
- ``text-spacy``: the instance text only, no media grounding (the IE floor of the others).
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
