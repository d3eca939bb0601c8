"""Reading JSON Lines files with ``file:line: field: message`` errors.

One reader for every ``.jsonl`` the harness reads (predictions, instance scores). Lines
are numbered from 1 and counted in bytes split at ``\\n``; blank lines are skipped (but
counted). Errors are :class:`~muie_bench.errors.UserError` naming the file and line:

- invalid UTF-8: ``file:line: (encoding): invalid UTF-8 (byte 0x.. at column N)``;
- not a valid record: ``file:line: field: message`` (the first pydantic error, ``(and N
  more)`` when there are several).

The last line may lack its newline. ``torn`` says what such a line is: ``"keep"`` (an
ordinary line: files written by hand or other tools), or ``"skip"`` (a write cut short by
a crash: an append-only file such as ``predictions.jsonl`` hands every line to the kernel
in one ``write`` ending with its newline, so a last line without one is unfinished and is
ignored whatever it holds).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ValidationError

from muie_bench.errors import UserError

M = TypeVar("M", bound=BaseModel)
Torn = Literal["keep", "skip"]


@dataclass(frozen=True)
class Line:
    """One non-blank line: its number (from 1), its text and its byte range in the file."""

    n: int
    text: str
    start: int
    end: int


def decode_line(raw: bytes, where: str) -> str:
    """``raw`` as UTF-8, or a UserError ``where: (encoding): ...`` naming the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(
            f"{where}: (encoding): invalid UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})"
        ) from None


def iter_lines(path: Path, torn: Torn = "keep") -> Iterator[Line]:
    """Every non-blank line of ``path`` decoded as UTF-8 (see the module doc for ``torn``)."""
    pos = 0
    with open(path, "rb") as f:
        for n, raw in enumerate(f, start=1):
            start, pos = pos, pos + len(raw)
            if not raw.endswith(b"\n") and torn == "skip":
                return
            if not raw.strip():
                continue
            yield Line(n, decode_line(raw, f"{path}:{n}"), start, pos)


_FIELD_PREFIX = re.compile(r"^(?P<field>[a-z_]+(?:\.[a-z_]+|\[\d+\])+): (?P<msg>.+)$", re.S)


def validation_line(e: ValidationError, where: str, what: str) -> str:
    """The first pydantic error as ``where: field: message``.

    The field is the error's location; a whole-record check whose message starts with
    ``field.path: `` names it itself; ``(what)`` when neither gives one.
    """
    errors = e.errors()
    first = errors[0]
    loc = ""
    for part in first["loc"]:
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    msg = str(first["msg"]).removeprefix("Value error, ")
    named = _FIELD_PREFIX.match(msg)
    if named and not loc:
        loc, msg = named["field"], named["msg"]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {loc or f'({what})'}: {msg}{more}"


def parse_line(line: Line, model: type[M], path: Path, what: str) -> M:
    """``line`` validated as ``model``; a UserError ``file:line: field: message`` if not."""
    try:
        return model.model_validate_json(line.text)
    except ValidationError as e:
        raise UserError(validation_line(e, f"{path}:{line.n}", what)) from None


def read_models(path: Path, model: type[M], what: str, torn: Torn = "keep") -> Iterator[tuple[int, M]]:
    """``(line number, record)`` for every non-blank line of ``path``, validated as ``model``."""
    for line in iter_lines(path, torn):
        yield line.n, parse_line(line, model, path, what)


def read_json_file(path: Path, model: type[M], what: str) -> M:
    """A whole-file JSON document (``run.json``, ``scores.json``) validated as ``model``.

    Invalid UTF-8 and JSON syntax errors name their line; schema errors are reported on
    line 1 (the document is one record).
    """
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        n = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1)
        raise UserError(
            f"{path}:{n}: (encoding): invalid UTF-8 (byte 0x{data[e.start]:02x} at column {col + 1})"
        ) from None
    try:
        return model.model_validate_json(text)
    except ValidationError as e:
        first = e.errors()[0]
        n = 1
        if first["type"] == "json_invalid":
            try:
                json.loads(text)
            except json.JSONDecodeError as je:
                n = je.lineno
        raise UserError(validation_line(e, f"{path}:{n}", what)) from None
