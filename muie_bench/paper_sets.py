"""The paper's 15-set layout of the MUIE test set.

Each set has its modalities, task, the source dataset it follows in the paper, and the
columns the paper reports for it. Column ids are the metric ids of ``scores.json``:
``f1`` (NER / RE micro-F1), ``et`` / ``ea`` (event trigger / argument classification F1),
``i_seg``, ``a_seg``, ``v_trck`` (grounding IoU in image, audio, video).
"""

from __future__ import annotations

from dataclasses import dataclass

from muie_bench.schema import Modality, Task


@dataclass(frozen=True)
class PaperSet:
    id: str
    modalities: tuple[Modality, ...]
    task: Task
    source: str
    columns: tuple[str, ...]


COLUMN_TITLES: dict[str, str] = {
    "f1": "F1",
    "et": "ET",
    "ea": "EA",
    "i_seg": "I-Seg",
    "a_seg": "A-Seg",
    "v_trck": "V-Trck",
}

_ABBREV: dict[Modality, str] = {"text": "T", "image": "I", "audio": "A", "video": "V"}

PAPER_SETS: tuple[PaperSet, ...] = (
    PaperSet("i-ner", ("image",), "ner", "PASCAL-Context", ("f1", "i_seg")),
    PaperSet("i-re", ("image",), "re", "VRD", ("f1", "i_seg")),
    PaperSet("i-ee", ("image",), "ee", "imSitu", ("et", "ea", "i_seg")),
    PaperSet("v-ee", ("video",), "ee", "VidSitu", ("et", "ea", "v_trck")),
    PaperSet("a-ner", ("audio",), "ner", "ACE05 (speech)", ("f1", "a_seg")),
    PaperSet("a-re", ("audio",), "re", "Re-TACRED (speech)", ("f1", "a_seg")),
    PaperSet("ti-ner", ("text", "image"), "ner", "Twitter-2017", ("f1", "i_seg")),
    PaperSet("ti-re", ("text", "image"), "re", "MNRE", ("f1", "i_seg")),
    PaperSet("ti-ee", ("text", "image"), "ee", "M2E2", ("et", "ea", "i_seg")),
    PaperSet("tv-ee", ("text", "video"), "ee", "VidSitu-Txt", ("et", "ea", "v_trck")),
    PaperSet("ta-ner", ("text", "audio"), "ner", "ACE05 (text + speech)", ("f1", "a_seg")),
    PaperSet("ta-re", ("text", "audio"), "re", "Re-TACRED (text + speech)", ("f1", "a_seg")),
    PaperSet("ia-re", ("image", "audio"), "re", "MNRE (speech)", ("f1", "i_seg", "a_seg")),
    PaperSet(
        "tia-ner", ("text", "image", "audio"), "ner", "Twitter-2017 (speech)",
        ("f1", "i_seg", "a_seg"),
    ),
    PaperSet("va-ee", ("video", "audio"), "ee", "VidSitu (speech)", ("et", "ea", "v_trck", "a_seg")),
)

PAPER_SET_BY_ID: dict[str, PaperSet] = {s.id: s for s in PAPER_SETS}


def modality_label(modalities: tuple[Modality, ...] | list[Modality]) -> str:
    """'T+I' style label of a modality combination, (T, I, V, A order, as the paper writes)."""
    order: tuple[Modality, ...] = ("text", "image", "video", "audio")
    return "+".join(_ABBREV[m] for m in order if m in modalities)


def columns_for(set_id: str, task: Task, modalities: list[Modality]) -> tuple[str, ...]:
    """The paper's columns for a set; for a set outside the paper, derived from task/modalities."""
    if set_id in PAPER_SET_BY_ID:
        return PAPER_SET_BY_ID[set_id].columns
    cols: list[str] = ["et", "ea"] if task == "ee" else ["f1"]
    for mod, col in (("image", "i_seg"), ("video", "v_trck"), ("audio", "a_seg")):
        if mod in modalities:
            cols.append(col)
    return tuple(cols)
