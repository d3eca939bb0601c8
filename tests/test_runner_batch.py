"""Batched prediction through the runner: a system with ``batch_size`` > 1 gets lists of
instances, the run still writes one line per instance and resumes per instance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from muie_bench.benchmark import Benchmark
from muie_bench.run.files import PREDICTIONS
from muie_bench.run.runner import RunOptions, run
from muie_bench.schema import Instance, Prediction, RunCounts
from muie_bench.systems.base import System, SystemSettings
from muie_bench.systems.registry import register

CALLS: list[list[str]] = []
#: predict_batch raises KeyboardInterrupt on its call number "at" (1-based; 0: never)
INTERRUPT = {"at": 0}


class BatchSettings(SystemSettings):
    batch_size: int = 3
    fail_suffix: str = ""  # predict raises on these ids; predict_batch raises on a batch with one


@register("test-batch")
class Batched(System[BatchSettings]):
    """Oracle that records the batches it is given (runner tests)."""

    @property
    def batch_size(self) -> int:  # type: ignore[override]
        return self.settings.batch_size

    def predict(self, instance: Instance, benchmark: Benchmark) -> Prediction:
        CALLS.append([instance.id])
        if self.settings.fail_suffix and instance.id.endswith(self.settings.fail_suffix):
            raise RuntimeError(f"cannot do {instance.id}")
        return Prediction(id=instance.id, output=instance.gold.model_copy(deep=True))

    def predict_batch(self, instances: list[Instance], benchmark: Benchmark) -> list[Prediction]:
        CALLS.append([i.id for i in instances])
        if len(CALLS) == INTERRUPT["at"]:
            raise KeyboardInterrupt
        if self.settings.fail_suffix and any(i.id.endswith(self.settings.fail_suffix)
                                             for i in instances):
            raise RuntimeError("one bad instance in the batch")
        return [Prediction(id=i.id, output=i.gold.model_copy(deep=True)) for i in instances]


def _opts(tmp_path: Path, bench: Path, **kw: Any) -> RunOptions:
    return RunOptions(system="test-batch", benchmark=bench, out=tmp_path / "runs", score=False,
                      **kw)


def _lines(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (run_dir / PREDICTIONS).read_text().splitlines()]


def test_batches_of_the_system_size_and_one_line_each(tmp_path: Path, tiny_dir: Path) -> None:
    CALLS.clear()
    res = run(_opts(tmp_path, tiny_dir))
    assert [len(c) for c in CALLS] == [3, 3, 3, 3, 2]
    ids = [x["id"] for x in _lines(res.run_dir)]
    assert ids == [i for c in CALLS for i in c] and len(set(ids)) == 14
    assert res.record.counts == RunCounts(total=14, done=14, failed=0, missing=0)
    assert all(x["seconds"] > 0 for x in _lines(res.run_dir))


def test_resume_after_interrupt_predicts_only_the_rest(tmp_path: Path, tiny_dir: Path) -> None:
    CALLS.clear()
    INTERRUPT["at"] = 3
    try:
        with pytest.raises(KeyboardInterrupt):
            run(_opts(tmp_path, tiny_dir))
    finally:
        INTERRUPT["at"] = 0
    run_dir = next((tmp_path / "runs").rglob(PREDICTIONS)).parent
    first = [x["id"] for x in _lines(run_dir)]
    assert first == CALLS[0] + CALLS[1] and len(first) == 6  # the interrupted batch: no line
    CALLS.clear()
    again = run(_opts(tmp_path, tiny_dir))
    assert again.run_dir == run_dir and again.resumed
    assert again.already_done == 6 and again.predicted_now == 8
    assert [len(c) for c in CALLS] == [3, 3, 2] and not {i for c in CALLS for i in c} & set(first)
    lines = _lines(run_dir)
    assert len(lines) == 14 and len({x["id"] for x in lines}) == 14


def test_failing_batch_falls_back_to_one_instance_at_a_time(tmp_path: Path, tiny_dir: Path) -> None:
    CALLS.clear()
    res = run(_opts(tmp_path, tiny_dir, overrides={"fail_suffix": "ner-1"}))
    lines = {x["id"]: x for x in _lines(res.run_dir)}
    assert len(lines) == 14
    bad = {i for i, x in lines.items() if x.get("error")}
    assert bad == {"ti-ner-1", "ta-ner-1"}
    assert all("cannot do" in lines[i]["error"] for i in bad)
    assert res.record.counts.failed == 2
