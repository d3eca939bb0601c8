"""Pluggable systems: the registry, reference systems, MLLM wrappers and pipelines."""

from muie_bench.systems.base import System, SystemSettings
from muie_bench.systems.registry import add_preset, build_system, kinds, presets, register

__all__ = ["System", "SystemSettings", "add_preset", "build_system", "kinds", "presets", "register"]
