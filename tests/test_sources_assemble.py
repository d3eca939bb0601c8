"""`muie-bench data assemble`: the paper's 15-set layout sampled from imported sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from muie_bench.benchmark import load_benchmark, validate_benchmark
from muie_bench.errors import UserError
from muie_bench.paper_sets import PAPER_SETS
from muie_bench.sources import import_dataset
from muie_bench.sources.assemble import assemble
from tests.test_sources_import import MNRE, OBJECTS, PREDICATES, TWEETS, img


def _imports(tmp_path: Path) -> list[Path]:
    (tmp_path / "tw.txt").write_text(TWEETS * 3, encoding="utf-8")  # 6 tweets
    img(tmp_path / "img", "16_05_01_360.jpg")
    img(tmp_path / "img", "O_2144.jpg")
    import_dataset("twitter2017", [tmp_path / "tw.txt"], tmp_path / "tw", media=tmp_path / "img")
    (tmp_path / "mnre.txt").write_text("\n".join(MNRE) + "\n", encoding="utf-8")
    img(tmp_path / "img", "twitter_19_31_22_54.jpg")
    img(tmp_path / "img", "twitter_stream_2018_09_04_13_0_2_48.jpg")
    import_dataset("mnre", [tmp_path / "mnre.txt"], tmp_path / "mnre", media=tmp_path / "img")
    (tmp_path / "objects.json").write_text(json.dumps(OBJECTS))
    (tmp_path / "predicates.json").write_text(json.dumps(PREDICATES))
    rel = {"predicate": 0, "subject": {"category": 1, "bbox": [2, 10, 5, 30]},
           "object": {"category": 2, "bbox": [10, 28, 12, 18]}}
    (tmp_path / "ann.json").write_text(json.dumps({f"v{k}.jpg": [rel] for k in range(5)}))
    for k in range(5):
        img(tmp_path / "img", f"v{k}.jpg", 40, 30)
    import_dataset("vrd", [tmp_path / "ann.json"], tmp_path / "vrd", media=tmp_path / "img")
    return [tmp_path / "tw", tmp_path / "mnre", tmp_path / "vrd"]


def test_assemble_samples_each_paper_set(tmp_path: Path) -> None:
    srcs = _imports(tmp_path)
    r = assemble(list(srcs), tmp_path / "out", per_set=4, seed=1)
    assert r.counts == {"i-re": 4, "ti-ner": 4, "ti-re": 2}
    assert r.short == {"ti-re": 2}
    assert r.missing == [s.id for s in PAPER_SETS if s.id not in ("i-re", "ti-ner", "ti-re")]
    bench = validate_benchmark(tmp_path / "out")
    assert [i.id for i in bench.instances if i.set == "ti-ner"] == [f"ti-ner-{k:04d}" for k in range(4)]
    src_ids = [i.meta["source_id"] for i in bench.instances if i.set == "ti-ner"]
    assert src_ids == sorted(src_ids) and len(set(src_ids)) == 4  # drawn without replacement, input order
    assert {s.id: s.source for s in bench.manifest.sets} == {"i-re": "VRD", "ti-ner": "Twitter-2017", "ti-re": "MNRE"}
    assert bench.manifest.set("i-re").grounding == "box"
    assert {a.name for a in bench.manifest.assets} == {"VRD", "Twitter-2017", "MNRE"}
    assert bench.manifest.generator["missing"] == r.missing
    again = assemble(list(srcs), tmp_path / "again", per_set=4, seed=1)
    assert (again.out / "instances.jsonl").read_bytes() == (tmp_path / "out" / "instances.jsonl").read_bytes()
    other = assemble(list(srcs), tmp_path / "other", per_set=3, seed=2)
    picked = {i.meta["source_id"] for i in load_benchmark(other.out).instances if i.set == "ti-ner"}
    assert len(picked) == 3


def test_assemble_pools_inputs_of_one_set(tmp_path: Path, tiny_dir: Path) -> None:
    srcs = _imports(tmp_path)
    r = assemble([srcs[0], tiny_dir], tmp_path / "out", per_set=200)
    bench = validate_benchmark(tmp_path / "out")
    tiny = load_benchmark(tiny_dir)
    n_tiny = sum(1 for i in tiny.instances if i.set == "ti-ner")
    assert r.counts["ti-ner"] == 6 + n_tiny
    spec = bench.manifest.set("ti-ner")
    assert spec.source == "Twitter-2017" and "twitter2017-ti-ner/ti-ner" in spec.description
    assert {i.meta["source_benchmark"] for i in bench.instances if i.set == "ti-ner"} == {"twitter2017-ti-ner", tiny.name}


def test_assemble_without_matching_sets(tmp_path: Path) -> None:
    (tmp_path / "ace.json").write_text(json.dumps([{"words": ["Jo", "ran"], "golden-entity-mentions": [
        {"start": 0, "end": 1, "entity-type": "PER:Individual", "text": "Jo"}], "golden-event-mentions": []}]))
    import_dataset("ace05", [tmp_path / "ace.json"], tmp_path / "t")  # t-ner: no paper set is T NER
    with pytest.raises(UserError, match="no input set matches a paper set"):
        assemble([tmp_path / "t"], tmp_path / "out")
