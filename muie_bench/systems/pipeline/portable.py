"""Same ASR output on every x86-64 CPU: CTranslate2's environment and a portable log-Mel front end.

What makes Whisper's output depend on the CPU, and what :func:`apply_ct2_env` (setting
``grounder.asr.portable``, on by default) does about it:

- CTranslate2 picks its GEMM library by CPU vendor (Intel MKL on Intel, oneDNN elsewhere) and
  its own kernels by instruction set (AVX-512 / AVX2 / AVX). Portable: ``CT2_USE_MKL=1`` (MKL on
  every vendor), ``MKL_CBWR=COMPATIBLE,STRICT`` (MKL's conditional numerical reproducibility:
  one SSE2 code path, fixed blocking, deterministic reductions on every Intel or compatible CPU,
  given a fixed thread count), ``CT2_FORCE_CPU_ISA=GENERIC`` (CTranslate2's own kernels in
  plain C++) and ``ONEDNN_MAX_CPU_ISA=SSE41`` (oneDNN still runs Whisper's two 1-D
  convolutions). The variables are read when the libraries load, so they are set when this
  package is imported, before anything imports ``ctranslate2``.
- int8 weights: the activation quantisation and integer GEMMs differ between VNNI, AVX2 and
  oneDNN kernels, so the default compute type is float32.
- faster-whisper's log-Mel features use NumPy's BLAS (OpenBLAS picks kernels per CPU) and
  NumPy's SIMD ``log10`` (AVX-512 and AVX2 versions round differently).
  :func:`portable_feature_extractor` computes the same features with IEEE operations only
  (``+ - * /``, each correctly rounded on every CPU) in a fixed order, constants from
  :mod:`decimal`.
"""

from __future__ import annotations

import os
import sys
from decimal import Decimal, getcontext
from typing import Any

import numpy as np

from muie_bench.errors import UserError

#: the environment of a CPU-independent CTranslate2 (module docstring)
PORTABLE_ENV: dict[str, str] = {
    "CT2_FORCE_CPU_ISA": "GENERIC",
    "CT2_USE_MKL": "1",
    "MKL_CBWR": "COMPATIBLE,STRICT",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
}

#: the caller's values of those variables before the package changed them (None: unset)
_ORIGINAL: dict[str, str | None] = {}


def _ct2_loaded() -> bool:
    return "ctranslate2" in sys.modules


def apply_ct2_env(portable: bool, strict: bool = True) -> None:
    """Sets (``portable``) or restores the CTranslate2 / MKL / oneDNN variables.

    Before ``ctranslate2`` is imported the variables are simply set or restored. Afterwards
    they can no longer change anything: a mismatch with what ``portable`` asks for is a
    UserError naming the setting (``strict``; otherwise nothing happens).
    """
    want: dict[str, str | None] = (
        dict(PORTABLE_ENV) if portable
        else {k: _ORIGINAL.get(k, os.environ.get(k)) for k in PORTABLE_ENV})
    if _ct2_loaded():
        if strict and any(os.environ.get(k) != v for k, v in want.items()):
            raise UserError(
                f"grounder.asr.portable: {portable} cannot take effect: ctranslate2 was "
                f"imported before (its CPU settings are read once, at import); run it in a "
                f"fresh process"
            )
        return
    for k, v in want.items():
        _ORIGINAL.setdefault(k, os.environ.get(k))
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def ct2_env_description(portable: bool) -> str:
    """What ``portable`` means, for the system's component record (fingerprint)."""
    if not portable:
        return "native (library defaults: per-CPU kernels)"
    return "portable " + " ".join(f"{k}={v}" for k, v in PORTABLE_ENV.items())


# ---------------------------------------------------------------------------- log-Mel features
_PREC = 40


def _dec_cos(x: Decimal) -> Decimal:
    """cos(x) by its Taylor series at ``_PREC`` digits (|x| <= 2 pi)."""
    getcontext().prec = _PREC + 5
    term, total, k, x2 = Decimal(1), Decimal(1), 0, x * x
    while True:
        k += 2
        term = -term * x2 / ((k - 1) * k)
        if abs(term) < Decimal(10) ** -(_PREC + 2):
            return total
        total += term


def _dec_pi() -> Decimal:
    """pi at ``_PREC`` digits (Machin's formula)."""
    getcontext().prec = _PREC + 5

    def arctan_inv(n: int) -> Decimal:
        x, total, k, sign = Decimal(1) / n, Decimal(0), 1, 1
        power = x
        while power > Decimal(10) ** -(_PREC + 3):
            total += sign * power / k
            power /= n * n
            k += 2
            sign = -sign
        return total

    return 16 * arctan_inv(5) - 4 * arctan_inv(239)


def hann_window(n: int) -> np.ndarray[Any, Any]:
    """Periodic Hann window of ``n`` points in float32: 0.5 - 0.5 cos(2 pi k / n), exactly rounded
    from 40-digit decimals (``np.hanning``'s cosine is NumPy's SIMD code)."""
    pi = _dec_pi()
    vals = [Decimal("0.5") - Decimal("0.5") * _dec_cos(2 * pi * k / n) for k in range(n)]
    return np.array([float(v) for v in vals], dtype=np.float64).astype(np.float32)


def mel_filters(sr: int, n_fft: int, n_mels: int) -> np.ndarray[Any, Any]:
    """Slaney-style mel filter bank as faster-whisper builds it (float32), the exponential of the
    log-frequency region from :mod:`decimal` instead of NumPy's SIMD ``exp``."""
    getcontext().prec = _PREC
    fftfreqs = np.arange(n_fft // 2 + 1, dtype=np.float64) * (sr / n_fft)
    max_mel = 45.245640471924965
    mels = np.linspace(0.0, max_mel, n_mels + 2)
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = Decimal("6.4").ln() / 27
    for i, m in enumerate(mels):
        if m >= min_log_mel:
            step = logstep * (Decimal(float(m)) - Decimal(min_log_mel))
            freqs[i] = float(Decimal(min_log_hz) * step.exp())
    fdiff = np.diff(freqs)
    ramps = freqs.reshape(-1, 1) - fftfreqs.reshape(1, -1)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    enorm = 2.0 / (freqs[2 : n_mels + 2] - freqs[:n_mels])
    out: np.ndarray[Any, Any] = (weights * enorm[:, None]).astype(np.float32)
    return out


_LN2 = 0.6931471805599453
_LN10 = 2.302585092994046
_SQRT_HALF = 0.7071067811865476
_INV_ODD = [1.0 / (2 * k + 1) for k in range(12)]


def log10_portable(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """log10 of positive finite float32 values, the same bits on every CPU.

    In float64: ``x = m * 2**e`` (``frexp``, exact) with ``m`` in [sqrt(1/2), sqrt(2)),
    ln m = 2 atanh(s), s = (m - 1) / (m + 1), by 12 terms of its series (error < 1e-17),
    then (e ln 2 + ln m) / ln 10 rounded to float32. Only + - * / are used.
    """
    m, e = np.frexp(np.asarray(x, dtype=np.float64))
    small = m < _SQRT_HALF
    m = np.where(small, m * 2.0, m)
    e = np.where(small, e - 1, e).astype(np.float64)
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    p = np.full_like(z, _INV_ODD[-1])
    for c in reversed(_INV_ODD[:-1]):
        p = p * z + c
    ln = e * _LN2 + 2.0 * s * p
    out: np.ndarray[Any, Any] = (ln / _LN10).astype(np.float32)
    return out


_EXTRACTOR_DOC = """faster-whisper's log-Mel spectrogram with CPU-independent arithmetic.

Same definition (periodic Hann window, centred STFT by ``np.fft.rfft``, power spectrum, Slaney
mel bank, log10 clipped at 1e-10, dynamic range 8, (x + 4) / 4); the power is re^2 + im^2, the
mel projection sums the non-zero filter weights in frequency order, and log10 is
:func:`log10_portable`. ``np.fft`` (pocketfft) has no per-CPU code paths.
"""

_EXTRACTOR: type | None = None


def portable_feature_extractor(**kwargs: Any) -> Any:
    """A ``PortableFeatureExtractor``: a subclass of faster-whisper's ``FeatureExtractor`` with
    CPU-independent arithmetic (defined on first use: importing faster-whisper loads
    ctranslate2, which must come after :func:`apply_ct2_env`)."""
    global _EXTRACTOR
    if _EXTRACTOR is None:
        from faster_whisper.feature_extractor import FeatureExtractor

        _EXTRACTOR = type("PortableFeatureExtractor", (FeatureExtractor,),
                          {"__init__": _init, "__call__": _call, "__doc__": _EXTRACTOR_DOC})
    return _EXTRACTOR(**kwargs)


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    super(type(self), self).__init__(*args, **kwargs)
    self.mel_filters = mel_filters(self.sampling_rate, self.n_fft, self.mel_filters.shape[0])
    self._window = hann_window(self.n_fft)
    self._bins = [np.flatnonzero(row) for row in self.mel_filters]


def _call(self: Any, waveform: np.ndarray[Any, Any], padding: int = 160,
          chunk_length: int | None = None) -> np.ndarray[Any, Any]:
    if chunk_length is not None:
        self.n_samples = chunk_length * self.sampling_rate
        self.nb_max_frames = self.n_samples // self.hop_length
    waveform = np.asarray(waveform, dtype=np.float32)
    if padding:
        waveform = np.pad(waveform, (0, padding))
    stft = self.stft(waveform, self.n_fft, self.hop_length, window=self._window,
                     return_complex=True).astype(np.complex64)[..., :-1]
    re, im = stft.real, stft.imag
    power = re * re + im * im
    mel = np.empty((self.mel_filters.shape[0], power.shape[-1]), dtype=np.float32)
    for i, ks in enumerate(self._bins):
        acc = np.zeros(power.shape[-1], dtype=np.float32)
        for k in ks:
            acc = acc + self.mel_filters[i, k] * power[k]
        mel[i] = acc
    log_spec = log10_portable(np.maximum(mel, np.float32(1e-10)))
    log_spec = np.maximum(log_spec, log_spec.max() - np.float32(8.0))
    out: np.ndarray[Any, Any] = (log_spec + np.float32(4.0)) / np.float32(4.0)
    return out
