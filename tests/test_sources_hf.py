"""Hugging Face datasets: export a benchmark, use the saved dataset wherever a benchmark is
accepted, and get the same instances back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from muie_bench.benchmark import load_benchmark, validate_benchmark
from muie_bench.errors import UserError
from muie_bench.sources.hf import export_hf

datasets = pytest.importorskip("datasets")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUIE_BENCH_CACHE", str(tmp_path / "cache"))


def test_round_trip_gives_the_same_instances(tiny_dir: Path, tmp_path: Path) -> None:
    assert export_hf(tiny_dir, tmp_path / "hf") == 14
    ds = datasets.load_from_disk(str(tmp_path / "hf"))
    assert isinstance(ds.features["image"], datasets.Image)
    assert isinstance(ds.features["audio"], datasets.Audio)
    assert isinstance(ds.features["video"], datasets.Video)
    assert {"entities", "relations", "events", "meta"} <= set(ds.column_names)
    back = validate_benchmark(tmp_path / "hf")  # the saved directory, as any command takes it
    orig = load_benchmark(tiny_dir)
    assert back.instances == orig.instances
    assert back.manifest.sets == orig.manifest.sets and back.manifest.assets == orig.manifest.assets
    for rel, digest in orig.manifest.files.items():
        if rel != "instances.jsonl":
            assert back.manifest.files[rel] == digest  # media bytes unchanged
    assert back.root.is_relative_to(tmp_path / "cache")
    again = load_benchmark(tmp_path / "hf")  # materialised once, then reused
    assert again.root == back.root and (back.root / ".complete").is_file()


def test_export_refuses_a_foreign_folder(tiny_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="refusing to overwrite"):
        export_hf(tiny_dir, tmp_path / "x")


def test_a_dataset_not_from_muie_bench_is_one_line(tmp_path: Path) -> None:
    datasets.Dataset.from_dict({"a": [1, 2]}).save_to_disk(str(tmp_path / "other"))
    with pytest.raises(UserError, match="not one exported by muie-bench"):
        load_benchmark(tmp_path / "other")


def test_cli_export_then_info_and_hub_name_offline(tiny_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MUIE_BENCH_CACHE": str(tmp_path / "cache"),
           "HF_HUB_OFFLINE": "1"}
    run = [sys.executable, "-m", "muie_bench.cli"]
    p = subprocess.run([*run, "data", "export", str(tiny_dir), "--format", "hf", "--out", str(tmp_path / "hf")],
                       capture_output=True, text=True, env=env, check=False)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([*run, "info", str(tmp_path / "hf")], capture_output=True, text=True, env=env, check=False)
    assert p.returncode == 0 and "ti-ner" in p.stdout, p.stderr
    p = subprocess.run([*run, "info", "someorg/some-bench"], capture_output=True, text=True, env=env, check=False)
    assert p.returncode == 2
    (line,) = p.stderr.strip().splitlines()
    assert line.startswith("error: benchmark 'someorg/some-bench': no such directory or known benchmark, "
                           "and the Hugging Face hub dataset could not be loaded")
