"""What identifies a run: :class:`RunSpec` and its resume key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from muie_bench.schema import Selection


@dataclass(frozen=True)
class SelectionSpec:
    """The instance filters of a run, normalised (sorted lists, None for "all")."""

    sets: tuple[str, ...] | None = None
    modalities: tuple[str, ...] | None = None
    tasks: tuple[str, ...] | None = None
    limit: int | None = None

    @classmethod
    def of(cls, sets: Sequence[str] | None = None, modalities: Sequence[str] | None = None,
           tasks: Sequence[str] | None = None, limit: int | None = None) -> SelectionSpec:
        """Normalise: an empty or missing filter is None, the others sorted."""
        def norm(v: Sequence[str] | None) -> tuple[str, ...] | None:
            return tuple(sorted(v)) if v else None

        return cls(norm(sets), norm(modalities), norm(tasks), limit)

    def as_dict(self) -> dict[str, list[str] | int | None]:
        """The JSON form the resume key hashes (lists, not tuples)."""
        def lst(v: tuple[str, ...] | None) -> list[str] | None:
            return list(v) if v is not None else None

        return {"sets": lst(self.sets), "modalities": lst(self.modalities),
                "tasks": lst(self.tasks), "limit": self.limit}

    def record(self, instances: int) -> Selection:
        """The ``selection`` of run.json, with the number of instances selected."""
        return Selection(sets=list(self.sets) if self.sets else None,
                         modalities=list(self.modalities) if self.modalities else None,
                         tasks=list(self.tasks) if self.tasks else None,
                         limit=self.limit, instances=instances)


@dataclass(frozen=True)
class RunSpec:
    """The identity of a run: system preset, settings fingerprint, benchmark, selection.

    Two commands with equal specs work in the same run directory (the second resumes the
    first); anything else (workers, timeout, scoring options) does not change the run.
    """

    system: str
    fingerprint: str
    benchmark_sha256: str
    selection: SelectionSpec

    def key(self) -> str:
        """The resume key recorded in run.json: 20 hex of a sha256 over the spec."""
        blob = json.dumps(
            {"system": self.system, "fingerprint": self.fingerprint,
             "benchmark": self.benchmark_sha256, "selection": self.selection.as_dict()},
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:20]
