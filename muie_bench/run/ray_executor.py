"""The Ray executor (``muie-bench run --executor ray``, the ``ray`` extra).

Instances are submitted to ``actors`` Ray actors, each holding one system instance: the
system is unpickled and ``setup`` (model loading) runs once per actor, in the actor. Each
actor reads media from the benchmark directory at the driver's path (on a cluster, a
shared file system or the same path on every node). Resources per actor come from
:class:`RaySettings` (``-o ray.num_cpus=…``, ``-o ray.num_gpus=…``).

The driver stays the one writer of ``predictions.jsonl``: actors return JSON lines, the
runner writes them, so crash safety, resume, ``--retry-failed`` and the run lock are those
of the local executors. Each actor has at most :data:`DEPTH` instances queued.

- An actor that dies (its process killed, out of memory, its node lost) fails the instance
  it was running (a prediction with ``error``, redone by ``--retry-failed``); the instances
  queued behind it are submitted again; the actor is replaced (at most
  :data:`MAX_ACTOR_RESTARTS` replacements per run, then one line).
- ``address`` None starts a local Ray for the run (``include_dashboard=False``, stopped at
  the end), with ``actors * num_cpus`` CPUs and the driver's ``sys.path`` for its workers;
  otherwise the driver connects to that cluster (``"auto"``, ``host:port`` or
  ``ray://host:port``). When Ray is already initialised in the process it is used as is.
- A driver killed (even with SIGKILL) takes its actors with it (they are not detached);
  the next command resumes the run from ``predictions.jsonl`` like any run.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections import deque
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from muie_bench.benchmark import Benchmark, load_benchmark
from muie_bench.errors import UserError
from muie_bench.run.executors import Predicted, SetupFailed, predict_one
from muie_bench.schema import Instance, Prediction
from muie_bench.systems.base import System

DEPTH = 2
MAX_ACTOR_RESTARTS = 10
INSTALL_HINT = "--executor ray: Ray is not installed; install the ray extra: pip install 'muie-bench[ray]'"


class RaySettings(BaseModel):
    """Resources of each actor (``-o ray.KEY=VALUE``); they do not change the predictions,
    so they are not part of the system's fingerprint or the run's resume key."""

    model_config = ConfigDict(extra="forbid")

    num_cpus: float = Field(default=1.0, ge=0, description="CPUs reserved per actor")
    num_gpus: float = Field(default=0.0, ge=0, description="GPUs per actor (fractions share one)")


def split_ray_overrides(overrides: dict[str, Any]) -> tuple[RaySettings | None, dict[str, Any]]:
    """``(ray settings or None when no ray.* key, the system's own overrides)``."""
    ray_keys = {k[len("ray."):]: v for k, v in overrides.items() if k.startswith("ray.")}
    rest = {k: v for k, v in overrides.items() if not k.startswith("ray.")}
    if not ray_keys:
        return None, rest
    try:
        return RaySettings.model_validate(ray_keys), rest
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "settings"
        raise UserError(f"-o ray.{loc}: {err['msg']}") from None


def import_ray() -> Any:
    """The ``ray`` module, or the one-line UserError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return ray


class _PredictActor:
    """Holds one system: unpickled and set up in the actor process."""

    def __init__(self, system: System[Any], root: str, timeout: float | None) -> None:
        self.error: str | None = None
        try:
            self.bench = load_benchmark(root, check_hash=False)
            self.system = system
            system.setup(self.bench)
        except Exception as e:
            self.error = f"{type(e).__name__}: {e}"
        self.timeout = timeout

    def ready(self) -> tuple[str | None, int]:
        """``(setup error or None, the actor's pid)``."""
        return self.error, os.getpid()

    def predict(self, instance_id: str) -> str:
        if self.error is not None:
            raise SetupFailed(f"system setup failed in a Ray actor: {self.error}")
        return predict_one(self.system, self.bench.get(instance_id), self.bench, self.timeout).line


def _local_init_kwargs(actors: int, settings: RaySettings) -> dict[str, Any]:
    cpus = max(1, math.ceil(actors * settings.num_cpus))
    path = os.pathsep.join(p for p in sys.path if p)
    return {"num_cpus": cpus, "include_dashboard": False, "log_to_driver": False,
            "runtime_env": {"env_vars": {"PYTHONPATH": path}}}


def execute_ray(system: System[Any], bench: Benchmark, todo: list[Instance], actors: int,
                timeout: float | None, settings: RaySettings | None = None,
                address: str | None = None) -> Iterator[Predicted]:
    """Predictions of ``todo`` from ``actors`` Ray actors, in completion order."""
    ray = import_ray()
    from ray.exceptions import RayActorError, WorkerCrashedError

    settings = settings or RaySettings()
    started_here = False
    if not ray.is_initialized():
        try:
            if address is None:
                ray.init(**_local_init_kwargs(actors, settings))
            else:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
        except Exception as e:
            where = f"--ray-address {address}" if address else "--executor ray (local Ray)"
            raise UserError(f"{where}: cannot start or connect to Ray: {type(e).__name__}: "
                            f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}") from None
        started_here = True
    remote_cls = ray.remote(num_cpus=settings.num_cpus, num_gpus=settings.num_gpus,
                            max_restarts=0, max_task_retries=0)(_PredictActor)
    system_ref = ray.put(system)
    root = str(bench.root.resolve())
    pool: list[Any] = []
    restarts = 0

    def new_actor() -> Any:
        return remote_cls.remote(system_ref, root, timeout)

    def check_ready(handles: list[Any]) -> None:
        try:
            states = ray.get([h.ready.remote() for h in handles])
        except Exception as e:  # the actor could not start (e.g. the system cannot be unpickled)
            text = str(e).strip()
            raise SetupFailed(f"a Ray actor could not start: {type(e).__name__}: "
                              f"{text.splitlines()[0] if text else ''}") from None
        for err, _pid in states:
            if err is not None:
                raise SetupFailed(f"system setup failed in a Ray actor: {err}")

    try:
        pool = [new_actor() for _ in range(actors)]
        check_ready(pool)
        queue: deque[Instance] = deque(todo)
        inflight: dict[Any, tuple[int, Instance]] = {}
        per_actor: list[deque[Any]] = [deque() for _ in pool]
        while queue or inflight:
            for slot, handle in enumerate(pool):
                while queue and len(per_actor[slot]) < DEPTH:
                    inst = queue.popleft()
                    ref = handle.predict.remote(inst.id)
                    inflight[ref] = (slot, inst)
                    per_actor[slot].append(ref)
            done, _ = ray.wait(list(inflight), num_returns=1)
            ref = done[0]
            slot, inst = inflight[ref]
            try:
                line = ray.get(ref)
            except (RayActorError, WorkerCrashedError) as e:
                # the actor runs its tasks in order: the oldest was running and fails, the
                # ones queued behind it are submitted again
                refs = list(per_actor[slot])
                per_actor[slot].clear()
                failed = inflight.pop(refs[0])[1]
                for r in reversed(refs[1:]):
                    queue.appendleft(inflight.pop(r)[1])
                restarts += 1
                if restarts > MAX_ACTOR_RESTARTS:
                    raise UserError(f"Ray actors died {restarts} times; giving up") from None
                ray.kill(pool[slot], no_restart=True)
                pool[slot] = new_actor()
                check_ready([pool[slot]])
                pred = Prediction(id=failed.id, error=f"{type(e).__name__}: the Ray actor died "
                                  "while predicting this instance")
                yield Predicted(failed.id, pred.model_dump_json(), pred)
                continue
            except Exception as e:  # an error Ray raised for this task only
                text = str(e).strip()
                pred = Prediction(id=inst.id, error=f"{type(e).__name__}: "
                                  f"{text.splitlines()[0] if text else ''}".rstrip(": "))
                line = pred.model_dump_json()
            del inflight[ref]
            per_actor[slot].remove(ref)
            yield Predicted(inst.id, line)
    finally:
        for h in pool:
            with contextlib.suppress(Exception):  # already dead
                ray.kill(h, no_restart=True)
        if started_here:
            ray.shutdown()
