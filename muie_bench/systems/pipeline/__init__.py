"""The ``pipeline`` system kind: perceive (ASR, alignment, VAD, OCR, detection) -> text IE
(spaCy + dependency rules) -> ground (OCR boxes, detector masks, word alignment, tracklets).

Heavy libraries (faster-whisper, pocketsphinx, rapidocr, OpenCV, spaCy) are imported inside
the component that needs them, on first use.
"""
