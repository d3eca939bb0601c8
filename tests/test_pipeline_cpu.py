"""The offline pipeline's default predictions do not depend on the CPU or on thread counts.

Another CPU is simulated in a subprocess by the switches the libraries read to pick their code
paths: CTranslate2's GEMM library (MKL on Intel, oneDNN elsewhere: ``CT2_USE_MKL``) and kernel
ISA (``CT2_FORCE_CPU_ISA``), MKL's dispatch cap (``MKL_ENABLE_INSTRUCTIONS``), NumPy's SIMD
targets (``NPY_DISABLE_CPU_FEATURES``), OpenBLAS's kernel (``OPENBLAS_CORETYPE``), OpenCV's
dispatch (``OPENCV_CPU_DISABLE``), FFmpeg's CPU flags (``av_force_cpu_flags``) and OpenMP's
thread count. The decoded predictions (mention texts, audio spans, masks, tracks) and the ASR
word times must be equal. onnxruntime's kernels cannot be switched this way (no such knob):
OCR is covered only on this machine's kernels.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from muie_bench.errors import UserError

pytest.importorskip("faster_whisper")
pytest.importorskip("rapidocr_onnxruntime")
pytest.importorskip("cv2")

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "tests" / "pipeline_cpu_probe.py"

#: speech only (ASR words), text + speech, image (OCR + Haar), text + video, video + speech
IDS = ["a-ner-0001", "ta-ner-0001", "i-ner-0000", "tv-ee-0000", "va-ee-0006"]

# FFmpeg AV_CPU_FLAG_* bits
_MMX, _MMXEXT, _SSE, _SSE2 = 0x1, 0x2, 0x8, 0x10
_SSE3, _SSSE3, _SSE4, _SSE42, _AVX, _AVX2, _FMA3 = 0x40, 0x80, 0x100, 0x200, 0x4000, 0x8000, 0x10000
_AV_SSE2 = _MMX | _MMXEXT | _SSE | _SSE2
_AV_AVX2 = _AV_SSE2 | _SSE3 | _SSSE3 | _SSE4 | _SSE42 | _AVX | _AVX2 | _FMA3


def _numpy_targets() -> list[str]:
    from numpy._core._multiarray_umath import __cpu_dispatch__

    return list(__cpu_dispatch__)


def _variants() -> dict[str, dict[str, str]]:
    npy = _numpy_targets()
    return {
        # an AVX2 CPU that is not Intel's (AMD EPYC Zen 2/3): oneDNN instead of MKL
        "avx2-non-intel": {
            "CT2_USE_MKL": "0", "CT2_FORCE_CPU_ISA": "AVX2",
            "NPY_DISABLE_CPU_FEATURES": " ".join(t for t in npy if t != "X86_V3"),
            "OPENBLAS_CORETYPE": "Zen", "OPENCV_CPU_DISABLE": "AVX512_SKX",
            "PROBE_AV_CPU_FLAGS": str(_AV_AVX2), "OMP_NUM_THREADS": "2",
        },
        # an old Intel CPU with AVX only / SSE paths everywhere
        "avx-intel": {
            "CT2_USE_MKL": "1", "CT2_FORCE_CPU_ISA": "AVX", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
            "NPY_DISABLE_CPU_FEATURES": " ".join(npy), "OPENBLAS_CORETYPE": "Prescott",
            "OPENCV_CPU_DISABLE": "AVX512_SKX,AVX2,FP16,AVX",
            "PROBE_AV_CPU_FLAGS": str(_AV_SSE2), "OMP_NUM_THREADS": "3",
        },
    }


def _probe(mini_dir: Path, env_extra: dict[str, str], overrides: dict[str, Any] | None = None
           ) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CT2_", "MKL_", "ONEDNN_", "NPY_", "OPENBLAS_", "OPENCV_", "OMP_"))}
    env.update(env_extra)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["HF_HUB_OFFLINE"] = "1"
    r = subprocess.run([sys.executable, str(PROBE), str(mini_dir), json.dumps(IDS),
                        json.dumps(overrides or {})], capture_output=True, text=True, env=env,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    out: dict[str, Any] = json.loads(r.stdout)
    return out


def _diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


@pytest.fixture(scope="module")
def base(mini_dir: Path) -> dict[str, Any]:
    """The default configuration's decoded predictions on this machine as it is."""
    return _probe(mini_dir, {})


@pytest.mark.slow
@pytest.mark.offline_models
def test_default_predictions_identical_under_simulated_cpus(mini_dir: Path,
                                                            base: dict[str, Any]) -> None:
    assert base["a-ner-0001"]["asr_words"], "the speech-only instance must go through ASR"
    assert base["va-ee-0006"]["asr_words"], "the video + speech instance must go through ASR"
    assert any(m["image_mask"] for m in base["i-ner-0000"]["output"]["entities"])
    assert any(m["video_track"] for m in base["tv-ee-0000"]["output"]["entities"])
    assert "portable" in base["_components"]["asr.cpu"]
    for name, env in _variants().items():
        other = _probe(mini_dir, env)
        assert _diff(base, other) == [], f"{name}: predictions differ for {_diff(base, other)}"


@pytest.mark.slow
@pytest.mark.offline_models
def test_thread_settings_do_not_change_predictions(mini_dir: Path, base: dict[str, Any]) -> None:
    """OCR and OpenCV thread counts are settings (1 by default); 2 threads give the same output."""
    two = _probe(mini_dir, {}, {"grounder.ocr.threads": 2, "grounder.detect.threads": 2})
    assert _diff(base, two) == ["_components"]


# ---------------------------------------------------------------------------- fast unit tests
def test_log10_portable_is_correctly_rounded_on_a_sample() -> None:
    """Equal to float64 log10 rounded to float32 on 400,000 values over 16 decades."""
    from muie_bench.systems.pipeline.portable import log10_portable

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.random(200_000) * 1e4, 10.0 ** rng.uniform(-10, 6, 200_000),
                        [1e-10, 1.0, 10.0, 1000.0, 0.5, 2.0]]).astype(np.float32)
    ref = np.log10(x.astype(np.float64)).astype(np.float32)
    got = log10_portable(x)
    assert got.dtype == np.float32
    assert int((got != ref).sum()) == 0
    assert got[-5] == 0.0 and got[-4] == 1.0 and got[-3] == 3.0


def test_portable_features_match_faster_whisper() -> None:
    from faster_whisper.feature_extractor import FeatureExtractor

    from muie_bench.systems.pipeline.portable import hann_window, portable_feature_extractor

    audio = (np.random.default_rng(1).standard_normal(16000 * 3) * 0.1).astype(np.float32)
    ref, pf = FeatureExtractor(), portable_feature_extractor()
    assert np.array_equal(pf.mel_filters, ref.mel_filters)
    assert np.abs(hann_window(400) - np.hanning(401)[:-1].astype(np.float32)).max() <= 6e-8
    a, b = ref(audio), pf(audio)
    assert a.shape == b.shape and a.dtype == b.dtype == np.float32
    assert float(np.abs(a - b).max()) < 1e-6


def test_integer_yuv_round_trip() -> None:
    """yuv420p_to_rgb inverts the generator's integer BT.601 (flat 2x2 blocks: within 2 levels)."""
    from muie_bench.datagen.video import to_yuv420p
    from muie_bench.systems.pipeline.video import yuv420p_to_rgb

    rng = np.random.default_rng(2)
    img = np.repeat(np.repeat(rng.integers(0, 256, (8, 10, 3)), 2, 0), 2, 1).astype(np.uint8)
    yuv = to_yuv420p(img)
    h, w = img.shape[:2]
    u = yuv[h : h + h // 4].reshape(h // 2, w // 2)
    v = yuv[h + h // 4 :].reshape(h // 2, w // 2)
    back = yuv420p_to_rgb(yuv[:h], u, v)
    assert back.shape == img.shape and back.dtype == np.uint8
    assert int(np.abs(back.astype(int) - img).max()) <= 2


def test_portable_setting_cannot_change_after_ctranslate2_loaded() -> None:
    import ctranslate2  # noqa: F401

    from muie_bench.systems.pipeline.portable import PORTABLE_ENV, apply_ct2_env

    assert all(os.environ.get(k) == v for k, v in PORTABLE_ENV.items())
    apply_ct2_env(True)  # what is in effect: fine
    with pytest.raises(UserError, match=r"grounder\.asr\.portable"):
        apply_ct2_env(False)


def test_components_record_the_cpu_choices() -> None:
    from muie_bench.systems.registry import build_system

    default = build_system("pipeline-offline").components()
    native = build_system("pipeline-offline", {"grounder.asr.portable": False,
                                               "grounder.asr.compute_type": "int8"}).components()
    assert default["asr.cpu"].startswith("portable CT2_FORCE_CPU_ISA=GENERIC")
    assert default["asr.compute_type"] == "float32"
    assert native["asr.cpu"].startswith("native") and native["asr.compute_type"] == "int8"
    assert build_system("pipeline-offline").fingerprint() != build_system(
        "pipeline-offline", {"grounder.asr.portable": False}).fingerprint()
