"""Pluggable systems: the registry, reference systems, MLLM wrappers and pipelines.

What a plugin needs is importable from here: :class:`System` (generic in its settings),
:class:`SystemSettings`, :func:`register`, :func:`add_preset`, the data types
(:class:`Instance`, :class:`Prediction`, :class:`Annotation`, :class:`Mention`,
:class:`RLE`, :class:`Benchmark`) and the mask API :mod:`masks` (``masks.encode`` /
``decode`` / ``area`` / ``bbox`` / ``iou`` / ``merge``). MLLM backends:
:mod:`muie_bench.systems.mllm`.
"""

from muie_bench import masks
from muie_bench.benchmark import Benchmark
from muie_bench.schema import RLE, Annotation, Argument, Event, Instance, Mention, Prediction, Relation
from muie_bench.systems.base import NestedSettings, System, SystemSettings
from muie_bench.systems.registry import add_preset, build_system, kinds, presets, register

__all__ = [
    "RLE", "Annotation", "Argument", "Benchmark", "Event", "Instance", "Mention", "NestedSettings",
    "Prediction", "Relation", "System", "SystemSettings", "add_preset", "build_system", "kinds",
    "masks", "presets", "register",
]
