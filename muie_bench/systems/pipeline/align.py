"""Forced alignment of a known transcript to speech with pocketsphinx (en-us model in its wheel).

Word boundaries come at 10 ms frames (accuracy about 30 ms on clear speech). Words missing
from the CMU dictionary are read as two dictionary words when they split into two
('brightwater'), else get a pronunciation from :func:`spell_phones`, a letter-to-phone rule
table (digraphs first), so invented names still align. Numbers and symbols without letters
are dropped from the alignment and get the times of their neighbours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from muie_bench.systems.pipeline.common import Word, resample

#: grapheme -> ARPABET phones; longest match first
_G2P: dict[str, str] = {
    "tch": "CH", "sch": "S K", "igh": "AY", "ough": "AO", "eau": "OW",
    "ch": "CH", "sh": "SH", "th": "TH", "ph": "F", "wh": "W", "ck": "K", "ng": "NG",
    "qu": "K W", "gh": "G", "kn": "N", "wr": "R", "ee": "IY", "ea": "IY", "oo": "UW",
    "ou": "AW", "ow": "OW", "oi": "OY", "oy": "OY", "ai": "EY", "ay": "EY", "ei": "EY",
    "ey": "EY", "au": "AO", "aw": "AO", "ie": "IY", "ue": "UW", "ew": "UW", "ar": "AA R",
    "er": "ER", "ir": "ER", "ur": "ER", "or": "AO R",
    "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH",
    "i": "IH", "j": "JH", "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P",
    "q": "K", "r": "R", "s": "S", "t": "T", "u": "AH", "v": "V", "w": "W", "x": "K S",
    "y": "IY", "z": "Z",
}
_MAXG = max(len(k) for k in _G2P)


def spell_phones(word: str) -> str:
    """A rule-based ARPABET pronunciation of ``word`` (letters only; '' when it has none).

    A final silent 'e' after a consonant is dropped; doubled consonants are read once.
    """
    w = re.sub(r"[^a-z]", "", word.lower())
    if len(w) > 2 and w.endswith("e") and w[-2] not in "aeiou":
        w = w[:-1]
    phones: list[str] = []
    i = 0
    while i < len(w):
        for n in range(min(_MAXG, len(w) - i), 0, -1):
            g = w[i : i + n]
            if g in _G2P:
                ph = _G2P[g].split()
                if not (phones and len(g) == 1 and phones[-1] == ph[0] and g not in "aeiouy"):
                    phones.extend(ph)
                i += n
                break
    return " ".join(phones)


def _dict_words(text: str) -> list[str]:
    """Alignment tokens: lowercase words of letters/apostrophes."""
    return re.findall(r"[a-z][a-z']*", text.lower())


@dataclass
class SphinxAligner:
    """Aligns a transcript to audio; output words carry the original tokens' times."""

    loglevel: str = "FATAL"
    #: wide beams: narrow ones lose the forced path when an invented word is misspelled
    beam: float = 1e-100
    wbeam: float = 1e-80
    pbeam: float = 1e-100
    _decoder: Any = field(default=None, repr=False)
    #: words this aligner added to the dictionary: never parts of a compound, so a word's phones
    #: do not depend on the instances aligned before it
    _added: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> SphinxAligner:
        return cls(**settings)

    def load(self) -> Any:
        if self._decoder is None:
            from pocketsphinx import Decoder

            # bestpath=False: the lattice best-path pass truncates forced alignments in 5.1.1;
            # cmn="batch": normalise each utterance on its own (live CMN carries state from the
            # previous utterance, so results would depend on the order instances are seen)
            self._decoder = Decoder(
                samprate=16000, lm=None, bestpath=False, loglevel=self.loglevel, cmn="batch",
                beam=self.beam, wbeam=self.wbeam, pbeam=self.pbeam,
            )
        return self._decoder

    def _ensure_words(self, words: list[str]) -> list[str]:
        d = self.load()
        out: list[str] = []
        for w in words:
            if d.lookup_word(w) is None:
                ph = self._compound_phones(w) or spell_phones(w)
                if not ph:
                    continue
                d.add_word(w, ph, True)
                self._added.add(w)
            out.append(w)
        return out

    def _compound_phones(self, w: str) -> str:
        """Phones of ``w`` read as two words of the package's dictionary ('brightwater'), or ''."""
        d = self.load()
        for i in range(3, len(w) - 2):
            if w[:i] in self._added or w[i:] in self._added:
                continue
            a, b = d.lookup_word(w[:i]), d.lookup_word(w[i:])
            if a and b:
                return f"{a} {b}"
        return ""

    def align(self, samples: np.ndarray[Any, Any], rate: int, text: str) -> list[Word]:
        """Word times of the alignable tokens of ``text`` (lowercased, in order).

        Returns [] when nothing aligns (empty text, silence, or the search fails).
        """
        words = self._ensure_words(_dict_words(text))
        if not words or samples.size == 0:
            return []
        audio = resample(samples, rate, 16000)
        pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
        d = self.load()
        try:
            # a fresh feature front end per utterance: its noise and level estimates otherwise
            # carry over, so word times depended on the instances aligned before (cmn="batch"
            # alone does not reset them)
            d.reinit_feat()
            d.set_align_text(" ".join(words))
            d.start_utt()
            d.process_raw(pcm, full_utt=True)
            d.end_utt()
        except RuntimeError:
            return []
        out: list[Word] = []
        for seg in d.seg() or []:  # None when the forced path was lost
            w = re.sub(r"\(\d+\)$", "", seg.word)
            if w.startswith(("<", "[", "+")):
                continue
            out.append(Word(w, seg.start_frame / 100.0, (seg.end_frame + 1) / 100.0))
        return out
