"""Subprocess half of tests/test_pipeline_cpu.py: predicts instances with a pipeline preset and
prints what the predictions say, decoded, as one JSON object on stdout.

Usage: ``python tests/pipeline_cpu_probe.py BENCH_DIR IDS_JSON OVERRIDES_JSON``. When
``PROBE_AV_CPU_FLAGS`` is set, FFmpeg's CPU feature flags are forced to that integer first
(``av_force_cpu_flags``: the SIMD paths FFmpeg would pick on a CPU with only those features).

Output per instance id: the extraction output (mentions with texts, types, audio spans in
seconds, image masks as COCO RLE of the decoded mask, video tracks per frame), the ASR words
with times, and the timed words used for audio grounding.
"""

from __future__ import annotations

import ctypes
import glob
import json
import os
import sys
from pathlib import Path


def _force_av_flags() -> None:
    flags = os.environ.get("PROBE_AV_CPU_FLAGS")
    if not flags:
        return
    import av

    libs = glob.glob(os.path.join(os.path.dirname(av.__file__) + ".libs", "libavutil-*.so*"))
    if not libs:  # a PyAV built against the system's FFmpeg
        libs = ["libavutil.so"]
    ctypes.CDLL(libs[0]).av_force_cpu_flags(ctypes.c_int(int(flags)))


def main() -> None:
    _force_av_flags()
    from muie_bench.benchmark import load_benchmark
    from muie_bench.systems.registry import build_system

    bench = load_benchmark(Path(sys.argv[1]))
    ids: list[str] = json.loads(sys.argv[2])
    system = build_system("pipeline-offline", json.loads(sys.argv[3]))
    system.setup(bench)
    out: dict[str, object] = {}
    for iid in ids:
        pred = system.predict(bench.get(iid), bench)
        out[iid] = {
            "output": pred.output.model_dump(mode="json") if pred.output else None,
            "asr_words": (pred.trace.get("transcript") or {}).get("words"),
            "audio_words": (pred.trace.get("audio_words") or {}).get("words"),
        }
    out["_components"] = system.components()
    sys.stdout.write(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
