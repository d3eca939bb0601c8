"""Devices, dtypes and weights of the full-tier components.

``device``: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (``cuda`` when torch sees a GPU, else
``cpu``). A bare ``cuda`` / ``auto`` in a process-pool worker picks GPU ``i mod n`` for the
worker's index ``i`` (the pool's process identity, from 1), so ``-j N`` on a machine with
several GPUs gives each worker its own GPU; ``cuda:N`` is taken as given.
"""

from __future__ import annotations

import importlib
import multiprocessing
import warnings
from pathlib import Path
from typing import Any

from muie_bench.errors import UserError

#: pip install hint of the full tier
HINT = "pip install -e '.[full]'"


def require(module: str, setting: str) -> Any:
    """``import module``; a missing package is a UserError naming ``setting``."""
    try:
        with warnings.catch_warnings():  # pyannote: torchcodec cannot decode here; unused
            warnings.filterwarnings("ignore", message=".*torchcodec.*")
            return importlib.import_module(module)
    except ImportError as e:
        raise UserError(f"{setting}: {module} cannot be imported ({e}); {HINT}, "
                        f"or turn the component off") from None


def worker_index() -> int:
    """0 in the main process; ``k - 1`` in the ``k``-th process of a process pool."""
    ident = getattr(multiprocessing.current_process(), "_identity", ())
    return int(ident[0]) - 1 if ident else 0


def resolve_device(device: str, setting: str = "device") -> str:
    """The torch device string ``device`` stands for (see the module docstring)."""
    if device not in ("cpu", "auto", "cuda") and not (
            device.startswith("cuda:") and device[5:].isdigit()):
        raise UserError(f"{setting}: {device!r}: expected cpu, cuda, cuda:N or auto")
    if device == "cpu":
        return "cpu"
    torch = require("torch", setting)
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device == "auto" and n == 0:
        return "cpu"
    if n == 0:
        raise UserError(f"{setting}: {device!r} but torch sees no CUDA device; use -o {setting}=cpu")
    if device.startswith("cuda:"):
        if int(device[5:]) >= n:
            raise UserError(f"{setting}: {device!r} but torch sees {n} CUDA device(s)")
        return device
    return f"cuda:{worker_index() % n}"


def torch_dtype(dtype: str, device: str, setting: str) -> Any:
    """torch dtype of ``float32`` / ``float16`` / ``bfloat16`` / ``auto`` (float16 on CUDA,
    else float32)."""
    torch = require("torch", setting)
    if dtype == "auto":
        return torch.float16 if device.startswith("cuda") else torch.float32
    if dtype not in ("float32", "float16", "bfloat16"):
        raise UserError(f"{setting}: {dtype!r}: expected float32, float16, bfloat16 or auto")
    return getattr(torch, dtype)


def is_local(ref: str) -> bool:
    """True when ``ref`` names a local path (absolute, relative with a separator, ~, or existing)."""
    return ref.startswith(("/", ".", "~")) or Path(ref).expanduser().exists()


def local_weights(ref: str, setting: str, what: str) -> str:
    """``ref`` as an existing local path; UserError naming ``setting`` when it is missing."""
    p = Path(ref).expanduser()
    if not p.exists():
        raise UserError(f"{setting}: {what} {ref!r} not found; give a local path "
                        f"(-o {setting}=/path/to/{what.replace(' ', '-')})")
    return str(p)


def hf_load(loader: Any, ref: str, setting: str, what: str, **kwargs: Any) -> Any:
    """``loader.from_pretrained(ref)``: a local directory, or a hub name from the local cache
    only (``local_files_only``); a failure is one UserError naming ``setting``."""
    if is_local(ref):
        ref = local_weights(ref, setting, what)
    try:
        return loader.from_pretrained(ref, local_files_only=True, **kwargs)
    except (OSError, ValueError, KeyError) as e:
        first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise UserError(f"{setting}: cannot load {what} {ref!r} offline ({first}); give a local "
                        f"directory or a hub name already in the Hugging Face cache") from None
