"""Shared fixtures and helpers: the bundled benchmarks, writable copies, the CLI in a
subprocess (``run_cli``, ``one_line_error``), headless Chromium (``chromium_driver``).

Test modules import the helpers with ``from conftest import ...`` (pytest puts ``tests/`` on
``sys.path``, which also makes the test-only plugins ``runner_support`` and ``run_hooks``
importable without any path manipulation).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# sets the CPU-independent CTranslate2 environment before any test module imports faster_whisper
import muie_bench.systems.pipeline  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
TINY = ROOT / "tests" / "data" / "tiny"
MINI = ROOT / "benchmark_data" / "muie-synth-mini"


@pytest.fixture(scope="session")
def tiny_dir() -> Path:
    """The committed tiny test benchmark (read-only: copy it before changing anything)."""
    return TINY


@pytest.fixture(scope="session")
def mini_dir() -> Path:
    """The committed bundled benchmark muie-synth-mini (read-only)."""
    if not (MINI / "manifest.json").is_file():
        pytest.skip("benchmark_data/muie-synth-mini is not built")
    return MINI


@pytest.fixture()
def tiny_copy(tmp_path: Path) -> Path:
    """A writable copy of the tiny benchmark."""
    dst = tmp_path / "tiny"
    shutil.copytree(TINY, dst)
    return dst


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a ``muie-bench`` subprocess: this one, with ``tests/`` on PYTHONPATH
    (so ``--plugin runner_support`` finds the test-only kinds), plus ``extra``."""
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``muie-bench ARGS`` in a subprocess, as a user runs it; never raises on a failure."""
    return subprocess.run([sys.executable, "-m", "muie_bench.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env or cli_env(), timeout=timeout,
                          stdin=subprocess.DEVNULL)


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str, code: int | None = 2) -> str:
    """The one stderr line of a failed command (exit ``code``, any non-zero one when None),
    which must contain every needle; no traceback anywhere."""
    assert proc.returncode != 0 and (code is None or proc.returncode == code), (
        proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def chromium_driver(profile: Path) -> Any:
    """A headless Chromium (selenium) with its browser log kept; skips the test when Chromium or
    chromedriver is not installed (`make browser` installs them)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium")
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip("chromium / chromedriver not installed (run `make browser`)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=opts)


def _register_hypothesis_profiles() -> None:
    """Under ``CI=true`` property tests are derandomized (same examples on every run)."""
    import os

    from hypothesis import settings

    settings.register_profile(
        "ci", derandomize=True, print_blob=True, deadline=None, max_examples=100
    )
    if os.environ.get("CI", "").lower() == "true":
        settings.load_profile("ci")


_register_hypothesis_profiles()
