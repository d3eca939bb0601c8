"""Built-in grounders: a text phrase -> image mask, video track or audio time spans.

Strategies, in order:

- image: (1) the phrase read by OCR (token window over the OCR words, fuzzy per token with
  ``min_ratio``; else the phrase without spaces inside a line read without spaces, as OCR
  often drops the space of a name) -> the box of those words grown to the sign it is printed
  on (flood fill of the uniform background around the text; padded text box when that region
  is not a sign); for person-like mentions (``type_map``) the sign is read as the caption of
  a portrait above it: the region grows upward to ``portrait_aspect`` x its width;
  (2) a detector label that the mention type or phrase maps to (``type_map``, e.g. PER ->
  person) -> that detection's box; successive phrases of one instance get successive
  detections (highest score first);
- video: the same on tracklets (OCR text tracklets, then detector tracklets), then, when
  ``motion_fallback`` is on, the largest unassigned moving-region tracklet;
- speech (shared by the pipeline's IE): when the instance also has an image, its OCR lines
  prompt Whisper and replace the ASR words that sound like them (``asr_ocr_prompt``);
- audio: the phrase's words in the timed word sequence (forced alignment of the instance
  text without #hashtags / @handles when it has one and ``align_text`` is on; when that fails,
  the text's tokens timed by the ASR words they match (:func:`anchor_to_asr`); without text,
  ASR words, re-aligned with pocketsphinx when ``realign_asr``) -> one span per occurrence.

``None`` when nothing matches. Perception (OCR, detections, tracklets, words) is computed once
per instance and cached (``cache_size`` instances).
"""

from __future__ import annotations

import difflib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from muie_bench.schema import RLE, Instance, VideoTrack
from muie_bench.systems.pipeline.align import SphinxAligner
from muie_bench.systems.pipeline.asr import (
    Transcript,
    WhisperASR,
    correct_with_lexicon,
    split_camel,
)
from muie_bench.systems.pipeline.common import Box, Word, box_to_rle, timed, tokens, union_box
from muie_bench.systems.pipeline.detect import Detection, HaarDetector
from muie_bench.systems.pipeline.ocr import OcrLine, RapidOcr
from muie_bench.systems.pipeline.vad import SileroVAD
from muie_bench.systems.pipeline.video import (
    Tracklet,
    VideoAnalyzer,
    VideoPerception,
    decode_rgb,
)

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark

GroundingResult = RLE | VideoTrack | list[tuple[float, float]] | None

#: detector label -> mention types / head words it grounds (casefolded)
DEFAULT_TYPE_MAP: dict[str, list[str]] = {
    "person": ["per", "person", "people", "man", "woman", "boy", "girl", "child", "player",
               "reporter", "astronaut", "scientist", "officer", "agent", "face"],
}


@dataclass
class ImagePerception:
    rgb: np.ndarray[Any, Any]
    lines: list[OcrLine]
    detections: list[Detection]

    def to_json(self) -> dict[str, Any]:
        return {"ocr": [ln.to_json() for ln in self.lines],
                "detections": [d.to_json() for d in self.detections]}


@dataclass
class AudioPerception:
    words: list[Word]
    source: Literal["align", "text+asr", "asr", "asr+align", "none"]
    transcript: Transcript | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source,
                               "words": [[w.text, w.start, w.end] for w in self.words]}
        if self.transcript is not None:
            out["transcript"] = self.transcript.text
        return out


def anchor_to_asr(text: str, asr_words: list[Word]) -> list[Word]:
    """Times for the tokens of ``text`` from ASR words (when forced alignment failed).

    Tokens equal to an ASR token in the longest common subsequence (``difflib``) take its
    times; the others share the gap between their matched neighbours evenly. [] when no
    token matches.
    """
    toks = tokens(text)
    asr = [(t, w) for w in asr_words for t in tokens(w.text)]
    if not toks or not asr:
        return []
    sm = difflib.SequenceMatcher(None, toks, [t for t, _ in asr], autojunk=False)
    times: dict[int, tuple[float, float]] = {}
    for blk in sm.get_matching_blocks():
        for k in range(blk.size):
            w = asr[blk.b + k][1]
            times[blk.a + k] = (w.start, w.end)
    if not times:
        return []
    end_all = asr[-1][1].end
    out: list[Word] = []
    i = 0
    while i < len(toks):
        if i in times:
            out.append(Word(toks[i], *times[i]))
            i += 1
            continue
        j = i
        while j < len(toks) and j not in times:
            j += 1
        lo = times[i - 1][1] if i - 1 in times else asr[0][1].start
        hi = times[j][0] if j in times else end_all
        step = max(hi - lo, 0.02 * (j - i)) / (j - i)
        out.extend(Word(toks[k], lo + (k - i) * step, lo + (k - i + 1) * step) for k in range(i, j))
        i = j
    return out


def token_windows(phrase: str, seq: list[str], min_ratio: float) -> list[tuple[int, int]]:
    """Non-overlapping ``[i, j)`` windows of ``seq`` matching the tokens of ``phrase``.

    Each token pair must have a ``difflib`` ratio >= ``min_ratio``; windows are taken left to
    right. ``[]`` when the phrase has no tokens or nothing matches.
    """
    p = tokens(phrase)
    if not p or len(p) > len(seq):
        return []
    out: list[tuple[int, int]] = []
    i = 0
    while i + len(p) <= len(seq):
        ok = all(
            a == b or difflib.SequenceMatcher(None, a, b).ratio() >= min_ratio
            for a, b in zip(p, seq[i : i + len(p)], strict=True)
        )
        if ok:
            out.append((i, i + len(p)))
            i += len(p)
        else:
            i += 1
    return out


@dataclass
class BuiltinGrounder:
    """Grounds phrases in image, video and audio with the offline components."""

    ocr: dict[str, Any] = field(default_factory=dict)
    detect: dict[str, Any] = field(default_factory=dict)
    asr: dict[str, Any] = field(default_factory=dict)
    align: dict[str, Any] = field(default_factory=dict)
    video: dict[str, Any] = field(default_factory=dict)
    vad: dict[str, Any] = field(default_factory=dict)
    type_map: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_TYPE_MAP))
    use_ocr: bool = True
    use_detector: bool = True
    align_text: bool = True
    realign_asr: bool = True
    #: speech of an instance with an image: the OCR text is Whisper's initial prompt and ASR
    #: words that sound like an OCR line are replaced by it (ratio >= ``lexicon_ratio``)
    asr_ocr_prompt: bool = True
    lexicon_ratio: float = 0.7
    #: audio spans are trimmed to the speech regions Silero VAD finds inside them
    trim_to_speech: bool = False
    motion_fallback: bool = True
    min_ratio: float = 0.75
    sign_max_area: float = 0.5
    text_pad: float = 0.25
    portrait_aspect: float = 0.8
    cache_size: int = 4
    #: the caller's trace: perception adds ``timings[stage]`` seconds to it (asr, align, ocr,
    #: detect, video); the pipeline system points it at each prediction's trace
    trace: dict[str, Any] = field(default_factory=dict, repr=False)
    _cache: OrderedDict[tuple[str, str], Any] = field(default_factory=OrderedDict, repr=False)
    _handed: dict[tuple[str, str], set[int]] = field(default_factory=dict, repr=False)
    _components: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> BuiltinGrounder:
        return cls(**settings)

    # ------------------------------------------------------------------ components
    def component(self, name: str) -> Any:
        """The shared component ``ocr`` / ``detect`` / ``asr`` / ``align`` / ``video``."""
        if name not in self._components:
            make: Any = {"ocr": RapidOcr, "detect": HaarDetector, "asr": WhisperASR,
                         "align": SphinxAligner, "video": VideoAnalyzer}[name]
            self._components[name] = make.from_settings(getattr(self, name))
        return self._components[name]

    def _cached(self, inst: Instance, key: str, make: Any) -> Any:
        k = (inst.id, key)
        if k not in self._cache:
            self._cache[k] = make()
            while len(self._cache) > self.cache_size * 4:
                old = self._cache.popitem(last=False)[0]
                self._handed.pop(old, None)
        self._cache.move_to_end(k)
        return self._cache[k]

    # ------------------------------------------------------------------ perception
    def perceive_image(self, inst: Instance, bench: Benchmark) -> ImagePerception:
        def make() -> ImagePerception:
            assert inst.image is not None
            rgb = bench.media.image(inst.image)
            lines: list[OcrLine] = []
            dets: list[Detection] = []
            if self.use_ocr:
                with timed(self.trace, "ocr"):
                    lines = self.component("ocr").read(rgb)
            if self.use_detector:
                with timed(self.trace, "detect"):
                    dets = self.component("detect").detect(rgb)
            return ImagePerception(rgb, lines, dets)

        return self._cached(inst, "image", make)  # type: ignore[no-any-return]

    def audio_samples(self, inst: Instance, bench: Benchmark) -> tuple[np.ndarray[Any, Any], int]:
        if inst.audio is not None:
            return bench.media.audio(inst.audio)
        if inst.video is not None:
            got = bench.media.video_audio(inst.video)
            if got is not None:
                return got
        return np.zeros(0, np.float32), 16000

    def transcript(self, inst: Instance, bench: Benchmark) -> Transcript:
        """ASR transcript of the instance's speech (cached)."""

        def make() -> Transcript:
            samples, rate = self.audio_samples(inst, bench)
            names: list[str] = []
            if self.asr_ocr_prompt and inst.image is not None and self.use_ocr:
                names = [split_camel(ln.text) for ln in self.perceive_image(inst, bench).lines]
            with timed(self.trace, "asr"):
                tr: Transcript = self.component("asr").transcribe(
                    samples, rate, prompt=", ".join(names) + "." if names else None)
            return correct_with_lexicon(tr, names, self.lexicon_ratio) if names else tr

        return self._cached(inst, "asr", make)  # type: ignore[no-any-return]

    def perceive_audio(self, inst: Instance, bench: Benchmark) -> AudioPerception:
        """Timed words of the speech: aligned instance text, else (re-aligned) ASR words."""

        def make() -> AudioPerception:
            samples, rate = self.audio_samples(inst, bench)
            if samples.size == 0:
                return AudioPerception([], "none")
            if inst.text and self.align_text:
                spoken = " ".join(w for w in inst.text.split() if not w.startswith(("#", "@")))
                with timed(self.trace, "align"):
                    words = self.component("align").align(samples, rate, spoken)
                if words:
                    return AudioPerception(words, "align")
                tr = self.transcript(inst, bench)
                words = anchor_to_asr(spoken, tr.words)
                if words:
                    return AudioPerception(words, "text+asr", tr)
            tr = self.transcript(inst, bench)
            if self.realign_asr and tr.text:
                with timed(self.trace, "align"):
                    words = self.component("align").align(samples, rate, tr.text)
                if words:
                    return AudioPerception(words, "asr+align", tr)
            return AudioPerception(tr.words, "asr", tr)

        return self._cached(inst, "audio", make)  # type: ignore[no-any-return]

    def perceive_video(self, inst: Instance, bench: Benchmark) -> VideoPerception:
        def make() -> VideoPerception:
            assert inst.video is not None
            with timed(self.trace, "video"):
                video = self.component("video")
                frames = list(decode_rgb(bench.media.path(inst.video), video.integer_yuv))
                fps = bench.media.video_info(inst.video).fps
                det = self.component("detect") if self.use_detector else None
                ocr = self.component("ocr") if self.use_ocr else None
                return video.analyze(frames, fps, det, ocr)  # type: ignore[no-any-return]

        return self._cached(inst, "video", make)  # type: ignore[no-any-return]

    def image_text(self, inst: Instance, bench: Benchmark) -> str:
        """The IE text of an image: its OCR lines joined by ". "."""
        return ". ".join(ln.text for ln in self.perceive_image(inst, bench).lines)

    def video_text(self, inst: Instance, bench: Benchmark) -> str:
        """The IE text of a video: its OCR text tracklets joined by ". "."""
        return ". ".join(self.perceive_video(inst, bench).ocr_text())

    # ------------------------------------------------------------------ grounding
    def detector_label(self, phrase: str, mention_type: str | None) -> str | None:
        """The detector label a mention maps to through ``type_map`` (type first, then words)."""
        keys = [mention_type.casefold()] if mention_type else []
        keys += tokens(phrase)
        for label, names in self.type_map.items():
            wanted = {n.casefold() for n in names} | {label.casefold()}
            if any(k in wanted for k in keys):
                return label
        return None

    def _next(self, inst: Instance, key: str, n: int) -> int | None:
        handed = self._handed.setdefault((inst.id, key), set())
        for i in range(n):
            if i not in handed:
                handed.add(i)
                return i
        return None

    def ground(self, modality: Literal["image", "video", "audio"], phrase: str,
               mention_type: str | None, instance: Instance, benchmark: Benchmark
               ) -> GroundingResult:
        """Grounding of ``phrase`` in the instance's ``modality`` input, None if not found."""
        if modality == "image" and instance.image is not None:
            return self._ground_image(phrase, mention_type, instance, benchmark)
        if modality == "video" and instance.video is not None:
            return self._ground_video(phrase, mention_type, instance, benchmark)
        if modality == "audio" and (instance.audio is not None or instance.video is not None):
            return self._ground_audio(phrase, instance, benchmark)
        return None

    def _ground_image(self, phrase: str, mtype: str | None, inst: Instance,
                      bench: Benchmark) -> RLE | None:
        per = self.perceive_image(inst, bench)
        h, w = per.rgb.shape[:2]
        seq: list[tuple[str, Box]] = [
            (t, wd.box) for ln in per.lines for wd in ln.words for t in tokens(wd.text)
        ]
        wins = token_windows(phrase, [t for t, _ in seq], self.min_ratio)
        text_box = union_box([b for _, b in seq[wins[0][0] : wins[0][1]]]) if wins else None
        if text_box is None:
            text_box = self._compact_match(phrase, per.lines)
        label = self.detector_label(phrase, mtype)
        if text_box is not None:
            box = self.sign_box(per.rgb, text_box)
            if label == "person" and self.portrait_aspect > 0:
                top = box[3] - (box[2] - box[0]) * self.portrait_aspect
                box = (box[0], max(0.0, min(box[1], top)), box[2], box[3])
            return box_to_rle(box, h, w)
        if label is not None:
            dets = sorted((d for d in per.detections if d.label == label), key=lambda d: -d.score)
            k = self._next(inst, f"image:{label}", len(dets))
            if k is not None:
                return box_to_rle(dets[k].box, h, w)
        return None

    def _compact_match(self, phrase: str, lines: list[OcrLine]) -> Box | None:
        """Box of ``phrase`` inside a line, both read without spaces/punctuation, or None.

        An exact substring gives the proportional part of the line box; otherwise the whole
        line when the two compact strings have a ``difflib`` ratio >= ``min_ratio``.
        """
        p = "".join(tokens(phrase))
        if len(p) < 3:
            return None
        best: tuple[float, Box] | None = None
        for ln in lines:
            c = "".join(tokens(ln.text))
            if not c:
                continue
            k = c.find(p)
            if k >= 0:
                x0, y0, x1, y1 = ln.box
                step = (x1 - x0) / len(c)
                return (x0 + k * step, y0, x0 + (k + len(p)) * step, y1)
            r = difflib.SequenceMatcher(None, p, c).ratio()
            if r >= self.min_ratio and (best is None or r > best[0]):
                best = (r, ln.box)
        return best[1] if best else None

    def sign_box(self, rgb: np.ndarray[Any, Any], text_box: Box) -> Box:
        """The uniform region around ``text_box`` (the sign), or the padded text box."""
        import cv2

        h, w = rgb.shape[:2]
        x0, y0, x1, y1 = (int(v) for v in text_box)
        pad = max(2, int(self.text_pad * (y1 - y0)))
        fallback: Box = (max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad))
        sx, sy = max(0, x0 - 3), min(h - 1, (y0 + y1) // 2)
        img = np.ascontiguousarray(rgb[:, :, ::-1])
        mask = np.zeros((h + 2, w + 2), np.uint8)
        flags = 8 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (255 << 8)
        cv2.floodFill(img, mask, (sx, sy), (0, 0, 0), (12, 12, 12), (12, 12, 12), flags)
        ys, xs = np.nonzero(mask[1:-1, 1:-1])
        if ys.size == 0:
            return fallback
        box: Box = (float(min(xs.min(), x0)), float(min(ys.min(), y0)),
                    float(max(xs.max() + 1, x1)), float(max(ys.max() + 1, y1)))
        area = (box[2] - box[0]) * (box[3] - box[1])
        if area > self.sign_max_area * h * w or ys.size < 0.5 * area:
            return fallback
        return box

    def _ground_video(self, phrase: str, mtype: str | None, inst: Instance,
                      bench: Benchmark) -> VideoTrack | None:
        per = self.perceive_video(inst, bench)
        texts = [t for t in per.tracklets if t.label == "text"]
        compact = "".join(tokens(phrase))
        for t in texts:
            if token_windows(phrase, tokens(t.text), self.min_ratio) or (
                    len(compact) >= 3 and compact in "".join(tokens(t.text))):
                return per.track(t)
        label = self.detector_label(phrase, mtype)
        pick: Tracklet | None = None
        if label is not None:
            cands = [t for t in per.tracklets if t.label == label]
            k = self._next(inst, f"video:{label}", len(cands))
            pick = cands[k] if k is not None else None
        if pick is None and self.motion_fallback:
            moving = [t for t in per.tracklets if t.label == "moving"]
            k = self._next(inst, "video:moving", len(moving))
            pick = moving[k] if k is not None else None
        return per.track(pick) if pick is not None else None

    def _ground_audio(self, phrase: str, inst: Instance,
                      bench: Benchmark) -> list[tuple[float, float]] | None:
        per = self.perceive_audio(inst, bench)
        seq: list[tuple[str, Word]] = [(t, w) for w in per.words for t in tokens(w.text)]
        exact = per.source in ("align", "text+asr")  # the words are the mention's own text
        wins = token_windows(phrase, [t for t, _ in seq], 1.0 if exact else self.min_ratio)
        spans = [(seq[i][1].start, seq[j - 1][1].end) for i, j in wins]
        if spans and self.trim_to_speech:
            speech = self.speech(inst, bench)
            trimmed = []
            for s, e in spans:
                parts = [(max(s, a), min(e, b)) for a, b in speech if min(e, b) > max(s, a)]
                trimmed.append((parts[0][0], parts[-1][1]) if parts else (s, e))
            spans = trimmed
        return spans or None

    def speech(self, inst: Instance, bench: Benchmark) -> list[tuple[float, float]]:
        """Speech regions of the instance's audio (Silero VAD, cached)."""

        def make() -> list[tuple[float, float]]:
            samples, rate = self.audio_samples(inst, bench)
            with timed(self.trace, "vad"):
                return SileroVAD.from_settings(self.vad).speech(samples, rate)

        return self._cached(inst, "vad", make)  # type: ignore[no-any-return]
