"""The ``openai-chat`` kind: any MLLM behind the OpenAI chat API, with Reamo's prompts.

GPT-4o, or a vLLM / Ollama server (``-o base_url=http://host:port/v1``); the key comes from
``OPENAI_API_KEY`` (or the variable named by ``api_key_env``) and is never written to disk.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from muie_bench.systems.mllm.system import MllmSystem
from muie_bench.systems.reamo import ReamoSettings
from muie_bench.systems.registry import add_preset, register


class OpenAIChatSettings(ReamoSettings):
    """Reamo's settings with the chat backend fixed. (The replay / in-process keys stay
    accepted and unused: dropping them would change every recorded run's fingerprint.)"""

    backend: Literal["openai"] = "openai"
    model: str = Field("gpt-4o", description="model name sent to the chat endpoint")


@register("openai-chat")
class OpenAIChat(MllmSystem[OpenAIChatSettings]):
    """An MLLM behind the OpenAI chat API (OpenAI, vLLM, Ollama) with the same prompts."""


add_preset("gpt-4o", "openai-chat", "OpenAI GPT-4o (needs OPENAI_API_KEY)", model="gpt-4o")
add_preset("gpt-4o-mini", "openai-chat", "OpenAI GPT-4o mini (needs OPENAI_API_KEY)",
           model="gpt-4o-mini")
