"""What identifies a run: :class:`RunSpec` and its resume key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from muie_bench.errors import UserError
from muie_bench.schema import Instance, Selection


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based): the instances whose id hashes to ``index``.

    An instance belongs to shard ``int(sha256(id)[:16 hex], 16) % count``: deterministic
    across machines, Python versions and runs (never Python's salted ``hash()``), and
    independent of the order or number of the other instances.
    """

    index: int
    count: int

    @classmethod
    def parse(cls, text: str, option: str = "--shard") -> Shard:
        """``"i/n"`` with ``0 <= i < n``; anything else is a UserError (one line)."""
        head, sep, tail = text.strip().partition("/")
        try:
            index, count = int(head), int(tail)
        except ValueError:
            index, count = -1, 0
        if not sep or count < 1 or not 0 <= index < count:
            raise UserError(f"{option}: expected i/n with 0 <= i < n (e.g. 0/3), got {text!r}")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def contains(self, instance_id: str) -> bool:
        return shard_index(instance_id, self.count) == self.index

    def select(self, instances: Sequence[Instance]) -> list[Instance]:
        """The instances of this shard, in their order."""
        return [i for i in instances if self.contains(i.id)]


def shard_index(instance_id: str, count: int) -> int:
    """The shard (of ``count``) of an instance id: sha256 of its UTF-8 bytes, modulo ``count``."""
    digest = hashlib.sha256(instance_id.encode("utf-8")).hexdigest()
    return int(digest[:16], 16) % count


@dataclass(frozen=True)
class SelectionSpec:
    """The instance filters of a run, normalised (sorted lists, None for "all")."""

    sets: tuple[str, ...] | None = None
    modalities: tuple[str, ...] | None = None
    tasks: tuple[str, ...] | None = None
    limit: int | None = None
    shard: Shard | None = None

    @classmethod
    def of(cls, sets: Sequence[str] | None = None, modalities: Sequence[str] | None = None,
           tasks: Sequence[str] | None = None, limit: int | None = None,
           shard: Shard | None = None) -> SelectionSpec:
        """Normalise: an empty or missing filter is None, the others sorted."""
        def norm(v: Sequence[str] | None) -> tuple[str, ...] | None:
            return tuple(sorted(v)) if v else None

        return cls(norm(sets), norm(modalities), norm(tasks), limit, shard)

    @classmethod
    def of_record(cls, sel: Selection) -> SelectionSpec:
        """The spec of a run.json ``selection`` (its shard included)."""
        shard = Shard.parse(sel.shard, "run.json selection.shard") if sel.shard else None
        return cls.of(sel.sets, sel.modalities, sel.tasks, sel.limit, shard)

    def whole(self) -> SelectionSpec:
        """The same filters without the shard (what merged shards cover)."""
        return SelectionSpec(self.sets, self.modalities, self.tasks, self.limit, None)

    def as_dict(self) -> dict[str, list[str] | int | str | None]:
        """The JSON form the resume key hashes (lists, not tuples); ``shard`` only when set,
        so the keys of unsharded runs are those of earlier versions."""
        def lst(v: tuple[str, ...] | None) -> list[str] | None:
            return list(v) if v is not None else None

        out: dict[str, list[str] | int | str | None] = {
            "sets": lst(self.sets), "modalities": lst(self.modalities),
            "tasks": lst(self.tasks), "limit": self.limit}
        if self.shard is not None:
            out["shard"] = str(self.shard)
        return out

    def record(self, instances: int) -> Selection:
        """The ``selection`` of run.json, with the number of instances selected."""
        return Selection(sets=list(self.sets) if self.sets else None,
                         modalities=list(self.modalities) if self.modalities else None,
                         tasks=list(self.tasks) if self.tasks else None,
                         limit=self.limit, instances=instances,
                         shard=str(self.shard) if self.shard is not None else None)


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
