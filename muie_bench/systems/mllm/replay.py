"""Backend: replay recorded raw outputs, so published outputs score without the model.

A replay file is JSON Lines, one object per instance: ``{"id": "<instance id>", "raw":
"<model output>"}`` (``raw`` may be null: no output). Other keys are ignored, so a run's
``predictions.jsonl`` is itself a replay file. Blank lines are skipped. A malformed line, a
line without ``id`` or ``raw``, or an id given twice stops the run with ``file:line``; an
instance missing from the file fails that instance only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from muie_bench.benchmark import sha256_file
from muie_bench.errors import UserError
from muie_bench.systems.mllm.backends import BackendSettings, register_backend
from muie_bench.systems.mllm.base import BackendError, Generation

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark
    from muie_bench.schema import Instance
    from muie_bench.systems.prompts import Prompt


def read_replay(path: Path) -> dict[str, str | None]:
    """Instance id -> recorded raw output of a replay file."""
    if not path.is_file():
        raise UserError(f"replay_path={str(path)!r}: no such file")
    out: dict[str, str | None] = {}
    first: dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise UserError(f"{path}:{n}: (json): {e.msg}") from None
            if not isinstance(obj, dict):
                raise UserError(f"{path}:{n}: (line): expected a JSON object")
            rid = obj.get("id")
            if not isinstance(rid, str) or not rid:
                raise UserError(f"{path}:{n}: id: missing or not a string")
            if "raw" not in obj:
                raise UserError(f"{path}:{n}: raw: missing (null for no output)")
            raw = obj["raw"]
            if raw is not None and not isinstance(raw, str):
                raise UserError(f"{path}:{n}: raw: expected a string or null")
            if rid in first:
                raise UserError(f"{path}:{n}: id: {rid!r} given twice (first on line {first[rid]})")
            first[rid] = n
            out[rid] = raw
    return out


class ReplaySettings(BackendSettings):
    replay_path: str | None = Field(None, description="JSONL of recorded outputs")


def _configured(s: Any) -> bool:
    return bool(getattr(s, "replay_path", None))


@register_backend("replay", ReplaySettings, configured=_configured)
class ReplayBackend:
    """Answers each instance with its recorded output."""

    name = "replay"

    def __init__(self, settings: ReplaySettings) -> None:
        if not settings.replay_path:
            raise UserError("backend=replay needs -o replay_path=FILE")
        self.path = Path(settings.replay_path)
        if not self.path.is_file():
            raise UserError(f"replay_path={settings.replay_path!r}: no such file")
        self.outputs: dict[str, str | None] | None = None

    def setup(self) -> None:
        if self.outputs is None:
            self.outputs = read_replay(self.path)

    def components(self) -> dict[str, str]:
        sha = sha256_file(self.path)[:16] if self.path.is_file() else "missing"
        return {"backend": "replay", "replay_sha256": sha}

    def generate(self, prompt: Prompt, instance: Instance, benchmark: Benchmark) -> Generation:
        self.setup()
        assert self.outputs is not None
        if instance.id not in self.outputs:
            raise BackendError(f"replay file {self.path} has no line for id {instance.id!r}")
        return Generation(self.outputs[instance.id])
