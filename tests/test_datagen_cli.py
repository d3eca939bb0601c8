"""The `muie-bench data` commands, run as a user runs them (a real subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image

EXE = [sys.executable, "-c", "from muie_bench.cli import main; main()"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXE, *args], capture_output=True, text=True, check=False)


def test_preview_writes_an_overlay_sheet(mini_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "sheet.png"
    r = _run("data", "preview", str(mini_dir), "--out", str(out), "--sets", "i-ner,v-ee",
             "--per-set", "2")
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.size == (90 + 2 * 320, 2 * 240)
        px = im.convert("RGB").getpixel((90 + 160, 120))
    assert px != (255, 255, 255)


def test_user_errors_are_one_line(mini_dir: Path, tmp_path: Path) -> None:
    r = _run("data", "preview", str(mini_dir), "--out", str(tmp_path / "x.png"), "--sets", "a-ner")
    assert r.returncode == 2 and r.stderr.startswith("error: --sets: 'a-ner' is not a set")
    assert len(r.stderr.strip().splitlines()) == 1
    r = _run("data", "build", "--size", "huge", "--out", str(tmp_path / "b"))
    assert r.returncode == 2 and "--size" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    r = _run("data", "build", "--out", str(busy))
    assert r.returncode == 2 and "refusing to overwrite" in r.stderr
    assert (busy / "notes.txt").read_text() == "mine"
