"""Converters from the paper's source datasets to benchmark directories.

``import_dataset(FORMAT, SRC..., out)`` runs one converter module per format (see
:data:`FORMATS`) and writes a validated benchmark: the manifest names the source dataset,
its licence as stated, the label inventories the data uses, and the sha256 of every file.
A malformed record stops the import with every problem listed as ``file:line: field:
message``; with ``skip_bad`` the rest is converted and the problems are returned.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from muie_bench.errors import UserError, ValidationProblems

#: format -> (module, default set id)
FORMATS: dict[str, tuple[str, str]] = {
    "twitter2017": ("twitter2017", "ti-ner"),
    "mnre": ("mnre", "ti-re"),
    "m2e2": ("m2e2", "ti-ee"),
    "vrd": ("vrd", "i-re"),
    "swig": ("swig", "i-ee"),
    "vidsitu": ("vidsitu", "v-ee"),
    "ace05": ("ace05", "t-ner"),
    "re-tacred": ("retacred", "t-re"),
}
VERSION = "1"


@dataclass
class ImportReport:
    out: Path
    counts: dict[str, int]
    skipped: list[str]
    notes: list[str]


class BadRecords(ValidationProblems):
    """Malformed source records (the import wrote nothing)."""


def import_dataset(
    fmt: str,
    srcs: list[Path],
    out: Path,
    media: Path | None = None,
    skip_bad: bool = False,
    set_id: str | None = None,
    name: str | None = None,
) -> ImportReport:
    """Convert ``srcs`` of ``fmt`` into a benchmark at ``out`` (validated)."""
    from muie_bench.sources.common import Problems, file_digests, write_benchmark

    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    if not srcs:
        raise UserError(f"{fmt}: no source files given")
    for p in srcs:
        if not p.is_file():
            raise UserError(f"{p}: no such file")
    if media is not None and not media.is_dir():
        raise UserError(f"--media {media}: no such directory")
    mod_name, default_set = FORMATS[fmt]
    mod = importlib.import_module(f"muie_bench.sources.{mod_name}")
    problems = Problems()
    sets = mod.convert(list(srcs), media, problems, set_id or default_set)
    if problems.lines and not skip_bad:
        raise BadRecords(problems.lines)
    if not any(cs.instances for cs in sets):
        raise UserError(f"{fmt}: no record could be converted ({len(problems.lines)} malformed)")
    src = sets[0].source
    description = (f"{src.name} converted by muie-bench ({fmt}): {sets[0].description}. "
                   f"Source: {src.url}. Licence as stated: {src.licence}.")
    notes = [n for cs in sets for n in cs.notes]
    generator: dict[str, object] = {
        "tool": "muie_bench.sources", "format": fmt, "version": VERSION,
        "inputs": file_digests(list(srcs)), "skipped": len(problems.lines),
        "notes": notes,
    }
    counts = write_benchmark(out, name or f"{fmt}-{sets[0].set_id}", VERSION, description, sets, generator)
    return ImportReport(out, counts, problems.lines, notes)
