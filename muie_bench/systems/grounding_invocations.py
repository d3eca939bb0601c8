"""Carry out grounding invocations: phrase -> mask / mask track / time spans, attached to mentions.

A **grounder** has one method (the same as the pipeline's ``BuiltinGrounder``)::

    ground(modality, phrase, mention_type, instance, benchmark)
        -> RLE (image) | VideoTrack (video) | list[(start_s, end_s)] (audio) | None (not found)

:class:`HttpGrounder` reaches a SEEM-like referring-segmentation server (image, video) and
a SHAS-like audio segmentation server over HTTP. The contract (one POST per phrase, JSON
both ways; UTF-8; HTTP 200 on success, any other status is an error):

request::

    {"modality": "image" | "video" | "audio",
     "text": "<phrase to ground>", "label": "<entity type>" | null,
     "instance_id": "<id>",
     "media": {"path": "<absolute path>", "sha256": "<hex>", "mime": "<type>",
               "data": "<base64 of the file>"}}

response::

    image: {"mask": {"size": [h, w], "counts": "<COCO RLE>"} | null}   size = the image's
    video: {"track": {"fps": <float>, "frames": {"<frame index>": <RLE>, ...}} | null}
    audio: {"segments": [[start_s, end_s], ...]}                     [] = not found

``media.data`` is left out when ``send_media="path"`` (the server reads the path itself).
"""

from __future__ import annotations

import base64
import json
import mimetypes
import re
import threading
import time
import urllib.error
import urllib.request
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import ValidationError

from muie_bench.errors import UserError
from muie_bench.schema import RLE, Annotation, Instance, Mention, VideoTrack

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark
    from muie_bench.systems.parse import Invocation

MediaModality = Literal["image", "video", "audio"]
Grounding = RLE | VideoTrack | list[tuple[float, float]] | None


class Grounder(Protocol):
    def ground(
        self, modality: MediaModality, phrase: str, mention_type: str | None,
        instance: Instance, benchmark: Benchmark,
    ) -> Grounding: ...


class GrounderError(Exception):
    """A grounder call failed or answered outside the contract (recorded per invocation)."""


@lru_cache(maxsize=256)
def file_sha256(path: str) -> str:
    """sha256 hex of a file (cached per path for the process)."""
    from muie_bench.benchmark import sha256_file

    return sha256_file(Path(path))


class HttpGrounder:
    """SEEM-like (image, video) and SHAS-like (audio) grounding servers over HTTP."""

    def __init__(
        self, image_url: str | None = None, video_url: str | None = None,
        audio_url: str | None = None, timeout: float = 60.0,
        send_media: Literal["inline", "path"] = "inline",
    ) -> None:
        self.urls = {"image": image_url, "video": video_url or image_url, "audio": audio_url}
        self.timeout = timeout
        self.send_media = send_media

    def ground(
        self, modality: MediaModality, phrase: str, mention_type: str | None,
        instance: Instance, benchmark: Benchmark,
    ) -> Grounding:
        url = self.urls[modality]
        if not url:
            raise GrounderError(f"no {modality}_grounder_url is set")
        rel = getattr(instance, modality)
        path = benchmark.media.path(rel)
        media: dict[str, Any] = {
            "path": str(path), "sha256": file_sha256(str(path)),
            "mime": mimetypes.guess_type(path.name)[0] or "application/octet-stream",
        }
        if self.send_media == "inline":
            media["data"] = base64.b64encode(path.read_bytes()).decode()
        body = json.dumps({"modality": modality, "text": phrase, "label": mention_type,
                           "instance_id": instance.id, "media": media}).encode()
        req = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                answer = json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            raise GrounderError(f"{url}: HTTP {e.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            raise GrounderError(f"{url}: {getattr(e, 'reason', e)}") from None
        except json.JSONDecodeError:
            raise GrounderError(f"{url}: response is not JSON") from None
        if not isinstance(answer, dict):
            raise GrounderError(f"{url}: response is not a JSON object")
        return _read_answer(modality, answer, url, instance, benchmark)


def _read_answer(
    modality: str, answer: dict[str, Any], url: str, instance: Instance, benchmark: Benchmark
) -> Grounding:
    try:
        if modality == "image":
            if answer.get("mask") is None:
                return None
            mask = RLE.model_validate(answer["mask"])
            size = benchmark.media.image_size(str(instance.image))
            if tuple(mask.size) != size:
                raise GrounderError(f"{url}: mask size {list(mask.size)} != image size {list(size)}")
            return mask
        if modality == "video":
            if answer.get("track") is None:
                return None
            track = VideoTrack.model_validate(answer["track"])
            return track if track.frames else None
        segs = answer.get("segments")
        if not isinstance(segs, list):
            raise GrounderError(f"{url}: response has no 'segments' list")
        spans = [(float(s), float(e)) for s, e in segs]
        Mention(id="x", text="x", audio_spans=spans)  # same checks as the schema
        return spans or None
    except (ValidationError, TypeError, ValueError) as e:
        msg = str(e).splitlines()[0][:120]
        raise GrounderError(f"{url}: {modality} response outside the contract: {msg}") from None


class SerialGrounder:
    """One call at a time into a grounder that keeps shared state (the built-in one)."""

    def __init__(self, inner: Grounder) -> None:
        self.inner = inner
        self.lock = threading.Lock()

    def ground(
        self, modality: MediaModality, phrase: str, mention_type: str | None,
        instance: Instance, benchmark: Benchmark,
    ) -> Grounding:
        with self.lock:
            return self.inner.ground(modality, phrase, mention_type, instance, benchmark)


def make_grounder(settings: dict[str, Any]) -> Grounder | None:
    """The grounder chosen by ``settings['grounder']``: ``builtin`` (the pipeline's),
    ``http`` (:class:`HttpGrounder` with the ``*_grounder_url`` settings), ``referring``
    (in-process OWLv2/Grounding DINO + SAM with ``referring_settings``, the full tier) or
    ``none``."""
    kind = settings.get("grounder", "builtin")
    if kind == "none":
        return None
    if kind == "http":
        if not any(settings.get(f"{m}_grounder_url") for m in ("image", "video", "audio")):
            raise UserError("grounder=http needs image_grounder_url, video_grounder_url or "
                            "audio_grounder_url (-o image_grounder_url=http://host:port/ground)")
        return HttpGrounder(settings.get("image_grounder_url"), settings.get("video_grounder_url"),
                            settings.get("audio_grounder_url"),
                            float(settings.get("grounder_timeout", 60.0)),
                            settings.get("grounder_send_media", "inline"))
    if kind == "builtin":
        try:
            from muie_bench.systems.pipeline.grounders import BuiltinGrounder
        except ImportError as e:
            raise UserError(
                f"grounder=builtin: the built-in grounders cannot be loaded ({e}); install the "
                "'offline' extra, or use -o grounder=http with -o image_grounder_url=... / "
                "-o audio_grounder_url=..., or -o grounder=none"
            ) from None
        return SerialGrounder(BuiltinGrounder.from_settings(
            dict(settings.get("grounder_settings") or {})))
    if kind == "referring":
        from muie_bench.systems.pipeline.full.referring import ReferringSegmenter
        from muie_bench.systems.pipeline.full.settings import ReferringSettings

        rs = settings.get("referring_settings") or {}
        return SerialGrounder(ReferringSegmenter(
            rs if isinstance(rs, ReferringSettings) else ReferringSettings.model_validate(rs),
            str(settings.get("device", "auto"))))
    raise UserError(f"grounder={kind!r}: expected builtin, http, referring or none")


# --------------------------------------------------------------------------- attaching


def norm_phrase(s: str) -> str:
    """casefold, collapse white space, strip surrounding punctuation."""
    return re.sub(r"\s+", " ", s.casefold()).strip().strip(".,;:!?\"'()[]{}“”‘’").strip()


def match_mentions(target: str, mentions: list[Mention]) -> list[Mention]:
    """Mentions named by ``target``: equal after :func:`norm_phrase`; else the longest
    mentions contained in the target or containing it; else none."""
    t = norm_phrase(target)
    if not t:
        return []
    exact = [m for m in mentions if norm_phrase(m.text) == t]
    if exact:
        return exact
    near = [m for m in mentions if norm_phrase(m.text) and
            (norm_phrase(m.text) in t or t in norm_phrase(m.text))]
    if not near:
        return []
    best = max(len(norm_phrase(m.text)) for m in near)
    return [m for m in near if len(norm_phrase(m.text)) == best]


def _attach(m: Mention, modality: str, g: Grounding) -> None:
    if modality == "image" and isinstance(g, RLE):
        m.image_mask = g
    elif modality == "video" and isinstance(g, VideoTrack):
        m.video_track = g
    elif modality == "audio" and isinstance(g, list):
        m.audio_spans = sorted(set((m.audio_spans or []) + g))


def apply_groundings(
    ann: Annotation, invocations: list[Invocation], grounder: Grounder | None,
    instance: Instance, benchmark: Benchmark, mode: Literal["invoked", "all"] = "invoked",
) -> list[dict[str, Any]]:
    """Ground the mentions of ``ann`` in place; returns one trace record per grounder call
    or skipped invocation.

    ``invoked``: only the invocations' targets (an invocation without a module is resolved
    when the instance has exactly one medium). ``all``: also every entity in every medium
    of the instance, and every trigger in audio, that no invocation grounded. The grounder
    is called once per (modality, phrase); a failing call is recorded and grounds nothing,
    except a :class:`UserError` (missing weights or media), which fails the instance.
    """
    media = [m for m in ("image", "video", "audio") if m in instance.modalities]
    mentions = ann.mentions()
    records: list[dict[str, Any]] = []
    done: dict[tuple[str, str], Grounding] = {}
    covered: set[tuple[str, str]] = set()

    def call(modality: str, phrase: str, targets: list[Mention], source: str,
             module: str = "") -> None:
        rec: dict[str, Any] = {"source": source, "module": module, "modality": modality,
                               "target": phrase, "mentions": [m.id for m in targets]}
        records.append(rec)
        key = (modality, norm_phrase(phrase))
        if grounder is None:
            rec["error"] = "no grounder (grounder=none)"
            return
        t0 = time.perf_counter()
        if key not in done:
            try:
                done[key] = grounder.ground(modality, phrase,  # type: ignore[arg-type]
                                            targets[0].type if targets else None,
                                            instance, benchmark)
            except UserError:
                raise  # a setup or input problem (missing weights, media): fails the instance
            except Exception as e:  # one failed grounder call grounds nothing and is recorded
                rec["error"] = str(e) if isinstance(e, GrounderError) else \
                    f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}".rstrip(": ")
                done[key] = None
                return
            finally:
                rec["seconds"] = round(time.perf_counter() - t0, 6)
        result = done[key]
        rec["found"] = result is not None
        for m in targets:
            covered.add((modality, m.id))
            if result is not None:
                _attach(m, modality, result)

    for inv in invocations:
        modality = inv.modality or (media[0] if len(media) == 1 and not inv.module else None)
        rec_base = {"source": "invocation", "module": inv.module, "target": inv.target}
        if modality is None:
            records.append({**rec_base, "error": f"unknown module {inv.module!r}"})
            continue
        if modality not in media:
            records.append({**rec_base, "modality": modality,
                            "error": f"{modality} is not an input of this instance"})
            continue
        targets = match_mentions(inv.target, mentions)
        if not targets:
            records.append({**rec_base, "modality": modality,
                            "error": "target names no extracted mention"})
            continue
        call(modality, inv.target, targets, "invocation", inv.module)
    if mode == "all":
        triggers = {e.trigger.id for e in ann.events}
        for modality in media:
            for m in mentions:
                if (modality, m.id) in covered or (m.id in triggers and modality != "audio"):
                    continue
                call(modality, m.text, [m], "auto")
    return records

