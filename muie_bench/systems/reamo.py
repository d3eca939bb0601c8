"""The ``reamo`` kind: the paper's MLLM (Reamo, arXiv 2406.03701) behind any backend.

The backend follows the settings: ``replay_path`` (recorded outputs), ``base_url`` (an
OpenAI-compatible server running Reamo) or ``inprocess_entry`` + ``model_base`` +
``model_path`` (the authors' code loaded in this process). With none of them,
``--system reamo`` stops at once with one line naming these settings.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from muie_bench.systems.mllm.inprocess import InProcessSettings
from muie_bench.systems.mllm.openai_chat import ChatBackendSettings
from muie_bench.systems.mllm.replay import ReplaySettings
from muie_bench.systems.mllm.system import MllmSettings, MllmSystem
from muie_bench.systems.registry import add_preset, register


class ReamoSettings(MllmSettings, ChatBackendSettings, ReplaySettings, InProcessSettings):
    """The MLLM settings plus those of the three built-in backends."""

    backend: Literal["auto", "openai", "replay", "inprocess"] = Field(
        "auto", description="auto: replay if replay_path, openai if base_url, inprocess if "
        "inprocess_entry or model_path")


@register("reamo")
class Reamo(MllmSystem[ReamoSettings]):
    """Reamo (the paper's MLLM): prompts, meta-response invocations, grounders; backend by settings."""


add_preset("reamo-replay", "reamo", "Reamo outputs replayed from -o replay_path=FILE.jsonl",
           backend="replay")
