"""Backends of the MLLM systems (``reamo``, ``openai-chat``) and their shared system class.

A backend turns a :class:`muie_bench.systems.prompts.Prompt` into the model's raw text:
``openai_chat`` (an OpenAI-compatible chat endpoint), ``replay`` (recorded outputs),
``inprocess`` (a model loaded through a user-given Python entry point).
"""
