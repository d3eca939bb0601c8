"""CPU seconds per instance of each full-tier component at a realistic model size.

Random weights (no download) in the sizes of the checkpoints a user would supply:
BLIP-base (ViT-B/16 at 384 px + BERT-base decoder), YOLOv8n-seg (640 px), Whisper tiny.en
(openai-whisper, greedy; random weights never stop, so decoding is capped at ``--sample-len``
tokens per 30-s window, about what a real sentence of the bundled benchmark takes), the
segmentation-3.0-sized PyanNet, BERT-base NER, OWLv2-base (960 px) + SAM ViT-B (1024 px).
Each component runs on ``--n`` instances of muie-synth-mini that have its input (images,
videos, speech or text) after one warm-up call; the table gives the mean seconds per
instance (one process, CPU, the machine's torch thread default) and each model's
parameter count. Usage: ``python benchmarks/bench_full_tier.py [--n 4] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")

import full_tier_models as models

from muie_bench.benchmark import load_benchmark
from muie_bench.systems.pipeline.full import settings as st


def _params(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


def _time(fn: Callable[[Any], Any], items: list[Any]) -> float:
    fn(items[0])  # warm-up (first-call allocations, lazy inits)
    t0 = time.perf_counter()
    for x in items:
        fn(x)
    return (time.perf_counter() - t0) / len(items)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=4, help="instances per component")
    ap.add_argument("--sample-len", type=int, default=48, help="whisper tokens per window")
    ap.add_argument("--out", type=Path, default=Path("results/bench/full_tier.json"))
    ap.add_argument("--threads", type=int, default=0, help="torch threads; 0: torch's default")
    ap.add_argument("--only", default="", help="comma-separated components to run (default all)")
    args = ap.parse_args()
    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    only = set(filter(None, args.only.split(",")))

    def want(name: str) -> bool:
        return not only or name in only

    from muie_bench.systems.pipeline.full.captioner import Captioner
    from muie_bench.systems.pipeline.full.hf_ner import TransformersIE
    from muie_bench.systems.pipeline.full.pyannote_vad import PyannoteSpeech
    from muie_bench.systems.pipeline.full.referring import ReferringSegmenter
    from muie_bench.systems.pipeline.full.whisper_asr import OpenAIWhisperASR
    from muie_bench.systems.pipeline.full.yolo import YoloSegmenter

    bench = load_benchmark("muie-synth-mini")
    insts = list(bench)
    images = [bench.media.image(i.image) for i in insts if i.image][: args.n]
    videos = [list(bench.media.video_frames(i.video)) for i in insts if i.video][: args.n]
    fps = [bench.media.video_info(i.video).fps for i in insts if i.video][: args.n]
    audio = [bench.media.audio(i.audio) for i in insts if i.audio][: args.n]
    texts = [(i.text, bench.manifest.set(i.set)) for i in insts if i.text][: args.n]
    rows: list[dict[str, Any]] = []

    def add(component: str, model: str, params: int, what: str, secs: float) -> None:
        rows.append({"component": component, "model": model, "params_m": round(params / 1e6, 1),
                     "input": what, "s_per_instance": round(secs, 3)})
        print(f"{component:26} {model:34} {params / 1e6:7.1f} M  {what:28} {secs:7.3f} s",
              flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if want("captioner"):
            cap = Captioner(st.CaptionerSettings(model=str(models.build_blip(root / "blip", True)),
                                                 max_new_tokens=20, video_frames=3), "cpu")
            cap.load()
            p = _params(cap._model)
            add("captioner", "BLIP-base size", p, "image", _time(lambda x: cap.caption([x]), images))
            add("captioner", "BLIP-base size", p, "video (3 frames)", _time(cap.caption_video, videos))
        if want("yolo"):
            yolo = YoloSegmenter(st.YoloSettings(model=str(models.build_yolo(root / "yolo", True))),
                                 "cpu")
            yolo.load()
            p = _params(yolo._model.model)
            add("yolo segment", "YOLOv8n-seg size", p, "image (640 px)",
                _time(lambda x: yolo.segment([x]), images))
            add("yolo track (ByteTrack)", "YOLOv8n-seg size", p, "video (every frame)",
                _time(lambda k: yolo.track(videos[k], fps[k]), list(range(len(videos)))))
        if want("whisper"):
            asr = OpenAIWhisperASR(st.OpenAIWhisperSettings(
                model=str(models.build_whisper(root / "whisper", True)), sample_len=args.sample_len),
                "cpu")
            asr.load()
            add("whisper (openai-whisper)", "tiny.en size", _params(asr._model),
                f"speech ({args.sample_len} tokens)", _time(lambda a: asr.transcribe(*a), audio))
        if want("pyannote"):
            vad = PyannoteSpeech(st.PyannoteSettings(
                model=str(models.build_pyannote(root / "pa", True))), "cpu")
            vad.load()
            add("pyannote speech", "segmentation-3.0 size", _params(vad._vad._segmentation.model),
                "speech", _time(lambda a: vad.speech(*a), audio))
        if want("hf_ner"):
            ie = TransformersIE(ner=st.HfNerSettings(model=str(models.build_ner(root / "ner", True))),
                                default_device="cpu")
            ie.load()
            add("hf_ner (+ spaCy rules)", "BERT-base size", _params(ie._pipe.model), "text",
                _time(lambda t: ie.extract(t[0], t[1], spans=True), texts))
        if want("referring"):
            ref = ReferringSegmenter(st.ReferringSettings(
                detector=str(models.build_owlv2(root / "owl", True)),
                sam=str(models.build_sam(root / "sam", True)), threshold=0.0, video_frames=3),
                "cpu")
            ref.load()
            p = _params(ref._det) + _params(ref._sam)
            add("referring (one phrase)", "OWLv2-base + SAM ViT-B size", p, "image",
                _time(lambda x: ref.segment([x], "a cat"), images))
    meta = {"torch": torch.__version__, "threads": args.threads or "default", "n": args.n,
            "loadavg_1min_at_end": round(os.getloadavg()[0], 2)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"wrote {args.out} ({meta})")


if __name__ == "__main__":
    main()
