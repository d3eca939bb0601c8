"""`muie-bench data import`: each converter on fixtures written in its source's real format
(with the format's quirks) and on malformed records; the output validates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from muie_bench.benchmark import load_benchmark, validate_benchmark
from muie_bench.errors import UserError, ValidationProblems
from muie_bench.schema import RLE
from muie_bench.sources import import_dataset

ROOT = Path(__file__).resolve().parent.parent


def img(folder: Path, name: str, w: int = 64, h: int = 48) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    Image.new("RGB", (w, h), (120, 90, 60)).save(p)
    return p


def decode(rle: RLE) -> np.ndarray[Any, Any]:
    return np.asarray(mask_utils.decode({"size": list(rle.size), "counts": rle.counts.encode()}), bool)


def box(h: int, w: int, x1: int, y1: int, x2: int, y2: int) -> np.ndarray[Any, Any]:
    m = np.zeros((h, w), bool)
    m[y1:y2, x1:x2] = True
    return m


# --------------------------------------------------------------------------- twitter2017

TWEETS = (
    "IMGID:16_05_01_360\n"
    "RT\tO\n@\tO\njdoe\tB-PER\n:\tO\nNew\tB-LOC\nYork\tI-LOC\nMets\tI-ORG\nwin\tO\n#\tO\nMetsWin\tB-MISC\n…\tO\n"
    "\n"
    "IMGID:O_2144\n"
    "Just\tO\nmet\tO\nAnna\tB-PER\nLee\tI-PER\n"
    "\n"
)


def test_twitter2017_blocks_to_ti_ner(tmp_path: Path) -> None:
    src = tmp_path / "test.txt"
    src.write_text(TWEETS, encoding="utf-8")
    img(tmp_path / "img", "16_05_01_360.jpg")
    img(tmp_path / "img", "O_2144.jpg", 32, 32)
    r = import_dataset("twitter2017", [src], tmp_path / "out", media=tmp_path / "img")
    assert r.counts == {"ti-ner": 2} and r.skipped == []
    bench = validate_benchmark(tmp_path / "out")
    a, b = bench.instances
    assert a.text == "RT @ jdoe : New York Mets win # MetsWin …"
    got = [(m.type, m.text, m.span) for m in a.gold.entities]
    # an I- tag of another type starts a new entity (conlleval's reading)
    assert got == [("PER", "jdoe", (5, 9)), ("LOC", "New York", (12, 20)), ("ORG", "Mets", (21, 25)),
                   ("MISC", "MetsWin", (32, 39))]
    assert [(m.type, m.text) for m in b.gold.entities] == [("PER", "Anna Lee")]
    assert a.image == "media/ti-ner/16_05_01_360.jpg" and a.meta["image_id"] == "16_05_01_360"
    spec = bench.manifest.set("ti-ner")
    assert spec.source == "Twitter-2017" and spec.entity_types == ["LOC", "MISC", "ORG", "PER"]
    assert "media/ti-ner/O_2144.jpg" in bench.manifest.files
    assert bench.manifest.assets[0].used_in == ["media/ti-ner/16_05_01_360.jpg", "media/ti-ner/O_2144.jpg"]


def test_twitter2017_malformed_records(tmp_path: Path) -> None:
    src = tmp_path / "bad.txt"
    src.write_text(TWEETS + "IMGID:O_2144\nfoo\tB-FOO\n\nIMGID:O_2144\nno tab here\n\nbar\tO\n\n"
                   "IMGID:missing_img\nx\tO\n\n", encoding="utf-8")
    img(tmp_path / "img", "16_05_01_360.jpg")
    img(tmp_path / "img", "O_2144.jpg")
    with pytest.raises(ValidationProblems) as ei:
        import_dataset("twitter2017", [src], tmp_path / "out", media=tmp_path / "img")
    assert ei.value.problems == [
        f"{src}:21: tag: unknown tag 'B-FOO' (O, or B-/I- + LOC, MISC, ORG, PER)",
        f"{src}:24: token: expected 'token<TAB>tag', got 'no tab here'",
        f"{src}:26: IMGID: a tweet must start with an 'IMGID:<image id>' line, got 'bar\\tO'",
        f"{src}:28: IMGID: image 'missing_img' not found in {tmp_path / 'img'}",
    ]
    assert not (tmp_path / "out").exists()  # nothing written
    r = import_dataset("twitter2017", [src], tmp_path / "out", media=tmp_path / "img", skip_bad=True)
    assert r.counts == {"ti-ner": 2} and len(r.skipped) == 4
    assert load_benchmark(tmp_path / "out").manifest.generator["skipped"] == 4


# --------------------------------------------------------------------------- mnre

MNRE = [
    # Python dict literals (single quotes), end-exclusive token offsets, 'None' relations
    "{'token': ['RT', '@cnn', ':', 'Rafael', 'Nadal', 'engaged', 'to', 'Mery', 'Perello', 'in', 'Mallorca'], "
    "'h': {'name': 'Rafael Nadal', 'pos': [3, 5]}, 't': {'name': 'Mery Perello', 'pos': [7, 9]}, "
    "'img_id': 'twitter_19_31_22_54.jpg', 'relation': '/per/per/couple'}",
    "{'token': ['RT', '@cnn', ':', 'Rafael', 'Nadal', 'engaged', 'to', 'Mery', 'Perello', 'in', 'Mallorca'], "
    "'h': {'name': 'Mery Perello', 'pos': [7, 9]}, 't': {'name': 'Mallorca', 'pos': [10, 11]}, "
    "'img_id': 'twitter_19_31_22_54.jpg', 'relation': 'None'}",
    "{'token': ['Titans', 'sign', 'Jack'], 'h': {'name': 'Jack', 'pos': [2, 3]}, "
    "'t': {'name': 'Titans', 'pos': [0, 1]}, 'img_id': 'twitter_stream_2018_09_04_13_0_2_48.jpg', "
    "'relation': '/per/org/member_of'}",
]


def test_mnre_dict_literals_grouped_by_sentence(tmp_path: Path) -> None:
    src = tmp_path / "mnre_test.txt"
    src.write_text("\n".join(MNRE) + "\n", encoding="utf-8")
    img(tmp_path / "img", "twitter_19_31_22_54.jpg")
    img(tmp_path / "img", "twitter_stream_2018_09_04_13_0_2_48.jpg")
    r = import_dataset("mnre", [src], tmp_path / "out", media=tmp_path / "img")
    assert r.counts == {"ti-re": 2}
    bench = validate_benchmark(tmp_path / "out")
    a, b = bench.instances
    assert a.text == "RT @cnn : Rafael Nadal engaged to Mery Perello in Mallorca"
    ents = {m.id: (m.type, m.text, a.text[m.span[0]:m.span[1]]) for m in a.gold.entities if m.span}
    assert ents == {"e0": ("per", "Rafael Nadal", "Rafael Nadal"), "e1": ("per", "Mery Perello", "Mery Perello"),
                    "e2": (None, "Mallorca", "Mallorca")}  # seen only in a 'None' pair: untyped
    assert [(x.type, x.head, x.tail) for x in a.gold.relations] == [("/per/per/couple", "e0", "e1")]
    assert a.meta["pairs"] == 2
    assert [(x.type, b.gold.entity(x.head).text) for x in b.gold.relations] == [("/per/org/member_of", "Jack")]
    spec = bench.manifest.set("ti-re")
    assert spec.relation_types == ["/per/org/member_of", "/per/per/couple"]
    assert spec.entity_types == ["org", "per"]


def test_mnre_malformed_records(tmp_path: Path) -> None:
    src = tmp_path / "mnre.txt"
    lines = [
        MNRE[2],
        # end read as inclusive by mistake: the name does not match the tokens
        MNRE[2].replace("'pos': [2, 3]", "'pos': [1, 3]"),
        "{'token': ['a'], 'h': ",  # cut off
        MNRE[2].replace("'/per/org/member_of'", "'member_of'"),
        MNRE[2].replace("'pos': [0, 1]", "'pos': [0, 9]"),
    ]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    img(tmp_path / "img", "twitter_stream_2018_09_04_13_0_2_48.jpg")
    with pytest.raises(ValidationProblems) as ei:
        import_dataset("mnre", [src], tmp_path / "out", media=tmp_path / "img")
    assert ei.value.problems == [
        f"{src}:2: h.name: 'Jack' is not tokens[1:3] = 'sign Jack' (offsets are end exclusive)",
        f"{src}:3: (record): not a Python dict literal (SyntaxError)",
        f"{src}:4: relation: expected '/<type>/<type>/<name>' or 'None', got 'member_of'",
        f"{src}:5: t.pos: token range [0, 9) is not inside the 3 tokens",
    ]
    r = import_dataset("mnre", [src], tmp_path / "out", media=tmp_path / "img", skip_bad=True)
    assert r.counts == {"ti-re": 1}


# --------------------------------------------------------------------------- vrd

OBJECTS = ["person", "clock", "post"]
PREDICATES = ["on", "wear", "next to"]


def _vrd_files(tmp_path: Path, anns: dict[str, Any]) -> list[Path]:
    (tmp_path / "objects.json").write_text(json.dumps(OBJECTS))
    (tmp_path / "predicates.json").write_text(json.dumps(PREDICATES))
    p = tmp_path / "annotations_test.json"
    p.write_text(json.dumps(anns))  # one line, as the original
    return [p]


def test_vrd_box_order_and_identity(tmp_path: Path) -> None:
    anns = {
        "a_b.jpg": [
            # bbox is [ymin, ymax, xmin, xmax]
            {"predicate": 0, "subject": {"category": 1, "bbox": [2, 10, 5, 30]},
             "object": {"category": 2, "bbox": [10, 28, 12, 18]}},
            {"predicate": 2, "subject": {"category": 2, "bbox": [10, 28, 12, 18]},
             "object": {"category": 1, "bbox": [2, 10, 5, 30]}},
        ],
        "empty.jpg": [],
    }
    srcs = _vrd_files(tmp_path, anns)
    img(tmp_path / "img", "a_b.jpg", w=40, h=30)
    img(tmp_path / "img", "empty.jpg", w=20, h=10)
    r = import_dataset("vrd", srcs, tmp_path / "out", media=tmp_path / "img")
    assert r.counts == {"i-re": 2}
    bench = validate_benchmark(tmp_path / "out")
    a, empty = bench.instances
    assert [(m.id, m.type) for m in a.gold.entities] == [("e0", "clock"), ("e1", "post")]  # same box: one entity
    assert np.array_equal(decode(a.gold.entities[0].image_mask), box(30, 40, 5, 2, 30, 10))
    assert np.array_equal(decode(a.gold.entities[1].image_mask), box(30, 40, 12, 10, 18, 28))
    assert [(x.type, x.head, x.tail) for x in a.gold.relations] == [("on", "e0", "e1"), ("next to", "e1", "e0")]
    assert empty.gold.is_empty()
    spec = bench.manifest.set("i-re")
    assert spec.grounding == "box" and spec.relation_types == ["next to", "on"]


def test_vrd_malformed_records(tmp_path: Path) -> None:
    good = {"predicate": 0, "subject": {"category": 1, "bbox": [2, 10, 5, 30]},
            "object": {"category": 2, "bbox": [10, 28, 12, 18]}}
    anns = {
        "ok.jpg": [good],
        "bad_cat.jpg": [{**good, "object": {"category": 7, "bbox": [1, 2, 1, 2]}}],
        "bad_box.jpg": [{**good, "subject": {"category": 1, "bbox": [10, 2, 5, 30]}}],
        "outside.jpg": [{**good, "subject": {"category": 1, "bbox": [100, 120, 5, 30]}}],
    }
    srcs = _vrd_files(tmp_path, anns)
    for n in anns:
        img(tmp_path / "img", n, w=40, h=30)
    with pytest.raises(ValidationProblems) as ei:
        import_dataset("vrd", srcs, tmp_path / "out", media=tmp_path / "img")
    p = srcs[0]
    assert ei.value.problems == [
        f"{p}:1: ['bad_cat.jpg'][0].object.category: 7 is not an index into the 3 objects",
        f"{p}:1: ['bad_box.jpg'][0].subject.bbox: [10, 2, 5, 30] is not [ymin, ymax, xmin, xmax] with min < max",
        f"{p}:1: ['outside.jpg'][0].subject.bbox: box [5, 100, 30, 120] (x1, y1, x2, y2) has no pixel inside "
        "the 40x30 image",
    ]
    assert import_dataset("vrd", srcs, tmp_path / "out", media=tmp_path / "img", skip_bad=True).counts == {"i-re": 1}


# --------------------------------------------------------------------------- m2e2

M2E2_TEXT = [{
    "sentence_id": "VOA_EN_NW_2015.11.26.1_5", "sentence_start": 0, "sentence_end": 40,
    "sentence": "Two police officers arrest a man in Chicago",
    "words": ["Two", "police", "officers", "arrest", "a", "man", "in", "Chicago", "."],
    "index": [["0", "2"]], "pos-tags": [], "combined-parsing": [],
    "golden-entity-mentions": [
        {"entity-type": "PER", "text": "officers", "start": 2, "end": 3},
        {"entity-type": "PER", "text": "man", "start": 5, "end": 6},
        {"entity-type": "GPE", "text": "Chicago", "start": 7, "end": 8},
    ],
    "golden-event-mentions": [{
        "trigger": {"start": 3, "end": 4, "text": "arrest"}, "event_type": "Justice:Arrest-Jail",
        "arguments": [{"role": "Agent", "start": 2, "end": 3, "text": "officers"},
                      {"role": "Person", "start": 5, "end": 6, "text": "man"},
                      {"role": "Place", "start": 7, "end": 8, "text": "Chicago"}]}],
    "image": ["VOA_EN_NW_2015.11.26.1_0.jpg", "VOA_EN_NW_2015.11.26.1_1.jpg"],
}]
# keyed by image id WITHOUT .jpg; boxes ["1", x1, y1, x2, y2]
M2E2_IMAGES = {"VOA_EN_NW_2015.11.26.1_1": {
    "role": {"Agent": [["1", 2, 3, 10, 20], ["1", 30, 5, 40, 25]], "Person": [["1", 12, 4, 20, 22]],
             "Instrument": [["1", 50, 40, 60, 47]]},
    "event_type": "Justice:Arrest-Jail"}}
COREF = "VOA_EN_NW_2015.11.26.1_5\tVOA_EN_NW_2015.11.26.1_1.jpg\tJustice:Arrest-Jail\n"


def _m2e2_files(tmp_path: Path, text: Any = None, images: Any = None, coref: str = COREF) -> list[Path]:
    t, i, c = tmp_path / "text_multimedia_event.json", tmp_path / "image_multimedia_event.json", \
        tmp_path / "crossmedia_coref.txt"
    t.write_text(json.dumps(M2E2_TEXT if text is None else text, indent=4))
    i.write_text(json.dumps(M2E2_IMAGES if images is None else images, indent=4))
    c.write_text(coref)
    img(tmp_path / "img", "VOA_EN_NW_2015.11.26.1_1.jpg", w=64, h=48)
    return [t, i, c]


def test_m2e2_arguments_grounded_by_boxes(tmp_path: Path) -> None:
    r = import_dataset("m2e2", _m2e2_files(tmp_path), tmp_path / "out", media=tmp_path / "img")
    assert r.counts == {"ti-ee": 1} and r.notes == []
    bench = validate_benchmark(tmp_path / "out")
    (inst,) = bench.instances
    assert inst.text == "Two police officers arrest a man in Chicago ."
    (ev,) = inst.gold.events
    assert ev.type == "Justice:Arrest-Jail" and ev.trigger.text == "arrest" and ev.trigger.span == (20, 26)
    agent = inst.gold.entity(next(a.mention for a in ev.arguments if a.role == "Agent"))
    person = inst.gold.entity(next(a.mention for a in ev.arguments if a.role == "Person"))
    place = inst.gold.entity(next(a.mention for a in ev.arguments if a.role == "Place"))
    two = box(48, 64, 2, 3, 10, 20) | box(48, 64, 30, 5, 40, 25)  # union of the role's boxes
    assert np.array_equal(decode(agent.image_mask), two)
    assert np.array_equal(decode(person.image_mask), box(48, 64, 12, 4, 20, 22))
    assert place.image_mask is None  # the image does not ground it
    assert np.array_equal(decode(ev.trigger.image_mask), two | box(48, 64, 12, 4, 20, 22))
    assert inst.meta["image_only_roles"] == ["Instrument"]
    spec = bench.manifest.set("ti-ee")
    assert spec.grounding == "box" and spec.event_types == {"Justice:Arrest-Jail": ["Agent", "Person", "Place"]}


def test_m2e2_malformed_records(tmp_path: Path) -> None:
    bad_text = [json.loads(json.dumps(M2E2_TEXT[0])) for _ in range(2)]
    bad_text[1]["sentence_id"] = "other_1"
    bad_text[1]["golden-event-mentions"][0]["arguments"][0]["end"] = 12
    bad_images = {**M2E2_IMAGES, "other_img": {"role": {"Agent": [["1", 5, 5, 2, 9]]}, "event_type": "Contact:Meet"}}
    coref = COREF + "just one field\n" + "VOA_EN_NW_2015.11.26.1_5\tVOA_EN_NW_2015.11.26.1_1.jpg\tContact:Meet\n"
    srcs = _m2e2_files(tmp_path, bad_text, bad_images, coref)
    with pytest.raises(ValidationProblems) as ei:
        import_dataset("m2e2", srcs, tmp_path / "out", media=tmp_path / "img")
    t, i, c = srcs
    assert ei.value.problems == [
        f"{t}:81: golden-event-mentions[0].arguments[0].start: token range [2, 12) is not inside the 9 tokens",
        f"{i}:41: ['other_img'].role.Agent[0]: box [5, 5, 2, 9] has x2 <= x1 or y2 <= y1",
        f"{c}:2: (line): expected 'sentence_id<TAB>image.jpg<TAB>event_type', got 'just one field'",
        f"{c}:3: event_type: 'Contact:Meet' but the image record says 'Justice:Arrest-Jail'",
    ]
    r = import_dataset("m2e2", srcs, tmp_path / "out", media=tmp_path / "img", skip_bad=True)
    assert r.counts == {"ti-ee": 1}


def test_import_cli_one_line_per_problem(tmp_path: Path) -> None:
    src = tmp_path / "bad.txt"
    src.write_text("IMGID:x\nfoo\tB-FOO\n\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "muie_bench.cli", "data", "import", "twitter2017", str(src),
           "--out", str(tmp_path / "out")]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert p.returncode == 1, p.stderr
    assert p.stderr.splitlines() == [f"{src}:2: tag: unknown tag 'B-FOO' (O, or B-/I- + LOC, MISC, ORG, PER)",
                                     "1 problem(s)"]
    p = subprocess.run([*cmd, "--skip-bad"], capture_output=True, text=True, env=env, check=False)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip() == "error: twitter2017: no record could be converted (1 malformed)"


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown format 'conll'"):
        import_dataset("conll", [tmp_path / "x"], tmp_path / "out")
    with pytest.raises(UserError, match="no such file"):
        import_dataset("mnre", [tmp_path / "x"], tmp_path / "out")


# --------------------------------------------------------------------------- swig

SPACE = {
    "verbs": {"catching": {"framenet": "Getting", "abstract": "an AGENT catches a CAUGHTITEM with a TOOL at a PLACE",
                           "def": "capture a sought out item", "order": ["agent", "caughtitem", "tool", "place"],
                           "roles": {"agent": {}, "caughtitem": {}, "tool": {}, "place": {}}}},
    "nouns": {"n00017222": {"gloss": ["plant", "flora"], "def": "..."},
              "n02190166": {"gloss": ["fly"], "def": "..."},
              "n05282433": {"gloss": ["hand"], "def": "..."},
              "n10787470": {"gloss": ["woman"], "def": "..."}},
}


def _swig(tmp_path: Path, rec: dict[str, Any]) -> list[Path]:
    (tmp_path / "imsitu_space.json").write_text(json.dumps(SPACE))
    (tmp_path / "test.json").write_text(json.dumps({"catching_175.jpg": rec}))
    img(tmp_path / "img", "catching_175.jpg", w=91, h=51)
    return [tmp_path / "test.json", tmp_path / "imsitu_space.json"]


SWIG_REC = {
    "verb": "catching", "height": 51, "width": 91,
    "bb": {"tool": [-1, -1, -1, -1], "caughtitem": [44, 16, 67, 31], "place": [-1, -1, -1, -1],
           "agent": [27, 11, 90, 38]},
    "frames": [{"tool": "n05282433", "caughtitem": "n02190166", "place": "", "agent": "n10787470"},
               {"tool": "n05282433", "caughtitem": "n02190166", "place": "", "agent": "n00017222"},
               {"tool": "", "caughtitem": "n02190166", "place": "n00017222", "agent": "n10787470"}],
}


def test_swig_verb_roles_boxes(tmp_path: Path) -> None:
    r = import_dataset("swig", _swig(tmp_path, SWIG_REC), tmp_path / "out", media=tmp_path / "img")
    assert r.counts == {"i-ee": 1}
    bench = validate_benchmark(tmp_path / "out")
    (inst,) = bench.instances
    (ev,) = inst.gold.events
    assert ev.type == "catching" and ev.trigger.text == "catching"
    args = {a.role: inst.gold.entity(a.mention) for a in ev.arguments}
    # majority noun of the three frames; a role whose majority is '' (place) has no argument
    assert {k: m.text for k, m in args.items()} == {"agent": "woman", "caughtitem": "fly", "tool": "hand"}
    assert np.array_equal(decode(args["agent"].image_mask), box(51, 91, 27, 11, 90, 38))
    assert args["tool"].image_mask is None  # [-1, -1, -1, -1]: not grounded
    assert np.array_equal(decode(ev.trigger.image_mask), box(51, 91, 27, 11, 90, 38) | box(51, 91, 44, 16, 67, 31))
    spec = bench.manifest.set("i-ee")
    assert spec.grounding == "box" and spec.event_types == {"catching": ["agent", "caughtitem", "tool", "place"]}


def test_swig_malformed_records(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(SWIG_REC))
    bad["bb"]["agent"] = [90, 11, 27, 38]
    srcs = _swig(tmp_path, bad)
    with pytest.raises(ValidationProblems) as ei:
        import_dataset("swig", srcs, tmp_path / "out", media=tmp_path / "img")
    assert ei.value.problems == [f"{srcs[0]}:1: ['catching_175.jpg'].bb.agent: box [90, 11, 27, 38] has x2 <= x1 or y2 <= y1"]
    wrong_size = {**SWIG_REC, "height": 512}
    srcs = _swig(tmp_path, wrong_size)
    with pytest.raises(ValidationProblems, match=r"height: the record says 91x512 but the image is 91x51"):
        import_dataset("swig", srcs, tmp_path / "out", media=tmp_path / "img")
    with pytest.raises(UserError, match=r"imsitu_space\.json"):
        import_dataset("swig", srcs[:1], tmp_path / "out", media=tmp_path / "img")


# --------------------------------------------------------------------------- vidsitu


def mp4(path: Path, w: int = 32, h: int = 24, n: int = 4) -> None:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for _ in range(n):
            for p in s.encode(av.VideoFrame.from_ndarray(np.full((h, w, 3), 90, np.uint8), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _ev(seg: str, verb: str, args: dict[str, str], rel: str | None = None) -> dict[str, Any]:
    e = {"vid_uid": "v_abc", "vid_seg_int": seg, "Verb": verb.split(".")[0], "VerbID": verb,
         "Arg_List": {k: str(i) for i, k in enumerate(args)}, "Args": args}
    if rel:
        e["EvRel"] = rel
    return e


SEG = "v_abc_seg_10_20"
CLIP = {f"Ev{i}": _ev(SEG, "drive.01" if i < 3 else "look.01",
                      {"Arg0 (driver)": "man in a white shirt", "Arg1 (vehicle)": "the car",
                       "Scene of the Event": "on a road", "ArgM (manner)": "quickly"},
                      None if i == 3 else "Causes") for i in range(1, 6)}


def test_vidsitu_events_without_tracks(tmp_path: Path) -> None:
    src = tmp_path / "vsann_valid_lb.json"
    src.write_text(json.dumps([[CLIP, CLIP]]))  # validation: one list of annotators per clip
    mp4(tmp_path / "vid" / f"{SEG}.mp4")
    r = import_dataset("vidsitu", [src], tmp_path / "out", media=tmp_path / "vid")
    assert r.counts == {"v-ee": 1}
    bench = validate_benchmark(tmp_path / "out")
    (inst,) = bench.instances
    assert [e.type for e in inst.gold.events] == ["drive.01", "drive.01", "look.01", "look.01", "look.01"]
    ev = inst.gold.events[0]
    assert ev.trigger.text == "drive"
    assert [(a.role, inst.gold.entity(a.mention).text) for a in ev.arguments] == [
        ("Arg0", "man in a white shirt"), ("Arg1", "the car"), ("AScn", "on a road"), ("AMnr", "quickly")]
    assert all(not m.grounded_modalities() for m in inst.gold.mentions())
    spec = bench.manifest.set("v-ee")
    assert spec.grounding == "none" and "no tracks" in spec.description


def test_vidsitu_malformed_records(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(CLIP))
    bad["Ev2"]["Args"] = {"ArgM (weather)": "rain"}
    missing = {k: v for k, v in CLIP.items() if k != "Ev4"}
    src = tmp_path / "vsann_train_lb.json"
    src.write_text(json.dumps([CLIP, bad, missing], indent=1))
    mp4(tmp_path / "vid" / f"{SEG}.mp4")
    with pytest.raises(ValidationProblems) as ei:
        import_dataset("vidsitu", [src], tmp_path / "out", media=tmp_path / "vid")
    lines = src.read_text().splitlines()
    second = 1 + next(i for i, x in enumerate(lines) if i > 1 and x == " {")
    assert ei.value.problems[0] == f"{src}:{second}: [1].Ev2.Args: unknown argument name 'ArgM (weather)'"
    assert ei.value.problems[1].endswith(": [2].Ev4: missing")
    assert import_dataset("vidsitu", [src], tmp_path / "out", media=tmp_path / "vid", skip_bad=True).counts == {"v-ee": 1}


# --------------------------------------------------------------------------- ace05

ACE = [{
    "words": ["Jane", "Doe", "of", "Acme", "Corp.", "died", "in", "Paris", "on", "Monday", "."],
    "lemma": [], "pos-tags": [], "chunk": [], "conll-head": [], "penn-treebank": "", "stanford-colcc": [],
    "golden-entity-mentions": [
        {"id": "EM 0-1", "text": "Jane Doe", "start": 0, "end": 2, "entity-type": "PER:Individual", "phrase-type": "NAM"},
        {"id": "EM 0-2", "text": "Acme Corp.", "start": 3, "end": 5, "entity-type": "ORG:Commercial", "phrase-type": "NAM"},
        {"id": "EM 0-3", "text": "Paris", "start": 7, "end": 8, "entity-type": "GPE:Population-Center", "phrase-type": "NAM"},
        {"id": "EM 0-4", "text": "Monday", "start": 9, "end": 10, "entity-type": "TIM:time", "phrase-type": "TIM"},
    ],
    "golden-event-mentions": [{"id": "SM 0-1", "event_type": "Life:Die", "trigger": {"start": 5, "end": 6, "text": "died"},
                               "arguments": [{"role": "Victim", "start": 0, "end": 2, "text": "Jane Doe", "entity-type": "PER:Individual"}]}],
}]


def test_ace05_jmee_to_t_ner(tmp_path: Path) -> None:
    src = tmp_path / "test.json"
    src.write_text(json.dumps(ACE, indent=2))
    r = import_dataset("ace05", [src], tmp_path / "out")
    assert r.counts == {"t-ner": 1}
    (inst,) = validate_benchmark(tmp_path / "out").instances
    assert inst.text == "Jane Doe of Acme Corp. died in Paris on Monday ."
    assert [(m.type, m.text, m.span) for m in inst.gold.entities] == [
        ("PER", "Jane Doe", (0, 8)), ("ORG", "Acme Corp.", (12, 22)), ("GPE", "Paris", (31, 36))]
    assert inst.meta["dropped"] == 1  # the time mention


def test_ace05_malformed_records(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(ACE[0]))
    bad["golden-entity-mentions"][0]["end"] = 3  # 'Jane Doe of' != 'Jane Doe'
    src = tmp_path / "test.json"
    src.write_text(json.dumps([ACE[0], bad, {"words": []}], indent=2))
    with pytest.raises(ValidationProblems) as ei:
        import_dataset("ace05", [src], tmp_path / "out")
    n2 = 1 + src.read_text().splitlines().index("  {", 2)
    assert ei.value.problems[0] == (f"{src}:{n2}: golden-entity-mentions[0].text: 'Jane Doe' is not words[0:3] = "
                                    "'Jane Doe of' (offsets are end exclusive)")
    assert ei.value.problems[1].endswith(": words: expected a non-empty list of tokens")


# --------------------------------------------------------------------------- re-tacred


def tacred(rid: str, tokens: list[str], s: tuple[int, int], o: tuple[int, int], st: str, ot: str,
           rel: str = "per:title") -> dict[str, Any]:
    return {"id": rid, "docid": "APW_ENG_1", "relation": rel, "token": tokens,
            "subj_start": s[0], "subj_end": s[1], "obj_start": o[0], "obj_end": o[1],  # END INCLUSIVE
            "subj_type": st, "obj_type": ot, "stanford_pos": [], "stanford_ner": [], "stanford_head": [],
            "stanford_deprel": []}


TOK = ["Jane", "Doe", "-LRB-", "chief", "executive", "-RRB-", "joined", "Acme", "Corp", "."]


def test_retacred_patch_end_inclusive_grouping(tmp_path: Path) -> None:
    data = [tacred("a1", TOK, (0, 1), (3, 4), "PERSON", "TITLE", "per:title"),
            tacred("a2", TOK, (0, 1), (7, 8), "PERSON", "ORGANIZATION", "no_relation"),
            tacred("a3", TOK, (7, 8), (0, 1), "ORGANIZATION", "PERSON", "org:top_members/employees")]
    (tmp_path / "test.json").write_text(json.dumps(data))
    # the patch relabels a2 and prunes a3 (absent)
    (tmp_path / "test_id2label.json").write_text(json.dumps({"a1": "per:title", "a2": "per:employee_of"}))
    r = import_dataset("re-tacred", [tmp_path / "test.json", tmp_path / "test_id2label.json"], tmp_path / "out")
    assert r.counts == {"t-re": 1}
    assert r.notes == ["1 TACRED instance(s) not in the patch: pruned, as apply_patch.py does"]
    (inst,) = validate_benchmark(tmp_path / "out").instances
    assert inst.text == "Jane Doe ( chief executive ) joined Acme Corp ."
    assert [(m.type, m.text) for m in inst.gold.entities] == [
        ("PERSON", "Jane Doe"), ("TITLE", "chief executive"), ("ORGANIZATION", "Acme Corp")]
    assert [(x.type, x.head, x.tail) for x in inst.gold.relations] == [("per:title", "e0", "e1"),
                                                                       ("per:employee_of", "e0", "e2")]


def test_retacred_malformed_records(tmp_path: Path) -> None:
    data = [tacred("a1", TOK, (0, 1), (3, 4), "PERSON", "TITLE"), tacred("a2", TOK, (0, 1), (7, 10), "PERSON", "ORG")]
    (tmp_path / "test.json").write_text(json.dumps(data, indent=1))
    (tmp_path / "p.json").write_text(json.dumps({"a1": "per:title", "a2": "per:title"}))
    with pytest.raises(ValidationProblems) as ei:
        import_dataset("re-tacred", [tmp_path / "test.json", tmp_path / "p.json"], tmp_path / "out")
    n2 = 1 + (tmp_path / "test.json").read_text().splitlines().index(" {", 2)
    assert ei.value.problems == [f"{tmp_path / 'test.json'}:{n2}: [1].obj_start: token range [7, 10] is not inside "
                                 "the 10 tokens"]
    with pytest.raises(UserError, match="no Re-TACRED patch"):
        import_dataset("re-tacred", [tmp_path / "test.json"], tmp_path / "out")
