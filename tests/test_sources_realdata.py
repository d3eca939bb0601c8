"""The converters on the real samples of the source datasets (run only where they exist).

The samples are the first records of the real files (``$MUIE_REALDATA``, default
``<repo>/../shared/realdata``); the datasets' images are not in them, so the tests draw
stand-in images of the right names (and, for VRD, of the sizes in the image metadata; for
M2E2 large enough for every box) and check that the import succeeds and validates.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from muie_bench.benchmark import validate_benchmark
from muie_bench.sources import import_dataset

ROOT = Path(__file__).resolve().parent.parent
REAL = Path(os.environ.get("MUIE_REALDATA", ROOT.parent / "shared" / "realdata"))

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"no real samples at {REAL}")


def _standin(folder: Path, name: str, w: int = 64, h: int = 48) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (128, 128, 128)).save(folder / name)


def test_twitter2017_real_sample(tmp_path: Path) -> None:
    srcs = [REAL / "twitter2017" / "test_head40.txt", REAL / "twitter2017" / "train_head10.txt"]
    b_tags = 0
    for p in srcs:
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.startswith("IMGID:"):
                _standin(tmp_path / "img", line[6:].strip() + ".jpg")
            b_tags += line.endswith("\tB-PER") + line.endswith("\tB-ORG") + line.endswith(
                "\tB-LOC") + line.endswith("\tB-MISC")
    r = import_dataset("twitter2017", srcs, tmp_path / "out", media=tmp_path / "img")
    bench = validate_benchmark(tmp_path / "out")
    assert r.counts == {"ti-ner": 50} and r.skipped == []
    assert sum(len(i.gold.entities) for i in bench.instances) == b_tags
    first = bench.instances[0]
    assert first.text is not None and first.text.startswith("Citifield Fan View : RT @ jehnnybgoode")
    assert [(m.type, m.text) for m in first.gold.entities] == [
        ("LOC", "Citifield"), ("PER", "jehnnybgoode"), ("ORG", "NewYorkMets")]


def test_mnre_real_sample(tmp_path: Path) -> None:
    srcs = [REAL / "mnre" / "mnre_test_head30.txt", REAL / "mnre" / "mnre_train_head10.txt"]
    n_rel = 0
    for p in srcs:
        for line in p.read_text(encoding="utf-8").splitlines():
            rec = ast.literal_eval(line)
            _standin(tmp_path / "img", rec["img_id"])
            n_rel += rec["relation"] != "None"
    r = import_dataset("mnre", srcs, tmp_path / "out", media=tmp_path / "img")
    bench = validate_benchmark(tmp_path / "out")
    assert r.skipped == [] and r.counts["ti-re"] == len(bench.instances) > 0
    assert sum(len(i.gold.relations) for i in bench.instances) == n_rel
    assert sum(i.meta["pairs"] for i in bench.instances) == 40  # every line is one pair


def test_vrd_real_sample(tmp_path: Path) -> None:
    d = REAL / "vrd"
    sizes = json.loads((d / "test_image_metadata_first6.json").read_text())
    for name, wh in sizes.items():
        _standin(tmp_path / "img", name, wh["width"], wh["height"])
    anns = json.loads((d / "annotations_test_first6.json").read_text())
    srcs = [d / "annotations_test_first6.json", d / "objects.json", d / "predicates.json"]
    r = import_dataset("vrd", srcs, tmp_path / "out", media=tmp_path / "img")
    bench = validate_benchmark(tmp_path / "out")
    assert r.counts == {"i-re": 6} and r.skipped == []
    first = bench.instances[0]
    rel = first.gold.relations[0]
    assert (first.gold.entity(rel.head).type, rel.type, first.gold.entity(rel.tail).type) == ("clock", "on", "post")
    assert sum(len(i.gold.relations) for i in bench.instances) <= sum(len(v) for v in anns.values())
    assert bench.manifest.set("i-re").grounding == "box"


def test_m2e2_real_sample(tmp_path: Path) -> None:
    d = REAL / "m2e2"
    for f in ("image_multimedia_event_sample4.json", "image_only_event_first2.json"):
        for name, rec in json.loads((d / f).read_text()).items():
            boxes = [b for bs in rec["role"].values() for b in bs]
            _standin(tmp_path / "img", name + ".jpg", max(b[3] for b in boxes) + 1, max(b[4] for b in boxes) + 1)
    srcs = [d / "text_multimedia_event_first1.json", d / "image_multimedia_event_sample4.json",
            d / "crossmedia_coref_head10.txt"]
    r = import_dataset("m2e2", srcs, tmp_path / "out", media=tmp_path / "img")
    bench = validate_benchmark(tmp_path / "out")
    # the sample holds the text of the first coreference line only
    assert r.counts == {"ti-ee": 1} and r.skipped == []
    assert r.notes == ["9 coreference line(s) name a sentence or image record that is not among the "
                       "inputs (or was malformed): left out"]
    (inst,) = bench.instances
    (ev,) = inst.gold.events
    roles = {a.role: inst.gold.entity(a.mention) for a in ev.arguments}
    assert (roles["Person"].text, roles["Agent"].text) == ("man", "officers")
    assert roles["Person"].image_mask is not None and roles["Agent"].image_mask is not None
    assert ev.trigger.text == "custody" and ev.trigger.image_mask is not None


def test_retacred_real_patch(tmp_path: Path) -> None:
    """The real patch file with TACRED-format records (TACRED's text is LDC-licensed: the
    records are made up) carrying its first ids and one id it does not have."""
    patch_path = REAL / "re-tacred" / "test_id2label_first40.json"
    patch = json.loads(patch_path.read_text())
    tok = ["Jane", "Doe", ",", "42", ",", "joined", "Acme", "."]
    data = [{"id": rid, "docid": f"D{k}", "relation": "no_relation", "token": tok, "subj_start": 0, "subj_end": 1,
             "obj_start": 6, "obj_end": 6, "subj_type": "PERSON", "obj_type": "ORGANIZATION"}
            for k, rid in enumerate([*list(patch)[:10], "0000000000000000beef"])]
    (tmp_path / "test.json").write_text(json.dumps(data))
    r = import_dataset("re-tacred", [tmp_path / "test.json", patch_path], tmp_path / "out")
    bench = validate_benchmark(tmp_path / "out")
    assert r.counts == {"t-re": 10} and len(r.notes) == 1
    labels = [patch[rid] for rid in list(patch)[:10]]
    got = [i.gold.relations[0].type if i.gold.relations else "no_relation" for i in bench.instances]
    assert got == labels


def test_ace05_converter_on_the_real_jmee_layout(tmp_path: Path) -> None:
    """ACE 2005 is LDC-licensed; M2E2's text record is a public record in the same JMEE layout."""
    src = REAL / "m2e2" / "text_multimedia_event_first1.json"
    r = import_dataset("ace05", [src], tmp_path / "out")
    bench = validate_benchmark(tmp_path / "out")
    (inst,) = bench.instances
    rec = json.loads(src.read_text())[0]
    assert r.counts == {"t-ner": 1} and inst.text == " ".join(rec["words"])
    assert sorted((m.type, m.text) for m in inst.gold.entities) == sorted(
        (m["entity-type"], m["text"]) for m in rec["golden-entity-mentions"])


def test_swig_fixture_uses_real_role_and_verb_names() -> None:
    from tests.test_sources_import import SPACE, SWIG_REC

    roles = set((REAL / "imsitu" / "swig_role_indices.txt").read_text().split("\n"))
    verbs = set((REAL / "imsitu" / "swig_verb_indices.txt").read_text().split("\n"))
    assert SWIG_REC["verb"] in verbs and set(SWIG_REC["bb"]) <= roles
    assert set(SPACE["verbs"]["catching"]["order"]) <= roles
