"""Backends of the MLLM systems (``reamo``, ``openai-chat``, ``mllm``) and their shared system class.

A backend turns a :class:`muie_bench.systems.prompts.Prompt` into the model's raw text:
``openai`` (an OpenAI-compatible chat endpoint, :mod:`.openai_chat`), ``replay`` (recorded
outputs), ``inprocess`` (a model loaded through a user-given Python entry point). What a
backend plugin needs is importable from here: :func:`register_backend`,
:class:`BackendSettings`, :class:`Generation`, :class:`BackendError` and :class:`Prompt`.
"""

from muie_bench.systems.mllm.backends import BackendSettings, register_backend
from muie_bench.systems.mllm.base import BackendError, Generation
from muie_bench.systems.prompts import Prompt

__all__ = ["BackendError", "BackendSettings", "Generation", "Prompt", "register_backend"]
