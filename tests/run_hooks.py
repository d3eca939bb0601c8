"""Test-only hooks for CLI runs, imported with ``--plugin run_hooks`` (crash and race tests).

Environment variables:

- ``MUIE_TEST_SLOW_LOAD=S``: loading the benchmark takes S seconds more (widens the window
  between looking for a run to resume and creating one, where two processes can race).
- ``MUIE_TEST_KILL_AT=run.json``: SIGKILL this process when run.json is first put in place
  (the moment between creating a run directory and its run.json being complete).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

_slow = float(os.environ.get("MUIE_TEST_SLOW_LOAD", "0") or 0)
_kill_at = os.environ.get("MUIE_TEST_KILL_AT", "")

if _slow:
    import muie_bench.benchmark as _bm

    _load = _bm.load_benchmark

    def _slow_load(*a: Any, **kw: Any) -> Any:
        time.sleep(_slow)
        return _load(*a, **kw)

    for _mod in ("muie_bench.run.runner",):
        try:
            _m = __import__(_mod, fromlist=["load_benchmark"])
        except ImportError:
            continue
        if hasattr(_m, "load_benchmark"):
            _m.load_benchmark = _slow_load

if _kill_at == "run.json":
    _replace = os.replace

    def _killing_replace(src: Any, dst: Any, *a: Any, **kw: Any) -> None:
        if Path(dst).name == "run.json":
            os.kill(os.getpid(), signal.SIGKILL)
        _replace(src, dst, *a, **kw)

    os.replace = _killing_replace  # type: ignore[assignment]
