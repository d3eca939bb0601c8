"""On-disk request cache of the chat backend: identical requests are answered from disk.

The key is the sha256 of the model name, the prompt hash, the sha256 of every attached
media file and the request parameters that change the answer (temperature, max_tokens,
how audio and video are sent). Each entry is one JSON file ``<dir>/<key[:2]>/<key>.json``
written atomically (temporary file + rename), so concurrent workers and killed runs never
leave a half-written entry. Only successful answers are stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def cache_key(model: str, prompt_sha256: str, media_sha256: list[str],
              params: dict[str, Any]) -> str:
    blob = json.dumps({"model": model, "prompt": prompt_sha256, "media": media_sha256,
                       "params": params}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


class RequestCache:
    """A directory of cached answers (see the module docstring)."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored entry, or None when absent or unreadable (a corrupt entry is a miss)."""
        p = self._path(key)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) and "text" in data else None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        p = self._path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(entry, f, ensure_ascii=False)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
