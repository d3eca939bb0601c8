"""Executors: predict instances serially, in a thread pool or in worker processes.

Each yields one :class:`Predicted` per instance, in completion order. A prediction is
never lost to an error of the system: an exception or a timeout in ``predict``, a result
that is not a :class:`Prediction` of that instance, or one that cannot be written as JSON
(e.g. a lone surrogate in ``raw``) becomes a prediction with ``error`` set.

- :func:`execute` picks the executor: ``workers == 1`` runs in the calling thread;
  ``System.parallelism == "thread"`` shares one system (``setup`` once) in a thread pool
  with at most ``4 * workers`` instances in flight; ``"process"`` uses spawned processes,
  each unpickling the system and calling ``setup`` once in its initializer. A worker that
  dies fails its in-flight instances and the pool is restarted (at most 5 times).
- A timeout cannot stop the stuck call (Python cannot kill a thread): the call is
  abandoned in a daemon thread and the worker moves on.
- A failing ``setup`` stops the run: :class:`SetupFailed`, one line.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from muie_bench.benchmark import Benchmark, load_benchmark
from muie_bench.errors import UserError
from muie_bench.schema import Instance, Prediction
from muie_bench.systems.base import System

MAX_POOL_RESTARTS = 5


@dataclass(frozen=True)
class Predicted:
    """A prediction and its JSON line (``prediction`` is None when made in another process)."""

    id: str
    line: str
    prediction: Prediction | None = None


class SetupFailed(UserError):
    pass


class PredictTimeout(Exception):
    pass


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else ""


def _error(instance_id: str, e: BaseException) -> Prediction:
    return Prediction(id=instance_id, error=f"{type(e).__name__}: {_first_line(e)}".rstrip(": "))


def predict_one(system: System[Any], inst: Instance, bench: Benchmark, timeout: float | None) -> Predicted:
    """One prediction and its JSON line; every failure becomes a prediction with ``error``."""
    t0 = time.perf_counter()
    try:
        pred = (
            system.predict(inst, bench) if timeout is None
            else _call_with_timeout(lambda: system.predict(inst, bench), timeout)
        )
        if not isinstance(pred, Prediction):
            raise TypeError(f"predict returned {type(pred).__name__}, not a Prediction")
        if pred.id != inst.id:
            raise ValueError(f"predict returned id {pred.id!r} for instance {inst.id!r}")
    except Exception as e:
        pred = _error(inst.id, e)
    if not pred.seconds:
        pred.seconds = round(time.perf_counter() - t0, 6)
    try:
        line = pred.model_dump_json()
    except Exception as e:  # e.g. PydanticSerializationError: a lone surrogate in a string
        pred = Prediction(id=inst.id, error=f"unserialisable prediction: {type(e).__name__}: "
                          f"{_first_line(e)}".rstrip(": "), seconds=pred.seconds)
        line = pred.model_dump_json()
    return Predicted(inst.id, line, pred)


def _call_with_timeout(fn: Callable[[], Prediction], timeout: float) -> Prediction:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # re-raised in the caller
            box["error"] = e

    th = threading.Thread(target=target, daemon=True, name="predict")
    th.start()
    th.join(timeout)
    if th.is_alive():
        raise PredictTimeout(f"no prediction after {timeout:g} s")
    if "error" in box:
        raise box["error"]
    result: Prediction = box["value"]
    return result


def _setup(system: System[Any], bench: Benchmark) -> None:
    try:
        system.setup(bench)
    except UserError:
        raise
    except Exception as e:
        raise SetupFailed(f"system setup failed: {type(e).__name__}: {e}") from e


def execute(system: System[Any], bench: Benchmark, todo: list[Instance], workers: int,
            timeout: float | None) -> Iterator[Predicted]:
    """The predictions of ``todo`` with the executor that fits ``system`` and ``workers``."""
    if not todo:
        return iter(())
    if workers > 1 and system.parallelism == "process":
        return execute_processes(system, bench, todo, workers, timeout)
    if workers == 1:
        return execute_serial(system, bench, todo, timeout)
    return execute_threads(system, bench, todo, workers, timeout)


def execute_serial(system: System[Any], bench: Benchmark, todo: list[Instance], timeout: float | None
                   ) -> Iterator[Predicted]:
    """In the calling thread, in order."""
    _setup(system, bench)
    for inst in todo:
        yield predict_one(system, inst, bench, timeout)


def execute_threads(system: System[Any], bench: Benchmark, todo: list[Instance], workers: int,
                    timeout: float | None) -> Iterator[Predicted]:
    """One system shared by ``workers`` threads; at most ``4 * workers`` in flight."""
    _setup(system, bench)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="predict") as pool:
        it = iter(todo)
        inflight: set[Future[Predicted]] = set()
        try:
            for inst in it:
                inflight.add(pool.submit(predict_one, system, inst, bench, timeout))
                if len(inflight) >= 4 * workers:
                    done, inflight = _wait_some(inflight)
                    for f in done:
                        yield f.result()
            while inflight:
                done, inflight = _wait_some(inflight)
                for f in done:
                    yield f.result()
        except BaseException:
            for f in inflight:
                f.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _wait_some(fs: set[Future[Any]]) -> tuple[set[Future[Any]], set[Future[Any]]]:
    done, pending = wait(fs, return_when=FIRST_COMPLETED)
    return set(done), set(pending)


# process workers: module globals set by the initializer in each worker process
_W: dict[str, Any] = {}


def _init_worker(system: System[Any], root: str, timeout: float | None) -> None:
    try:
        bench = load_benchmark(root, check_hash=False)
        system.setup(bench)
        _W.update(system=system, bench=bench, timeout=timeout)
    except Exception as e:
        _W["setup_error"] = f"{type(e).__name__}: {e}"


def _worker_predict(instance_id: str) -> str:
    if "setup_error" in _W:
        raise SetupFailed(f"system setup failed in a worker process: {_W['setup_error']}")
    bench: Benchmark = _W["bench"]
    return predict_one(_W["system"], bench.get(instance_id), bench, _W["timeout"]).line


def execute_processes(system: System[Any], bench: Benchmark, todo: list[Instance], workers: int,
                      timeout: float | None) -> Iterator[Predicted]:
    """Spawned worker processes; a worker that dies fails its in-flight instances."""
    ctx = multiprocessing.get_context("spawn")
    remaining = {inst.id: inst for inst in todo}
    restarts = 0
    while remaining:
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_init_worker,
            initargs=(system, str(bench.root), timeout),
        )
        futures: dict[Future[str], Instance] = {}
        broken = False
        try:
            for inst in list(remaining.values()):
                futures[pool.submit(_worker_predict, inst.id)] = inst
                if len(futures) >= 4 * workers:
                    broken = yield from _drain(futures, remaining, until=2 * workers)
                    if broken:
                        break
            if not broken:
                broken = yield from _drain(futures, remaining, until=0)
        finally:
            pool.shutdown(wait=not broken, cancel_futures=True)
        if broken:
            restarts += 1
            if restarts > MAX_POOL_RESTARTS:
                raise UserError(f"worker processes died {restarts} times; giving up")
            for inst in list(futures.values()):
                pred = Prediction(id=inst.id, error="BrokenProcessPool: the worker process died")
                yield Predicted(inst.id, pred.model_dump_json(), pred)
                remaining.pop(inst.id, None)
            futures.clear()


def _drain(futures: dict[Future[str], Instance], remaining: dict[str, Instance], until: int
           ) -> Generator[Predicted, None, bool]:
    """Yield finished predictions until at most ``until`` futures remain; True if broken."""
    while len(futures) > until:
        done, _ = wait(set(futures), return_when=FIRST_COMPLETED)
        for f in done:
            inst = futures[f]
            try:
                line = f.result()
            except BrokenProcessPool:
                return True
            del futures[f]
            remaining.pop(inst.id, None)
            yield Predicted(inst.id, line)
    return False
