"""Instruction prompts of the MLLM systems, built from versioned template files.

A template is a JSON file in ``muie_bench/systems/prompt_templates/`` named
``<version>.json``. Its sha256 goes into the system fingerprint (see :func:`template_sha256`),
so changing a template changes the run's fingerprint. A prompt is the template's system
line plus one user message: the task instruction (label inventory from the benchmark
manifest), the grounding request when the instance has media, the text block when the
instance has text, and the list of attached media (sent by the backend).

Two layouts exist. ``reamo-v1`` (no ``inputs`` key): instruction with the labels inline, the
meta-response grounding request, ``Text: ...``, ``The image is attached.``. Templates with an
``inputs`` key (``reamo-authors-v1``): instruction, the ``candidates`` line on its own, the
grounding request, then one line per input (``Input Text: ...``, ``Input Image:``).
``label_style: "names"`` lists the labels under their natural names (the manifest's
``label_names``). A ``conversation`` (vicuna_v1 style) says how an in-process backend wraps
the turn into one string (:meth:`Prompt.as_text`); the chat backend sends system and user
apart and ignores it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from muie_bench.errors import UserError
from muie_bench.schema import MEDIA_FIELDS, Instance, SetSpec

DEFAULT_TEMPLATE = "reamo-v1"


@dataclass(frozen=True)
class Conversation:
    """A single-string conversation format: ``{system}{sep}{user}: {media tokens}\n{prompt}{sep}
    {assistant}:`` (vicuna_v1: ``... USER: <image>\nPROMPT ASSISTANT:``)."""

    name: str
    user: str
    assistant: str
    sep: str = " "
    media_tokens: tuple[tuple[str, str], ...] = ()

    def render(self, system: str, prompt: str, media: Sequence[str],
               tokens: dict[str, str] | None = None) -> str:
        """The whole turn; ``tokens`` replaces the template's media tokens (a model's own)."""
        own = dict(self.media_tokens)
        own.update(tokens or {})
        lead = "".join(own.get(m, "") for m in media)
        head = f"{self.user}: {lead}\n" if lead else f"{self.user}: "
        return f"{system}{self.sep}{head}{prompt}{self.sep}{self.assistant}:"


@dataclass(frozen=True)
class Prompt:
    """What a backend sends: a system line, the user text and the media to attach.

    ``media`` lists ``(modality, relative path)`` in the order image, audio, video.
    """

    system: str
    user: str
    media: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    template: str = DEFAULT_TEMPLATE
    conversation: Conversation | None = None

    def sha256(self) -> str:
        """Hash of the template version and the exact text sent (media are hashed apart)."""
        parts: list[Any] = [self.template, self.system, self.user, list(self.media)]
        if self.conversation is not None:
            parts.append(self.as_text())
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def as_text(self, tokens: dict[str, str] | None = None) -> str:
        """The turn as one string in the template's conversation format (its media tokens, or
        ``tokens``); without one: the system line, a blank line and the user text."""
        if self.conversation is None:
            return f"{self.system}\n\n{self.user}"
        order: list[str] = [m for m in ("image", "video", "audio") if m in dict(self.media)]
        return self.conversation.render(self.system, self.user, order, tokens)


def template_names() -> list[str]:
    """Versions of the bundled templates."""
    d = resources.files("muie_bench.systems").joinpath("prompt_templates")
    return sorted(p.name[: -len(".json")] for p in d.iterdir() if p.name.endswith(".json"))


@lru_cache(maxsize=8)
def _template_text(version: str) -> str:
    d = resources.files("muie_bench.systems").joinpath("prompt_templates")
    f = d.joinpath(f"{version}.json")
    if not f.is_file():
        raise UserError(
            f"template {version!r}: no such prompt template (known: {', '.join(template_names())})"
        )
    return f.read_text(encoding="utf-8")


def load_template(version: str = DEFAULT_TEMPLATE) -> dict[str, Any]:
    """The parsed template ``version``."""
    data: dict[str, Any] = json.loads(_template_text(version))
    return data


def template_sha256(version: str = DEFAULT_TEMPLATE) -> str:
    """sha256 of the template file's text (part of the system fingerprint)."""
    return hashlib.sha256(_template_text(version).encode()).hexdigest()


def _join(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def render_labels(task: str, spec: SetSpec, tpl: dict[str, Any]) -> str:
    """The label inventory as the prompt lists it; events as ``type (role, role)``. With
    ``label_style: "names"`` each label is its natural name (itself when it has none)."""
    name = spec.label_name if tpl.get("label_style") == "names" else str
    if task == "ee":
        parts = [f"{name(t)} ({', '.join(name(r) for r in roles)})" if roles else name(t)
                 for t, roles in spec.event_types.items()]
        out = "; ".join(parts)
    elif task == "re":
        out = ", ".join(name(r) for r in spec.relation_types)
    else:
        out = ", ".join(name(e) for e in spec.entity_types)
    return out or str(tpl["no_labels"])


def _conversation(tpl: dict[str, Any]) -> Conversation | None:
    c = tpl.get("conversation")
    if not c:
        return None
    return Conversation(name=str(c["name"]), user=str(c["user"]), assistant=str(c["assistant"]),
                        sep=str(c.get("sep", " ")),
                        media_tokens=tuple((str(k), str(v)) for k, v in c.get("media_tokens", {}).items()))


def build_prompt(instance: Instance, spec: SetSpec, version: str = DEFAULT_TEMPLATE) -> Prompt:
    """The prompt of ``instance`` under template ``version`` with the inventory of ``spec``."""
    tpl = load_template(version)
    task_tpl = tpl["tasks"][instance.task]
    media = [m for m in ("image", "video", "audio") if m in instance.modalities]
    sources = [tpl["source_names"][m] for m in ("text", "image", "video", "audio")
               if m in instance.modalities]
    media_words = _join([tpl["media_names"][m] for m in media])
    outline = task_tpl["outline"].format(media=media_words) if media else ""
    labels = render_labels(instance.task, spec, tpl)
    lines = [task_tpl["instruction"].format(sources=_join(sources), outline=outline, labels=labels)]
    attached = tuple((m, str(getattr(instance, m))) for m in MEDIA_FIELDS if m in media)
    if "inputs" in tpl:
        lines.append(task_tpl["candidates"].format(labels=labels))
        if media:
            lines.append(tpl["grounding"].format(media=media_words))
        for m in ("text", "image", "video", "audio"):
            if m in instance.modalities:
                lines.append(tpl["inputs"][m].format(text=instance.text))
        return Prompt(system=str(tpl["system"]), user="\n".join(lines), media=attached,
                      template=str(tpl["version"]), conversation=_conversation(tpl))
    if media:
        modules = " or ".join(f"<Module>{tpl['modules'][m]}</Module>" for m in media)
        lines.append(tpl["grounding"].format(media=media_words, modules=modules))
    if instance.text is not None:
        lines.append(tpl["text_block"].format(text=instance.text))
    if media:
        verb = "is" if len(media) == 1 else "are"
        lines.append(tpl["media_block"].format(media=media_words, verb=verb))
    return Prompt(system=str(tpl["system"]), user="\n".join(lines), media=attached,
                  template=str(tpl["version"]))


def prompts_for(benchmark: str, ids: list[str], version: str = DEFAULT_TEMPLATE) -> list[Prompt]:
    """The prompts of instances ``ids`` of ``benchmark`` (name or path); UserError for an
    unknown id or template."""
    from muie_bench.benchmark import load_benchmark

    bench = load_benchmark(benchmark).filter(ids=ids)
    load_template(version)
    return [build_prompt(bench.get(i), bench.manifest.set(bench.get(i).set), version) for i in ids]
