"""``linear_sum_assignment`` without importing all of ``scipy.optimize``.

``from scipy.optimize import linear_sum_assignment`` imports the whole optimize package
(about 0.4 s of CPU, most of a short ``muie-bench score``). The function itself is the
compiled extension ``scipy.optimize._lsap``; it is loaded on its own (registered under its
own name, so a later ``import scipy.optimize`` reuses it: the very same function). When
that is not possible (another scipy layout) the public import is used. Either way the
function is scipy's, so every matching is exactly what ``scipy.optimize`` computes.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from typing import Any

_NAME = "scipy.optimize._lsap"


def _load() -> Any:
    mod = sys.modules.get(_NAME)
    if mod is None:
        try:
            import scipy

            folder = Path(scipy.__path__[0]) / "optimize"
            for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                path = folder / f"_lsap{suffix}"
                if path.is_file():
                    loader = importlib.machinery.ExtensionFileLoader(_NAME, str(path))
                    spec = importlib.util.spec_from_file_location(_NAME, path, loader=loader)
                    if spec is None:
                        break
                    mod = importlib.util.module_from_spec(spec)
                    loader.exec_module(mod)
                    sys.modules[_NAME] = mod
                    break
        except Exception:  # any other layout: the public import below
            mod = None
    fn = getattr(mod, "linear_sum_assignment", None)
    if fn is None:
        import scipy.optimize

        fn = scipy.optimize.linear_sum_assignment
    return fn


linear_sum_assignment = _load()
