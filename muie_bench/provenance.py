"""Provenance of a run: git state, package versions, host, and argv without secrets.

Secret masking (:func:`redact_argv`, :func:`mask_url_credentials`, :func:`scrub_secrets`)
replaces a secret with ``***``: values of arguments and URL query parameters named like a
secret (``key``, ``token``, ``secret``, ``password``), URL credentials (``scheme://user:pw@``
becomes ``scheme://***@``), and in text from servers also ``Bearer``/``Basic``/``Token``
credentials, ``sk-...`` keys, JSON fields named like secrets and the known secret values.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

SECRET_WORDS = ("key", "token", "secret", "password")

#: distributions whose versions every run records (when installed)
CORE_PACKAGES = (
    "muie-bench", "pydantic", "numpy", "scipy", "pandas", "pycocotools", "pillow", "av",
    "soundfile", "typer", "rich",
)


def is_secret_name(name: str) -> bool:
    low = name.lower()
    return any(w in low for w in SECRET_WORDS)


_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s]*@")
_SECRET_PARAM = re.compile(r"(?i)([?&;][^=&#\s]*(?:key|token|secret|password)[^=&#\s]*=)[^&#\s]*")
#: ``Bearer`` + 8 or more token characters; ``Basic``/``Token`` + 8 or more with a digit or
#: ``+/=`` (so that "basic authentication" stays readable)
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer(\s+)(?=[A-Za-z0-9._~+/=-]{8})"
                          r"|(?:basic|token)(\s+)(?=[A-Za-z0-9._~-]*[0-9+/=])(?=[A-Za-z0-9._~+/=-]{8}))"
                          r"[A-Za-z0-9._~+/=-]+")
_SK_KEY = re.compile(r"\bsk-[A-Za-z0-9_-]{8,}")
_SECRET_FIELD = re.compile(
    r"""(?i)(["']?[\w-]*(?:key|token(?!s)|secret|password)[\w-]*["']?\s*[:=]\s*["']?)"""
    r"""[^"'\s,;&}]+""")


def mask_url_credentials(text: str) -> str:
    """``text`` with the credentials of every URL in it masked: ``http://u:pw@h/v1`` becomes
    ``http://***@h/v1`` and ``?api_key=...`` / ``&token=...`` become ``=***``."""
    return _SECRET_PARAM.sub(r"\1***", _URL_USERINFO.sub(r"\1***@", text))


def scrub_secrets(text: str, known: tuple[str, ...] | list[str] = ()) -> str:
    """Server text (error bodies) with every secret masked: the ``known`` values (an API
    key, URL passwords; values shorter than 4 characters are ignored), URL credentials,
    ``Bearer``/``Basic``/``Token`` credentials, ``sk-`` keys of 8+ characters and fields
    named like secrets (``"api_key": "..."``, ``token=...``)."""
    for secret in sorted({k for k in known if len(k) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = mask_url_credentials(text)
    text = _AUTH_SCHEME.sub(lambda m: m.group(1) + "***", text)
    text = _SK_KEY.sub("sk-***", text)
    return _SECRET_FIELD.sub(lambda m: m.group(1) + "***", text)


def redact_argv(argv: list[str]) -> list[str]:
    """argv with the value of every ``key=value`` / ``--key value`` naming a secret masked,
    and the credentials of URLs in any argument masked (:func:`mask_url_credentials`).

    ``-o api_key=sk-...`` becomes ``-o api_key=***``; ``--api-key sk-...`` and
    ``--token=...`` are masked the same way; ``-o base_url=http://u:pw@h/v1`` becomes
    ``-o base_url=http://***@h/v1``.
    """
    out: list[str] = []
    mask_next = False
    for a in map(mask_url_credentials, argv):
        if mask_next:
            out.append("***")
            mask_next = False
            continue
        if a.startswith("-") and is_secret_name(a.lstrip("-").split("=", 1)[0]):
            if "=" in a:
                out.append(a.split("=", 1)[0] + "=***")
            else:
                out.append(a)
                mask_next = True
            continue
        if "=" in a and not a.startswith("-") and is_secret_name(a.split("=", 1)[0]):
            out.append(a.split("=", 1)[0] + "=***")
            continue
        out.append(a)
    return out


def git_info(path: Path | None = None) -> dict[str, Any]:
    """``{"commit", "dirty"}`` of the git checkout holding the muie_bench package; {} if none."""
    where = path or Path(__file__).resolve().parent
    if shutil.which("git") is None:
        return {}
    try:
        commit = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (subprocess.SubprocessError, OSError):
        return {}
    return {"commit": commit, "dirty": bool(status.strip())}


def package_version(dist: str) -> str:
    """The installed version of distribution ``dist``, or ``"missing"`` (the one version lookup)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "missing"


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Installed versions of the core packages (and ``extra``); Python itself as 'python'.
    Packages that are not installed are left out."""
    out = {"python": platform.python_version()}
    for name in (*CORE_PACKAGES, *extra):
        v = package_version(name)
        if v != "missing":
            out[name] = v
    return out


def host_info() -> dict[str, Any]:
    """OS, machine, CPU model and count, memory, and GPUs (via nvidia-smi when present)."""
    info: dict[str, Any] = {
        "hostname": platform.node(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count() or 0,
        "python": sys.version.split()[0],
    }
    mem = _mem_total_gb()
    if mem is not None:
        info["memory_gb"] = mem
    info["gpus"] = _gpus()
    return info


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor()
    m = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return m.group(1).strip() if m else platform.processor()


def _mem_total_gb() -> float | None:
    try:
        text = Path("/proc/meminfo").read_text(encoding="utf-8")
    except OSError:
        return None
    m = re.search(r"^MemTotal:\s*(\d+) kB", text, re.MULTILINE)
    return round(int(m.group(1)) / 1024**2, 1) if m else None


def _gpus() -> list[str]:
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        res = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        )
    except (subprocess.SubprocessError, OSError):
        return []
    return [line.strip() for line in res.stdout.splitlines() if line.strip()]
