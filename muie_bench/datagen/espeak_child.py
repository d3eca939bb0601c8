"""Synthesise one utterance with eSpeak NG through ctypes (run as a fresh process).

Protocol: read one JSON object ``{"text", "voice", "rate"}`` from stdin; write one JSON
line ``{"rate": sample_rate, "words": [[char_index, sample_index], ...], "n": samples}``
followed by the raw little-endian int16 samples to stdout. ``char_index`` is the 0-based
character offset of a word's first character, ``sample_index`` where its sound starts.
A fresh process per utterance keeps the library's internal state out of the output, so
the same input gives the same bytes. Imports only the standard library and the loader.
"""

from __future__ import annotations

import ctypes
import json
import sys

import espeakng_loader

AUDIO_OUTPUT_SYNCHRONOUS = 2
EVENT_WORD = 1
EVENT_LIST_TERMINATED = 0
CHARS_UTF8 = 1
RATE_PARAM = 1


class _IdUnion(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _IdUnion),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


def synthesise(text: str, voice: str, rate: int) -> tuple[int, list[list[int]], bytes]:
    """(sample rate, [[char index, sample index] per word], int16 PCM bytes)."""
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.restype = ctypes.c_int
    sr = lib.espeak_Initialize(
        AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0
    )
    if sr <= 0:
        raise RuntimeError("espeak_Initialize failed")
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        raise RuntimeError(f"unknown eSpeak voice {voice!r}")
    lib.espeak_SetParameter(RATE_PARAM, rate, 0)
    chunks: list[bytes] = []
    words: list[list[int]] = []
    total = [0]
    raw = text.encode("utf-8")
    # byte offset (1-based in eSpeak) -> character index
    byte_to_char: dict[int, int] = {}
    pos = 0
    for ci, ch in enumerate(text):
        byte_to_char[pos + 1] = ci
        pos += len(ch.encode("utf-8"))

    def on_audio(wav: ctypes._Pointer, n: int, events: ctypes._Pointer) -> int:  # type: ignore[type-arg]
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            ev = events[i]
            if ev.type == EVENT_WORD:
                words.append([byte_to_char.get(ev.text_position, ev.text_position - 1),
                              int(ev.audio_position) * sr // 1000])
            i += 1
        if n > 0 and wav:
            chunks.append(ctypes.string_at(wav, n * 2))
            total[0] += n
        return 0

    cb = _CALLBACK(on_audio)
    lib.espeak_SetSynthCallback(cb)
    buf = ctypes.create_string_buffer(raw)
    res = lib.espeak_Synth(buf, len(raw) + 1, 0, 0, 0, CHARS_UTF8, None, None)
    if res != 0:
        raise RuntimeError(f"espeak_Synth failed ({res})")
    lib.espeak_Synchronize()
    return sr, words, b"".join(chunks)


def main() -> None:
    req = json.loads(sys.stdin.read())
    sr, words, pcm = synthesise(req["text"], req["voice"], int(req["rate"]))
    out = sys.stdout.buffer
    out.write((json.dumps({"rate": sr, "words": words, "n": len(pcm) // 2}) + "\n").encode())
    out.write(pcm)
    out.flush()


if __name__ == "__main__":
    main()
