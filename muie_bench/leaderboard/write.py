"""Write a leaderboard's files into a folder: leaderboard.md, .csv, .html and the charts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from muie_bench.errors import UserError
from muie_bench.leaderboard.build import build
from muie_bench.leaderboard.model import Leaderboard
from muie_bench.leaderboard.render_csv import write_csv
from muie_bench.leaderboard.render_html import to_html
from muie_bench.leaderboard.render_md import to_markdown

DEFAULT_OUT = Path("results/leaderboard")
MARKDOWN, CSV, HTML = "leaderboard.md", "leaderboard.csv", "leaderboard.html"


@dataclass(frozen=True)
class LeaderboardResult:
    """What :func:`write_leaderboard` wrote."""

    leaderboard: Leaderboard
    out_dir: Path
    markdown: str
    #: ``"<group key>/<table title>"`` -> chart file name in ``out_dir`` (empty without charts)
    images: dict[str, str]

    @property
    def files(self) -> list[Path]:
        """leaderboard.md, .csv, .html, then the charts."""
        return [self.out_dir / n for n in (MARKDOWN, CSV, HTML, *self.images.values())]


def prepare_out_dir(out_dir: Path) -> None:
    """Create the output folder; a file there or an unwritable place is a :class:`UserError`."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir}: not a folder (the leaderboard is written into a folder of "
                        "files)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{out_dir}: cannot create the output folder ({e.strerror})") from None


def _write(path: Path, fill: Callable[[TextIO], Any]) -> None:
    try:
        with open(path, "w", newline="", encoding="utf-8") as f:
            fill(f)
    except OSError as e:
        raise UserError(f"{path}: cannot write ({e.strerror})") from None


def write_leaderboard(runs_dir: Path, out_dir: Path = DEFAULT_OUT,
                      reported_path: Path | None = None, plots: bool = True) -> LeaderboardResult:
    """Build the leaderboard of the runs under ``runs_dir`` (an existing folder) and write its
    files into ``out_dir`` (created when missing)."""
    lb = build(runs_dir, reported_path)
    prepare_out_dir(out_dir)
    images: dict[str, str] = {}
    if plots:
        from muie_bench.leaderboard.render_plots import write_plots

        try:
            images = write_plots(lb, out_dir)
        except OSError as e:
            raise UserError(f"{e.filename or out_dir}: cannot write ({e.strerror})") from None
    md = to_markdown(lb, images)
    _write(out_dir / MARKDOWN, lambda f: f.write(md))
    _write(out_dir / CSV, lambda f: write_csv(lb, f))
    html = to_html(lb, out_dir, images)
    _write(out_dir / HTML, lambda f: f.write(html))
    return LeaderboardResult(lb, out_dir, md, images)
