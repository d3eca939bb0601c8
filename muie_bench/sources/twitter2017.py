"""Twitter-2017 multimodal NER (CoNLL-style ``IMGID:`` blocks) -> a T+I NER set.

A tweet is an ``IMGID:<image id>`` line, then one ``token<TAB>tag`` line per token, then a
blank line. Tags are ``O`` or ``B-``/``I-`` + PER, LOC, ORG, MISC. The text is the tokens
joined by single spaces (the source keeps no spacing); an entity is a ``B-X`` token and the
``I-X`` tokens after it (an ``I-X`` after ``O`` or another type starts an entity, as
conlleval reads it). The image is ``<image id>.jpg`` in the media folder. Twitter-2017 has no
boxes: entities carry text spans only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from muie_bench.sources.common import (
    BadRecord,
    Converted,
    Problems,
    Source,
    TokenText,
    find_media,
    read_lines,
)

SOURCE = Source(
    name="Twitter-2017",
    url="https://github.com/jefferyYu/UMT (data/twitter2017); images from the authors' link",
    licence="none stated; the UMT README says using the data means accepting the copyrights set "
    "by Twitter and the dataset providers",
    attribution="Yu et al., ACL 2020 (UMT); Lu et al., ACL 2018",
)
TYPES = ("LOC", "MISC", "ORG", "PER")


def _entities(tt: TokenText, tags: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cur: tuple[str, int] | None = None

    def close(end: int) -> None:
        if cur is not None:
            a, b = tt.char(cur[1], end)
            out.append({"id": f"e{len(out)}", "type": cur[0], "text": tt.text[a:b], "span": [a, b]})

    for i, tag in enumerate(tags):
        if tag == "O":
            close(i)
            cur = None
            continue
        bio, typ = tag[0], tag[2:]
        if bio == "B" or cur is None or cur[0] != typ:
            close(i)
            cur = (typ, i)
    close(len(tags))
    return out


def convert(srcs: list[Path], media: Path | None, problems: Problems, set_id: str) -> list[Converted]:
    cs = Converted(set_id, ["text", "image"], "ner", SOURCE,
                   "Twitter-2017 tweets with their images; entity spans in the space-joined tokens",
                   entity_types=list(TYPES), inputs=list(srcs))
    for path in srcs:
        block: list[tuple[int, str]] = []
        for n, line in [*read_lines(path), (-1, "")]:
            if line.strip():
                block.append((n, line))
                continue
            if block:
                inst = _tweet(path, block, media, problems, set_id, len(cs.instances))
                if inst is not None:
                    cs.instances.append(inst)
                block = []
    return [cs]


def _tweet(path: Path, block: list[tuple[int, str]], media: Path | None, problems: Problems,
           set_id: str, k: int) -> dict[str, Any] | None:
    first, head = block[0]
    try:
        if not head.startswith("IMGID:") or not head[6:].strip():
            raise BadRecord("IMGID", f"a tweet must start with an 'IMGID:<image id>' line, got {head[:40]!r}",
                            first)
        img_id = head[6:].strip()
        tokens: list[str] = []
        tags: list[str] = []
        for n, line in block[1:]:
            parts = line.split("\t")
            if len(parts) != 2 or not parts[0].strip():
                raise BadRecord("token", f"expected 'token<TAB>tag', got {line[:40]!r}", n)
            tag = parts[1].strip()
            if tag != "O" and not (tag[:2] in ("B-", "I-") and tag[2:] in TYPES):
                raise BadRecord("tag", f"unknown tag {tag!r} (O, or B-/I- + {', '.join(TYPES)})", n)
            tokens.append(" ".join(parts[0].split()))
            tags.append(tag)
        if not tokens:
            raise BadRecord("token", f"tweet {img_id!r} has no tokens", first)
        image = find_media(media, img_id, "image", "IMGID", (".jpg", ".jpeg", ".png"))
    except BadRecord as e:
        problems.bad(path, first, e)
        return None
    tt = TokenText(tokens)
    return {
        "id": f"{set_id}-{k:05d}", "set": set_id, "modalities": ["text", "image"], "task": "ner",
        "text": tt.text, "image": image,
        "gold": {"entities": _entities(tt, tags), "relations": [], "events": []},
        "meta": {"source": "twitter2017", "from": f"{path.name}:{first}", "image_id": img_id},
    }
