"""The systems API: generic settings, nested settings sections, the MLLM backend registry,
the lazy registry with entry points, ``--plugin`` and the documented plugin examples."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from muie_bench.errors import UserError
from muie_bench.systems import System, SystemSettings
from muie_bench.systems.registry import BUILTIN_KINDS, BUILTIN_PRESETS, build_system, kinds, presets

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "data" / "tiny"
EXAMPLES = ROOT / "docs" / "examples"


def _cli() -> list[str]:
    """The installed console script (not ``python -m``, which puts the cwd on sys.path)."""
    exe = Path(sys.executable).parent / "muie-bench"
    found = str(exe) if exe.is_file() else shutil.which("muie-bench")
    if found is None:
        pytest.skip("the muie-bench console script is not installed")
    return [found]


def _env(extra_path: Path | None = None) -> dict[str, str]:
    """The environment with PYTHONPATH = this checkout (+ ``extra_path``) only."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *([str(extra_path)] if extra_path else [])])
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None,
         timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_cli(), *args], cwd=cwd, env=env or _env(), capture_output=True,
                          text=True, timeout=timeout)


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


# --------------------------------------------------------------------------- generic kinds


def test_every_kind_is_generic_in_its_settings() -> None:
    all_kinds = kinds()
    for name in BUILTIN_KINDS:
        cls = all_kinds[name]
        args = [typing.get_args(b) for b in getattr(cls, "__orig_bases__", ())
                if typing.get_origin(b) is not None and issubclass(typing.get_origin(b), System)]
        assert args and args[0][0] is cls.Settings, name  # Settings comes from System[...]
        assert issubclass(cls.Settings, SystemSettings)
    pipe = build_system("text-spacy")
    assert type(pipe.settings).__name__ == "PipelineSettings"
    reamo = build_system("reamo", {"replay_path": str(TINY / "manifest.json"), "grounder": "none"})
    assert type(reamo.settings).__name__ == "ReamoSettings" and not hasattr(reamo, "s")


def test_no_kind_asserts_its_settings_type() -> None:
    sources = [*(ROOT / "muie_bench" / "systems").rglob("*.py"), ROOT / "tests" / "runner_support.py"]
    for p in sources:
        text = p.read_text(encoding="utf-8")
        assert "isinstance(self.settings" not in text and "isinstance(s, " not in text, p
        assert "self.s." not in text, p


# --------------------------------------------------------------------------- nested settings


def _public_sha(name: str, overrides: dict[str, object] | None = None) -> str:
    s = build_system(name, overrides)
    blob = json.dumps({"kind": s.kind, "settings": s.settings.public()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def test_recorded_settings_and_fingerprints_are_those_of_before() -> None:
    """Pinned from the code before nested sections became models: same run fingerprints."""
    assert _public_sha("pipeline-offline") == "850a992f1e645c52"
    assert _public_sha("asr-spacy") == "ccf32b83834a06c8"
    assert _public_sha("ocr-spacy") == "dcdb050163efcf4e"
    assert _public_sha("text-spacy") == "4f0e51cf79855ebe"
    assert _public_sha("reamo-replay", {"replay_path": "README.md"}) == "c5852ff679782746"
    assert _public_sha("gpt-4o") == "23e206471d8b2573"
    assert _public_sha("openai-chat", {"base_url": "http://h/v1", "asr_settings": {"beam_size": 2},
                                       "audio_mode": "transcript"}) == "a331b06ce2fef033"
    assert build_system("oracle").fingerprint() == "cb81f54012cef95d"
    assert build_system("empty").fingerprint() == "ebfbf83aeb123a2b"
    assert build_system("ocr-spacy").settings.public()["grounder"] == {"use_detector": False}


def test_chat_cache_key_parameters_are_unchanged() -> None:
    s = build_system("openai-chat", {"base_url": "http://h/v1", "audio_mode": "transcript",
                                     "asr_settings.beam_size": 2, "grounder": "none"})
    params = s.backend._params()  # type: ignore[attr-defined]
    assert params["asr"] == {"beam_size": 2}
    json.dumps(params)  # the cache key hashes it as JSON


def test_dotted_overrides_reach_the_components() -> None:
    s = build_system("ocr-spacy", {"grounder.asr.beam_size": 2, "grounder.min_ratio": 0.9,
                                   "text_ie.cue_window": 3})
    g = s.grounder  # type: ignore[attr-defined]
    assert g.min_ratio == 0.9 and g.use_detector is False  # the preset's section is kept
    from muie_bench.systems.pipeline.asr import WhisperASR

    asr = g.component("asr")
    assert asr.beam_size == 2 and asr.compute_type == WhisperASR().compute_type  # others: defaults
    assert s.ie.cue_window == 3  # type: ignore[attr-defined]
    assert s.settings.public()["grounder"] == {"use_detector": False, "asr": {"beam_size": 2},
                                              "min_ratio": 0.9}
    m = build_system("reamo", {"replay_path": "README.md", "grounder_settings.use_ocr": False})
    assert m.settings.public()["grounder_settings"] == {"use_ocr": False}


@pytest.mark.parametrize(("system", "override", "path", "known"), [
    ("pipeline-offline", "grounder.use_ocrr=1", "grounder.use_ocrr", "use_ocr"),
    ("pipeline-offline", "text_ie.modell=x", "text_ie.modell", "trigger_pos"),
    ("ocr-spacy", "grounder.asr.beamsize=1", "grounder.asr.beamsize", "beam_size"),
    ("reamo", "grounder_settings.detect.lables=[]", "grounder_settings.detect.lables", "labels"),
    ("gpt-4o", "asr_settings.modle=x", "asr_settings.modle", "compute_type"),
    ("oracle", "colour=red", "colour", "takes no settings"),
])
def test_a_settings_typo_is_one_line_naming_its_path(tmp_path: Path, system: str, override: str,
                                                     path: str, known: str) -> None:
    line = _one_error_line(_run(["run", "-s", system, "-o", override, "-b", str(TINY),
                                 "--out", str(tmp_path / "runs")], tmp_path))
    assert line.startswith(f"error: --system {system}: setting {path}: unknown setting"), line
    assert known in line
    assert not (tmp_path / "runs").exists()


def test_a_wrongly_typed_nested_setting_is_one_line() -> None:
    with pytest.raises(UserError, match=r"setting grounder\.min_ratio: Input should be a valid number"):
        build_system("pipeline-offline", {"grounder.min_ratio": "high"})


def test_settings_models_list_their_components_fields() -> None:
    from muie_bench.systems.pipeline.settings import COMPONENTS

    for model, component in COMPONENTS.items():
        fields = {f.name: f for f in dataclasses.fields(component)
                  if not f.name.startswith("_") and f.name != "trace"}
        assert set(model.model_fields) == set(fields), model.__name__
        made = model()
        for name, f in fields.items():
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            value = getattr(made, name)
            if hasattr(value, "model_dump"):
                assert default == {}, (model.__name__, name)
            else:
                assert value == default, (model.__name__, name)


# --------------------------------------------------------------------------- MLLM backends


def test_each_backend_has_only_its_own_settings() -> None:
    from muie_bench.systems.mllm.backends import get_backend
    from muie_bench.systems.mllm.system import MllmSettings

    replay = set(get_backend("replay").settings.model_fields)
    inproc = set(get_backend("inprocess").settings.model_fields)
    chat = set(get_backend("openai").settings.model_fields)
    assert replay == {"replay_path"}
    assert inproc == {"model_base", "model_path", "inprocess_entry", "inprocess_options"}
    assert "base_url" in chat and not chat & (replay | inproc)
    core = set(MllmSettings.model_fields)
    # reamo keeps every key it had (its recorded settings, hence fingerprints, are unchanged)
    assert set(kinds()["reamo"].Settings.model_fields) == core | replay | inproc | chat
    s = build_system("mllm", {"backend": "replay", "replay_path": "README.md", "grounder": "none"})
    # referring_settings (the full tier's) is recorded only when set: fingerprints of before
    assert set(s.settings.public()) == (core - {"referring_settings"}) | replay
    with pytest.raises(UserError, match=r"setting base_url: unknown setting"):
        build_system("mllm", {"backend": "replay", "replay_path": "README.md", "base_url": "x"})
    with pytest.raises(UserError, match=r"backend='nope': unknown MLLM backend \(known: "
                                        r"inprocess, openai, replay"):
        build_system("mllm", {"backend": "nope"})
    with pytest.raises(UserError, match="set -o backend=NAME"):
        build_system("mllm")


def test_a_backend_registered_in_one_file_runs_through_the_cli(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(EXAMPLES / "my_backend.py", work / "my_backend.py")
    assert str(work) not in _env()["PYTHONPATH"]
    proc = _run(["run", "--plugin", "my_backend", "--system", "my-backend", "-b", str(TINY),
                 "--out", "runs", "--resamples", "10"], work)
    assert proc.returncode == 0, proc.stderr
    (run_json,) = (work / "runs").rglob("run.json")
    record = json.loads(run_json.read_text())
    assert record["system"]["settings"]["entity_type"] == "PER"
    assert "base_url" not in record["system"]["settings"]
    assert record["system"]["components"]["backend"] == "rules"
    preds = [json.loads(x) for x in (run_json.parent / "predictions.jsonl").read_text().splitlines()]
    ti = next(p for p in preds if p["id"] == "ti-ner-0")
    assert ti["output"]["entities"] and ti["error"] is None
    line = _one_error_line(_run(["run", "--plugin", "my_backend", "--system", "mllm",
                                 "-o", "backend=rules", "-o", "entity_typ=X", "-b", str(TINY),
                                 "--out", "runs"], work))
    assert "setting entity_typ: unknown setting" in line and "entity_type" in line


# --------------------------------------------------------------------------- lazy registry


def test_builtin_tables_match_what_the_modules_register() -> None:
    from muie_bench.systems.registry import _PRESETS

    all_presets = presets()
    assert set(BUILTIN_KINDS) <= set(kinds())
    for name, module in BUILTIN_KINDS.items():
        assert kinds()[name].__module__.startswith(module.rsplit(".", 1)[0]), name
    assert {n for n, p in _PRESETS.items() if p.kind in BUILTIN_KINDS} == set(BUILTIN_PRESETS)
    assert set(BUILTIN_PRESETS) <= set(all_presets)


def test_a_lookup_imports_only_what_it_needs() -> None:
    code = ("import sys; from muie_bench.systems.registry import build_system; "
            "build_system('oracle'); "
            "print(sorted(m for m in sys.modules if m.startswith(('muie_bench.systems.pipeline', "
            "'muie_bench.systems.mllm', 'muie_bench.metrics'))))")
    out = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out.strip() == "[]"


def _broken_dist(site: Path) -> None:
    """A real installed distribution (dist-info on sys.path) with a broken and a good entry point."""
    info = site / "brokenplug-1.2.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenplug\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text(
        "[muie_bench.systems]\nbroken-kind = brokenplug_missing_module:Kind\n"
        "good-kind = goodplug_mod:GoodKind\n")
    (site / "goodplug_mod.py").write_text(
        "from muie_bench.systems import Annotation, Prediction, System, SystemSettings\n\n\n"
        "class GoodKind(System[SystemSettings]):\n"
        '    """Predicts nothing (entry point test)."""\n\n'
        "    def predict(self, instance, benchmark):\n"
        "        return Prediction(id=instance.id, output=Annotation())\n")


def test_a_broken_entry_point_is_one_warning_and_the_rest_works(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _broken_dist(site)
    env = _env(site)
    proc = _run(["systems"], tmp_path, env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    warnings = proc.stderr.strip().splitlines()
    assert len(warnings) == 1, proc.stderr
    assert warnings[0].startswith("warning: entry point 'broken-kind'")
    assert "brokenplug 1.2" in warnings[0] and "ModuleNotFoundError" in warnings[0]
    assert "good-kind" in proc.stdout and "oracle" in proc.stdout
    # a run asks for its kind only: the broken entry point is never loaded
    for system in ("oracle", "good-kind"):
        proc = _run(["run", "-s", system, "-b", str(TINY), "--out", str(tmp_path / "runs"),
                     "--resamples", "10"], tmp_path, env)
        assert proc.returncode == 0, proc.stderr
        assert "warning" not in proc.stderr and "Traceback" not in proc.stderr
    # asking for the broken kind itself: its warning, then one error line
    proc = _run(["run", "-s", "broken-kind", "-b", str(TINY), "--out", str(tmp_path / "runs")],
                tmp_path, env)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert lines[0].startswith("warning: entry point 'broken-kind'") and "brokenplug" in lines[0]
    assert lines[-1].startswith("error: --system 'broken-kind': unknown system")


# --------------------------------------------------------------------------- --plugin


def test_the_plugin_example_runs_from_its_directory(tmp_path: Path) -> None:
    """docs/examples/my_system.py, as a user runs it: from its folder, PYTHONPATH untouched."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(EXAMPLES / "my_system.py", work / "my_system.py")
    assert str(work) not in _env()["PYTHONPATH"]
    proc = _run(["systems", "--plugin", "my_system"], work)
    assert proc.returncode == 0, proc.stderr
    assert "my-kind" in proc.stdout and "my-kind-text" in proc.stdout
    proc = _run(["run", "--plugin", "my_system", "--system", "my-kind", "-b", str(TINY),
                 "--out", "runs", "--resamples", "10"], work)
    assert proc.returncode == 0, proc.stderr
    (scores,) = (work / "runs").rglob("scores.json")
    preds = [json.loads(x) for x in (scores.parent / "predictions.jsonl").read_text().splitlines()]
    ti = next(p for p in preds if p["id"] == "ti-ner-0")
    assert ti["output"]["entities"][0]["image_mask"] is not None
    proc = _run(["run-all", "--plugin", "my_system", "my-kind-text", "-b", str(TINY),
                 "--out", "runs", "--leaderboard-out", "lb"], work)
    assert proc.returncode == 0, proc.stderr
    assert (work / "lb" / "leaderboard.md").is_file()
    line = _one_error_line(_run(["run", "--plugin", "my_system", "--system", "my-kind",
                                 "-o", "min_lenght=3", "-b", str(TINY), "--out", "runs"], work))
    assert "setting min_lenght: unknown setting" in line and "min_length" in line


def test_plugin_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad_plugin.py").write_text("raise RuntimeError('boom at import')\n")
    line = _one_error_line(_run(["systems", "--plugin", "bad_plugin"], tmp_path))
    assert line == "error: --plugin 'bad_plugin': cannot import (RuntimeError: boom at import)"
    line = _one_error_line(_run(["systems", "--plugin", "no_such_plugin_xyz"], tmp_path))
    assert line.startswith("error: --plugin 'no_such_plugin_xyz': cannot import")
    (tmp_path / "clash.py").write_text(
        "from muie_bench.systems import System, SystemSettings, register\n\n\n"
        "@register('oracle')\nclass Mine(System[SystemSettings]):\n"
        "    def predict(self, instance, benchmark):\n        raise NotImplementedError\n")
    line = _one_error_line(_run(["systems", "--plugin", "clash.py"], tmp_path))
    assert "system kind 'oracle' is built in" in line


def test_readme_shows_the_tested_example_files() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for section, example in (("writing-a-system", "my_system.py"),
                             ("writing-an-mllm-backend", "my_backend.py")):
        body = readme.split(f"<!-- section: {section} -->")[1].split(f"<!-- /section: {section} -->")[0]
        code = body.split("```python\n")[1].split("```")[0]
        assert code == (EXAMPLES / example).read_text(encoding="utf-8"), example
    assert readme.index("<!-- section: writing-an-mllm-backend -->") < readme.index(
        "<!-- section: development -->")


def test_a_process_parallel_plugin_kind_runs_in_spawned_workers(tmp_path: Path) -> None:
    """Spawned workers unpickle the plugin's class: they import it from the same sys.path."""
    (tmp_path / "proc_kind.py").write_text(
        "import os\n\nfrom muie_bench.systems import Prediction, System, SystemSettings, register\n\n\n"
        "@register('proc-oracle')\nclass ProcOracle(System[SystemSettings]):\n"
        '    """The oracle in worker processes."""\n\n    parallelism = "process"\n\n'
        "    def predict(self, instance, benchmark):\n"
        "        return Prediction(id=instance.id, output=instance.gold.model_copy(deep=True),\n"
        "                          trace={'pid': os.getpid()})\n")
    proc = _run(["run", "--plugin", "proc_kind", "-s", "proc-oracle", "-j", "2", "-b", str(TINY),
                 "--out", "runs", "--resamples", "10"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    (pred,) = (tmp_path / "runs").rglob("predictions.jsonl")
    rows = [json.loads(x) for x in pred.read_text().splitlines()]
    assert len(rows) == 14 and all(r["error"] is None for r in rows)  # unpickled in workers
