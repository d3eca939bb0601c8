"""Shared fixtures: paths of the bundled benchmarks and writable copies of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# sets the CPU-independent CTranslate2 environment before any test module imports faster_whisper
import muie_bench.systems.pipeline  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
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
