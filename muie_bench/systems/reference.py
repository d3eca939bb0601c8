"""Reference systems that anchor the harness: ``oracle`` (every metric 100), ``empty`` (0)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from muie_bench.schema import Annotation, Event, Instance, Mention, Prediction
from muie_bench.systems.base import System, SystemSettings
from muie_bench.systems.registry import register

if TYPE_CHECKING:
    from muie_bench.benchmark import Benchmark


@register("oracle")
class Oracle(System[SystemSettings]):
    """Echoes the gold annotation: every metric must be 100."""

    def predict(self, instance: Instance, benchmark: Benchmark) -> Prediction:
        return Prediction(id=instance.id, output=copy_annotation(instance.gold))


M = TypeVar("M", bound=BaseModel)
_new = object.__new__
_set = object.__setattr__


def _shallow(m: M, d: dict[str, Any] | None = None) -> M:
    """A new model of ``m``'s class with a copy of its fields (or ``d``), not validated again
    (what ``model_construct`` sets up, without its per-field work)."""
    out = _new(type(m))
    _set(out, "__dict__", dict(m.__dict__) if d is None else d)
    _set(out, "__pydantic_fields_set__", set(m.__pydantic_fields_set__))
    _set(out, "__pydantic_extra__", None)
    _set(out, "__pydantic_private__", None)
    return out


def _mention(m: Mention) -> Mention:
    out = _shallow(m)
    d = out.__dict__
    if m.image_mask is not None:
        d["image_mask"] = _shallow(m.image_mask)
    if m.audio_spans is not None:
        d["audio_spans"] = list(m.audio_spans)
    if m.video_track is not None:
        track = d["video_track"] = _shallow(m.video_track)
        track.__dict__["frames"] = {f: _shallow(r) for f, r in m.video_track.frames.items()}
    return out


def _event(e: Event) -> Event:
    out = _shallow(e)
    out.__dict__["trigger"] = _mention(e.trigger)
    out.__dict__["arguments"] = [_shallow(a) for a in e.arguments]
    return out


def copy_annotation(ann: Annotation) -> Annotation:
    """A deep copy of ``ann`` (every model, list and dict copied; strings, numbers and tuples
    shared, being immutable) without pydantic's generic deep copy (``copy.deepcopy``):
    the oracle's whole prediction cost. The fields were validated when ``ann`` was made."""
    out = _shallow(ann)
    d = out.__dict__
    d["entities"] = [_mention(m) for m in ann.entities]
    d["relations"] = [_shallow(r) for r in ann.relations]
    d["events"] = [_event(e) for e in ann.events]
    return out


@register("empty")
class Empty(System[SystemSettings]):
    """Predicts nothing: every metric must be 0."""

    def predict(self, instance: Instance, benchmark: Benchmark) -> Prediction:
        return Prediction(id=instance.id, output=Annotation())
