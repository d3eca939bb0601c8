"""Throughput of the Ray executor against the local process pool (not a timed test).

Instances/s of ``oracle`` (no work: the harness overhead) and of a system that sleeps
0.2 s per instance (a stand-in for a model call), with 1, 2 and 4 Ray actors and with 1, 2
and 4 spawned worker processes, over muie-synth-mini. Ray is started once, before the
timings (its start-up is reported apart); each figure is the wall time of the executor
from the first submission to the last prediction, actor/worker start and ``setup``
included (``start-up``: until the first ``actors`` predictions). Steady state: the rate
from then to the last prediction; overhead per instance = ``actors / rate - sleep``, the
time an actor spends per instance beyond the system's own work. Prints the figures and
writes ``results/bench/scale.json``.

    .venv/bin/python benchmarks/bench_scale.py [--n-sleep 60] [--sleep 0.2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from muie_bench.benchmark import Benchmark, known_benchmarks, load_benchmark
from muie_bench.run.executors import execute_processes
from muie_bench.run.ray_executor import RaySettings, execute_ray, import_ray
from muie_bench.schema import Instance, Prediction
from muie_bench.systems.base import System, SystemSettings
from muie_bench.systems.registry import build_system

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "bench" / "scale.json"


class SleepSettings(SystemSettings):
    sleep: float = 0.2


class Sleeper(System):
    """The oracle after ``sleep`` seconds (a model call that holds no CPU)."""

    kind: ClassVar[str] = "bench-sleep"
    Settings = SleepSettings
    parallelism: ClassVar[Literal["thread", "process"]] = "process"

    def predict(self, instance: Instance, benchmark: Benchmark) -> Prediction:
        assert isinstance(self.settings, SleepSettings)
        time.sleep(self.settings.sleep)
        return Prediction(id=instance.id, output=instance.gold.model_copy(deep=True))


class Row(BaseModel):
    system: str
    executor: str
    actors: int
    instances: int
    wall_s: float
    instances_per_s: float
    startup_s: float
    steady_instances_per_s: float
    overhead_ms_per_instance: float


def _time(executor: str, system: System, bench: Benchmark, todo: list[Instance], n: int,
          sleep: float) -> Row:
    t = time.perf_counter()
    it = (execute_ray(system, bench, todo, n, None, RaySettings(num_cpus=1)) if executor == "ray"
          else execute_processes(system, bench, todo, n, None))
    stamps = [time.perf_counter() - t for _ in it]
    wall = time.perf_counter() - t
    assert len(stamps) == len(todo)
    # steady state: from the first n predictions (every actor started) to the last
    first = stamps[n - 1]
    steady = (len(stamps) - n) / (stamps[-1] - first)
    per_instance = n / steady - sleep  # seconds an actor spends per instance beyond the work
    return Row(system=system.name, executor=executor, actors=n, instances=len(todo),
               wall_s=round(wall, 3), instances_per_s=round(len(todo) / wall, 2),
               startup_s=round(first, 2), steady_instances_per_s=round(steady, 2),
               overhead_ms_per_instance=round(1000 * per_instance, 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-sleep", type=int, default=60, help="instances of the sleeping system")
    ap.add_argument("--sleep", type=float, default=0.2)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    ray = import_ray()
    bench = load_benchmark(known_benchmarks()["muie-synth-mini"])
    t = time.perf_counter()
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    ray_start = time.perf_counter() - t
    print(f"Ray start-up (local, 4 CPUs): {ray_start:.2f} s")
    oracle = build_system("oracle")
    sleeper = Sleeper("sleep-0.2", SleepSettings(sleep=a.sleep))
    rows: list[Row] = []
    try:
        for system, todo, sleep in ((oracle, list(bench.instances), 0.0),
                                    (sleeper, list(bench.instances[: a.n_sleep]), a.sleep)):
            for executor in ("ray", "process"):
                for n in (1, 2, 4):
                    row = _time(executor, system, bench, todo, n, sleep)
                    rows.append(row)
                    print(f"{row.system:10} {row.executor:8} x{row.actors}: {row.instances} in "
                          f"{row.wall_s:.2f} s = {row.instances_per_s:.1f} inst/s; start-up "
                          f"{row.startup_s:.2f} s, then {row.steady_instances_per_s:.1f} inst/s "
                          f"(overhead {row.overhead_ms_per_instance:.1f} ms/instance per actor)")
    finally:
        ray.shutdown()
    doc: dict[str, Any] = {
        "benchmark": bench.name, "ray_version": ray.__version__, "ray_startup_s": round(ray_start, 2),
        "cpus": os.cpu_count(), "machine": platform.machine(), "rows": [r.model_dump() for r in rows],
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
