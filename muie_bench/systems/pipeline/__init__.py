"""The ``pipeline`` system kind: perceive (ASR, alignment, VAD, OCR, detection) -> text IE
(spaCy + dependency rules) -> ground (OCR boxes, detector masks, word alignment, tracklets).

Heavy libraries (faster-whisper, pocketsphinx, rapidocr, OpenCV, spaCy) are imported inside
the component that needs them, on first use. Importing the package sets the environment of a
CPU-independent CTranslate2 (``portable``) before anything can load it.
"""

from muie_bench.systems.pipeline.portable import apply_ct2_env as _apply_ct2_env

_apply_ct2_env(True, strict=False)
