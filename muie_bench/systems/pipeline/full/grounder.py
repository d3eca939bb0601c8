"""The pipeline's grounder with the full-tier components plugged in.

:class:`FullGrounder` is the :class:`~muie_bench.systems.pipeline.grounders.BuiltinGrounder`
with, where enabled: openai-whisper as the ``asr`` component; YOLO instance masks as the
image detections (an entity grounded by its detection gets the instance's mask, not its
box) and YOLO tracks as video tracklets (per-frame masks); captions as the IE text of an
image or video (with the OCR lines after them when ``captioner.with_ocr``); pyannote speech
regions for ``trim_to_speech``; referring segmentation before the built-in image / video
strategies (``referring.order=first``) or when they find nothing (``fallback``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from muie_bench.schema import RLE, Instance, VideoTrack
from muie_bench.systems.pipeline.common import timed
from muie_bench.systems.pipeline.detect import Detection
from muie_bench.systems.pipeline.grounders import BuiltinGrounder, ImagePerception
from muie_bench.systems.pipeline.video import Tracklet, VideoPerception

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark
    from muie_bench.systems.pipeline.full.captioner import Captioner
    from muie_bench.systems.pipeline.full.pyannote_vad import PyannoteSpeech
    from muie_bench.systems.pipeline.full.referring import ReferringSegmenter
    from muie_bench.systems.pipeline.full.whisper_asr import OpenAIWhisperASR
    from muie_bench.systems.pipeline.full.yolo import YoloSegmenter


@dataclass(frozen=True)
class MaskedDetection(Detection):
    """A detection with its instance mask (YOLO segmentation)."""

    mask: RLE | None = None


@dataclass
class MaskedTracklet(Tracklet):
    """A tracklet with a mask on each frame it was seen on (YOLO tracking)."""

    masks: dict[int, RLE] = field(default_factory=dict)
    track_id: int = 0

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "track_id": self.track_id, "masks": len(self.masks)}


@dataclass
class FullImagePerception(ImagePerception):
    caption: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        if self.caption is not None:
            out["caption"] = self.caption
        return out


@dataclass
class FullVideoPerception(VideoPerception):
    captions: list[str] = field(default_factory=list)

    def track(self, t: Tracklet) -> VideoTrack:
        if isinstance(t, MaskedTracklet):
            return VideoTrack(fps=self.fps, frames=dict(sorted(t.masks.items())))
        return super().track(t)

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        if self.captions:
            out["captions"] = self.captions
        return out


@dataclass
class FullGrounder(BuiltinGrounder):
    captioner: Captioner | None = field(default=None, repr=False)
    yolo: YoloSegmenter | None = field(default=None, repr=False)
    whisper: OpenAIWhisperASR | None = field(default=None, repr=False)
    pyannote: PyannoteSpeech | None = field(default=None, repr=False)
    referring: ReferringSegmenter | None = field(default=None, repr=False)
    referring_first: bool = False
    caption_with_ocr: bool = True
    _picked: tuple[str, int] | None = field(default=None, repr=False)

    def component(self, name: str) -> Any:
        if name == "asr" and self.whisper is not None:
            return self.whisper
        return super().component(name)

    # ------------------------------------------------------------------ perception
    def perceive_image(self, inst: Instance, bench: Benchmark) -> ImagePerception:
        if self.yolo is None and self.captioner is None:
            return super().perceive_image(inst, bench)

        def make() -> FullImagePerception:
            assert inst.image is not None
            rgb = bench.media.image(inst.image)
            lines = []
            dets: list[Detection] = []
            if self.use_ocr:
                with timed(self.trace, "ocr"):
                    lines = self.component("ocr").read(rgb)
            if self.yolo is not None:
                with timed(self.trace, "segment"):
                    (segs,) = self.yolo.segment([rgb])
                dets = [MaskedDetection(s.label, s.box, s.score, s.mask) for s in segs]
            elif self.use_detector:
                with timed(self.trace, "detect"):
                    dets = self.component("detect").detect(rgb)
            caption = None
            if self.captioner is not None:
                with timed(self.trace, "caption"):
                    (caption,) = self.captioner.caption([rgb])
            return FullImagePerception(rgb, lines, dets, caption)

        return self._cached(inst, "image", make)  # type: ignore[no-any-return]

    def perceive_video(self, inst: Instance, bench: Benchmark) -> VideoPerception:
        if self.yolo is None and self.captioner is None:
            return super().perceive_video(inst, bench)

        def make() -> FullVideoPerception:
            assert inst.video is not None
            with timed(self.trace, "video"):
                frames = list(bench.media.video_frames(inst.video))
                fps = bench.media.video_info(inst.video).fps
                det = self.component("detect") if self.use_detector and self.yolo is None else None
                ocr = self.component("ocr") if self.use_ocr else None
                base = self.component("video").analyze(frames, fps, det, ocr)
            tracklets = list(base.tracklets)
            if self.yolo is not None:
                with timed(self.trace, "track"):
                    tracks = self.yolo.track(frames, fps)
                tracklets = [MaskedTracklet(t.label, "", dict(t.boxes), t.score, dict(t.masks),
                                            t.track_id) for t in tracks] + tracklets
            captions: list[str] = []
            if self.captioner is not None:
                with timed(self.trace, "caption"):
                    captions = self.captioner.caption_video(frames)
            return FullVideoPerception(base.fps, base.n_frames, base.height, base.width, base.step,
                                       tracklets, base.foreground, base.min_fill, captions)

        return self._cached(inst, "video", make)  # type: ignore[no-any-return]

    def image_text(self, inst: Instance, bench: Benchmark) -> str:
        per = self.perceive_image(inst, bench)
        caption = getattr(per, "caption", None)
        if caption is None:
            return super().image_text(inst, bench)
        ocr = [ln.text for ln in per.lines] if self.caption_with_ocr else []
        return ". ".join(t for t in [caption, *ocr] if t)

    def video_text(self, inst: Instance, bench: Benchmark) -> str:
        per = self.perceive_video(inst, bench)
        captions = list(dict.fromkeys(getattr(per, "captions", [])))
        if not captions:
            return super().video_text(inst, bench)
        ocr = per.ocr_text() if self.caption_with_ocr else []
        return ". ".join(t for t in [*captions, *ocr] if t)

    def speech(self, inst: Instance, bench: Benchmark) -> list[tuple[float, float]]:
        if self.pyannote is None:
            return super().speech(inst, bench)
        pyannote = self.pyannote

        def make() -> list[tuple[float, float]]:
            samples, rate = self.audio_samples(inst, bench)
            with timed(self.trace, "vad"):
                return pyannote.speech(samples, rate)

        return self._cached(inst, "vad", make)  # type: ignore[no-any-return]

    def trace_extra(self, trace: dict[str, Any]) -> None:
        """Adds the instance's referring-segmentation calls to ``trace`` (and clears them)."""
        if self.referring is not None and self.referring.calls:
            trace["referring"] = list(self.referring.calls)
            self.referring.calls.clear()

    # ------------------------------------------------------------------ grounding
    def _next(self, inst: Instance, key: str, n: int) -> int | None:
        k = super()._next(inst, key, n)
        self._picked = (key, k) if k is not None else None
        return k

    def _referring(self, modality: str, phrase: str, inst: Instance,
                   bench: Benchmark) -> RLE | VideoTrack | None:
        assert self.referring is not None
        with timed(self.trace, "referring"):
            got = self.referring.ground(modality, phrase, None, inst, bench)  # type: ignore[arg-type]
        return got if isinstance(got, RLE | VideoTrack) else None

    def _ground_image(self, phrase: str, mtype: str | None, inst: Instance,
                      bench: Benchmark) -> RLE | None:
        if self.referring is not None and self.referring_first:
            got = self._referring("image", phrase, inst, bench)
            if isinstance(got, RLE):
                return got
        self._picked = None
        res = super()._ground_image(phrase, mtype, inst, bench)
        if res is not None and self._picked is not None and self._picked[0].startswith("image:"):
            label = self._picked[0].split(":", 1)[1]
            per = self.perceive_image(inst, bench)
            dets = sorted((d for d in per.detections if d.label == label), key=lambda d: -d.score)
            d = dets[self._picked[1]]
            if isinstance(d, MaskedDetection) and d.mask is not None:
                res = d.mask
        if res is None and self.referring is not None and not self.referring_first:
            got = self._referring("image", phrase, inst, bench)
            res = got if isinstance(got, RLE) else None
        return res

    def _ground_video(self, phrase: str, mtype: str | None, inst: Instance,
                      bench: Benchmark) -> VideoTrack | None:
        if self.referring is not None and self.referring_first:
            got = self._referring("video", phrase, inst, bench)
            if isinstance(got, VideoTrack):
                return got
        res = super()._ground_video(phrase, mtype, inst, bench)
        if res is None and self.referring is not None and not self.referring_first:
            got = self._referring("video", phrase, inst, bench)
            res = got if isinstance(got, VideoTrack) else None
        return res
