"""The bad-input catalogue: every error a user can cause, through the real CLI.

Each case builds a small world (a copy of the tiny benchmark, predictions, runs) in a
temporary folder, runs ``muie-bench`` in a subprocess from there and asserts: a non-zero
exit, no traceback, the error on stderr as one line (``validate`` prints one line per
problem and a count) that names the file, flag or setting, and nothing changed in the
world outside the command's output folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "data" / "tiny"


@dataclass(frozen=True)
class Case:
    """``argv`` after ``muie-bench``; ``names``: what the error line must contain."""

    argv: list[str]
    names: str
    setup: Callable[[Path], None] | None = None
    #: the command's own output folder (relative to the world): changes there are allowed
    out: str | None = None
    #: ``validate`` style: several ``file:line: field: message`` lines and a count
    problems: bool = False
    env: dict[str, str] | None = None


def _instances(w: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in (w / "tiny" / "instances.jsonl").read_text().splitlines()]


def _write_instances(w: Path, rows: list[dict[str, object]], rehash: bool = True) -> None:
    text = "".join(json.dumps(r) + "\n" for r in rows)
    (w / "tiny" / "instances.jsonl").write_text(text)
    if rehash:
        _rehash(w)


def _rehash(w: Path) -> None:
    mpath = w / "tiny" / "manifest.json"
    m = json.loads(mpath.read_text())
    m["files"]["instances.jsonl"] = hashlib.sha256(
        (w / "tiny" / "instances.jsonl").read_bytes()).hexdigest()
    mpath.write_text(json.dumps(m))


def _manifest(w: Path) -> dict[str, object]:
    m: dict[str, object] = json.loads((w / "tiny" / "manifest.json").read_text())
    return m


def _write_manifest(w: Path, m: dict[str, object]) -> None:
    (w / "tiny" / "manifest.json").write_text(json.dumps(m))


def _oracle_predictions(w: Path) -> list[dict[str, object]]:
    return [{"id": r["id"], "output": r["gold"]} for r in _instances(w)]


def _write_predictions(w: Path, rows: list[dict[str, object]] | None = None, text: str | None = None) -> None:
    if text is None:
        text = "".join(json.dumps(r) + "\n" for r in (rows if rows is not None else _oracle_predictions(w)))
    (w / "preds.jsonl").write_text(text)


# --------------------------------------------------------------------------- world edits


def bad_utf8_instances(w: Path) -> None:
    p = w / "tiny" / "instances.jsonl"
    lines = p.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"Velto", b"Ve\xffto", 1) if b"Velto" in lines[2] else b'{"id": "\xff"}\n'
    p.write_bytes(b"".join(lines))
    _rehash(w)


def bad_utf8_manifest(w: Path) -> None:
    p = w / "tiny" / "manifest.json"
    p.write_bytes(p.read_bytes().replace(b'"name"', b'"n\xe9me"', 1))


def instances_missing(w: Path) -> None:
    (w / "tiny" / "instances.jsonl").unlink()


def instances_dir(w: Path) -> None:
    (w / "tiny" / "instances.jsonl").unlink()
    (w / "tiny" / "instances.jsonl").mkdir()


def bad_utf8_predictions(w: Path) -> None:
    _write_predictions(w)
    p = w / "preds.jsonl"
    p.write_bytes(p.read_bytes().replace(b'"id"', b'"\xffid"', 1))


def predictions(w: Path) -> None:
    _write_predictions(w)


def nan_gold_span(w: Path) -> None:
    p = w / "tiny" / "instances.jsonl"
    text = p.read_text()
    new = re.sub(r'"audio_spans": \[\[[0-9.]+', '"audio_spans": [[NaN', text, count=1)
    assert new != text
    p.write_text(new)
    _rehash(w)


def nan_pred_span(w: Path) -> None:
    rows = _oracle_predictions(w)
    text = "".join(json.dumps(r) + "\n" for r in rows)
    # every audio span of the oracle becomes [NaN, NaN]
    text = re.sub(r'"audio_spans": \[\[[^\]]*\]', '"audio_spans": [[NaN, NaN]', text)
    assert "NaN" in text
    _write_predictions(w, text=text)


def inf_in_trace(w: Path) -> None:
    rows = _oracle_predictions(w)
    rows[0]["trace"] = {"seconds": "INF"}
    _write_predictions(w, text="".join(json.dumps(r) + "\n" for r in rows).replace('"INF"', "Infinity"))


def truncated_png(w: Path) -> None:
    p = w / "tiny" / "media" / "ti-ner-0.png"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    m = _manifest(w)
    m["files"]["media/ti-ner-0.png"] = hashlib.sha256(p.read_bytes()).hexdigest()  # type: ignore[index]
    _write_manifest(w, m)


def manifest_abs_path(w: Path) -> None:
    m = _manifest(w)
    m["files"]["/etc/passwd"] = hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest()  # type: ignore[index]
    _write_manifest(w, m)


def manifest_dotdot(w: Path) -> None:
    (w / "secret.txt").write_text("secret\n")
    m = _manifest(w)
    m["files"]["media/../../secret.txt"] = hashlib.sha256(b"secret\n").hexdigest()  # type: ignore[index]
    _write_manifest(w, m)


def media_symlink_out(w: Path) -> None:
    (w / "secret.txt").write_text("secret\n")
    os.symlink(w / "secret.txt", w / "tiny" / "media" / "extra.txt")
    m = _manifest(w)
    m["files"]["media/extra.txt"] = hashlib.sha256(b"secret\n").hexdigest()  # type: ignore[index]
    _write_manifest(w, m)


def set_not_in_manifest(w: Path) -> None:
    rows = _instances(w)
    rows[0]["set"] = "zz-ner"
    _write_instances(w, rows)


def a_file(w: Path) -> None:
    (w / "file.txt").write_text("not a folder\n")


def unknown_pred_id(w: Path) -> None:
    rows = _oracle_predictions(w)
    rows[0]["id"] = "no-such-instance"
    _write_predictions(w, rows)


def duplicate_pred_id(w: Path) -> None:
    rows = _oracle_predictions(w)
    _write_predictions(w, [*rows, rows[0]])


def malformed_pred_line(w: Path) -> None:
    _write_predictions(w, text=json.dumps(_oracle_predictions(w)[0]) + "\n{not json\n")


def bad_rle_pred(w: Path) -> None:
    rows = _oracle_predictions(w)
    rows[0]["output"]["entities"][0]["image_mask"]["counts"] = "!!!"  # type: ignore[index]
    _write_predictions(w, rows)


def wrong_size_pred(w: Path) -> None:
    rows = _oracle_predictions(w)
    rows[0]["output"]["entities"][0]["image_mask"] = {"size": [2, 2], "counts": "04"}  # type: ignore[index]
    _write_predictions(w, rows)


def runs_file(w: Path) -> None:
    (w / "runs.txt").write_text("x\n")


def not_a_run(w: Path) -> None:
    (w / "notarun").mkdir()


def plugin_broken(w: Path) -> None:
    (w / "brokenplugin.py").write_text("raise RuntimeError('boom at import')\n")


T = ["-b", "tiny"]
CASES: dict[str, Case] = {
    # --- usage errors (typer's bundled click)
    "unknown-option": Case(["run", "--bogus"], "--bogus"),
    "unknown-command": Case(["nosuch"], "nosuch"),
    "unknown-data-command": Case(["data", "nosuch"], "nosuch"),
    "missing-system": Case(["run"], "--system"),
    "limit-not-int": Case(["run", "-s", "oracle", "--limit", "abc", *T], "--limit"),
    "workers-not-int": Case(["run", "-s", "oracle", "-j", "many", *T], "--workers"),
    "score-seed-negative": Case(["score", "preds.jsonl", *T, "--seed", "-1"], "--seed", predictions),
    "score-resamples-negative": Case(["score", "preds.jsonl", *T, "--resamples", "-1"], "--resamples",
                                     predictions),
    "score-tau-out-of-range": Case(["score", "preds.jsonl", *T, "--tau", "2"], "--tau", predictions),
    "run-seed-negative": Case(["run", "-s", "oracle", *T, "--seed", "-1", "--out", "o"], "--seed", out="o"),
    "run-timeout-nan": Case(["run", "-s", "oracle", *T, "--timeout", "nan", "--out", "o"], "--timeout",
                            out="o"),
    "run-timeout-inf": Case(["run", "-s", "oracle", *T, "--timeout", "inf", "--out", "o"], "--timeout",
                            out="o"),
    "run-timeout-negative": Case(["run", "-s", "oracle", *T, "--timeout", "-1", "--out", "o"], "--timeout",
                                 out="o"),
    "run-workers-zero": Case(["run", "-s", "oracle", *T, "-j", "0", "--out", "o"], "--workers", out="o"),
    "run-limit-negative": Case(["run", "-s", "oracle", *T, "--limit", "-1", "--out", "o"], "--limit",
                               out="o"),
    # --- selections
    "sets-comma-only": Case(["run", "-s", "oracle", *T, "--sets", ",", "--out", "o"], "--sets", out="o"),
    "sets-unknown": Case(["run", "-s", "oracle", *T, "--sets", "zz-ner", "--out", "o"], "zz-ner", out="o"),
    "modalities-unknown": Case(["run", "-s", "oracle", *T, "--modalities", "T+X", "--out", "o"],
                               "--modalities", out="o"),
    "tasks-unknown": Case(["run", "-s", "oracle", *T, "--tasks", "qa", "--out", "o"], "--tasks", out="o"),
    # --- systems and settings
    "system-unknown": Case(["run", "-s", "nosuch", *T, "--out", "o"], "nosuch", out="o"),
    "override-no-equals": Case(["run", "-s", "oracle", *T, "-o", "grounder", "--out", "o"], "grounder",
                               out="o"),
    "override-unknown-setting": Case(["run", "-s", "reamo-replay", *T, "-o", "tempratur=0", "--out", "o"],
                                     "tempratur", out="o"),
    "override-nested-typo": Case(["run", "-s", "pipeline-offline", *T, "-o", "grounder.use_ocrr=1",
                                  "--out", "o"], "use_ocrr", out="o"),
    "override-bad-type": Case(["run", "-s", "reamo-replay", *T, "-o", "temperature=hot", "--out", "o"],
                              "temperature", out="o"),
    "reamo-no-backend": Case(["run", "-s", "reamo", *T, "--out", "o"], "backend", out="o"),
    "replay-file-missing": Case(["run", "-s", "reamo-replay", *T, "-o", "replay_path=nope.jsonl",
                                 "--out", "o"], "nope.jsonl", out="o"),
    "plugin-missing": Case(["run", "-s", "oracle", *T, "--plugin", "no_such_plugin_mod", "--out", "o"],
                           "no_such_plugin_mod", out="o"),
    "plugin-raises": Case(["run", "-s", "oracle", *T, "--plugin", "brokenplugin", "--out", "o"],
                          "brokenplugin", plugin_broken, out="o"),
    # --- benchmarks
    "benchmark-missing": Case(["info", "nowhere"], "nowhere"),
    "benchmark-not-a-benchmark": Case(["info", "file.txt"], "file.txt", a_file),
    "benchmark-not-built": Case(["info", "muie-synth"], "muie-synth",
                                env={"MUIE_BENCH_DATA": "empty-data"}),
    "validate-bad-utf8-instances": Case(["validate", "tiny"], "instances.jsonl:3", bad_utf8_instances,
                                        problems=True),
    "info-bad-utf8-instances": Case(["info", "tiny"], "instances.jsonl:3", bad_utf8_instances,
                                    problems=True),
    "run-bad-utf8-instances": Case(["run", "-s", "oracle", *T, "--out", "o"], "instances.jsonl:3",
                                   bad_utf8_instances, out="o", problems=True),
    "score-bad-utf8-instances": Case(["score", "preds.jsonl", *T], "instances.jsonl:3",
                                     lambda w: (predictions(w), bad_utf8_instances(w)), problems=True),
    "validate-bad-utf8-manifest": Case(["validate", "tiny"], "manifest.json", bad_utf8_manifest,
                                       problems=True),
    "run-bad-utf8-manifest": Case(["run", "-s", "oracle", *T, "--out", "o"], "manifest.json",
                                  bad_utf8_manifest, out="o", problems=True),
    "validate-instances-missing": Case(["validate", "tiny"], "instances.jsonl", instances_missing,
                                       problems=True),
    "validate-instances-dir": Case(["validate", "tiny"], "instances.jsonl", instances_dir, problems=True),
    "run-instances-dir": Case(["run", "-s", "oracle", *T, "--out", "o"], "instances.jsonl",
                              instances_dir, out="o", problems=True),
    "validate-nan-gold-span": Case(["validate", "tiny"], "audio_spans", nan_gold_span, problems=True),
    "validate-truncated-png": Case(["validate", "tiny"], "ti-ner-0.png", truncated_png, problems=True),
    "validate-manifest-abs-path": Case(["validate", "tiny"], "/etc/passwd", manifest_abs_path,
                                       problems=True),
    "validate-manifest-dotdot": Case(["validate", "tiny"], "secret.txt", manifest_dotdot, problems=True),
    "validate-media-symlink-out": Case(["validate", "tiny"], "extra.txt", media_symlink_out,
                                       problems=True),
    "run-set-not-in-manifest": Case(["run", "-s", "oracle", *T, "--out", "o"], "zz-ner",
                                    set_not_in_manifest, out="o", problems=True),
    # --- predictions and scoring
    "score-predictions-missing": Case(["score", "nope.jsonl", *T], "nope.jsonl"),
    "score-no-benchmark": Case(["score", "preds.jsonl"], "--benchmark", predictions),
    "score-bad-utf8-predictions": Case(["score", "preds.jsonl", *T], "preds.jsonl:1",
                                       bad_utf8_predictions),
    "score-nan-pred-span": Case(["score", "preds.jsonl", *T, "--out", "o"], "audio_spans", nan_pred_span,
                                out="o"),
    "score-inf-in-trace": Case(["score", "preds.jsonl", *T, "--out", "o"], "preds.jsonl:1", inf_in_trace,
                               out="o"),
    "score-unknown-id": Case(["score", "preds.jsonl", *T, "--out", "o"], "no-such-instance",
                             unknown_pred_id, out="o"),
    "score-duplicate-id": Case(["score", "preds.jsonl", *T, "--out", "o"], "preds.jsonl:15",
                               duplicate_pred_id, out="o"),
    "score-malformed-line": Case(["score", "preds.jsonl", *T, "--out", "o"], "preds.jsonl:2",
                                 malformed_pred_line, out="o"),
    "score-bad-rle": Case(["score", "preds.jsonl", *T, "--out", "o"], "image_mask", bad_rle_pred, out="o"),
    "score-mask-size": Case(["score", "preds.jsonl", *T, "--out", "o"], "size", wrong_size_pred, out="o"),
    "score-run-dir-with-benchmark": Case(["score", "notarun", *T], "notarun", not_a_run),
    # --- output paths
    "run-out-file": Case(["run", "-s", "oracle", *T, "--out", "file.txt"], "file.txt", a_file),
    "run-out-proc": Case(["run", "-s", "oracle", *T, "--out", "/proc/muie-x"], "/proc/muie-x"),
    "score-out-file": Case(["score", "preds.jsonl", *T, "--out", "file.txt"], "file.txt",
                           lambda w: (predictions(w), a_file(w))),
    "schema-out-file": Case(["schema", "--out", "file.txt"], "file.txt", a_file),
    "schema-out-proc": Case(["schema", "--out", "/proc/muie-x"], "/proc/muie-x"),
    "leaderboard-out-file": Case(["leaderboard", "runs", "--out", "file.txt"], "file.txt",
                                 lambda w: ((w / "runs").mkdir(), a_file(w))),
    "leaderboard-runs-missing": Case(["leaderboard", "nowhere", "--out", "lb"], "nowhere", out="lb"),
    "leaderboard-runs-file": Case(["leaderboard", "runs.txt", "--out", "lb"], "runs.txt", runs_file,
                                  out="lb"),
    "report-not-a-run": Case(["report", "notarun"], "notarun", not_a_run),
    "compare-not-runs": Case(["compare", "notarun", "notarun"], "notarun", not_a_run),
    # --- data and prompts
    "data-build-bad-size": Case(["data", "build", "--size", "huge", "--out", "o"], "--size", out="o"),
    "prompt-unknown-id": Case(["prompt", "nope-0", *T], "nope-0"),
    "prompt-unknown-template": Case(["prompt", "ti-ner-0", *T, "--template", "nope-v9"], "nope-v9"),
}


def _snapshot(world: Path, out: str | None) -> dict[str, str]:
    skip = (world / out).resolve() if out else None
    snap: dict[str, str] = {}
    for p in sorted(world.rglob("*")):
        if skip is not None and (p == skip or skip in p.parents):
            continue
        if p.is_symlink():
            snap[str(p.relative_to(world))] = "link:" + os.readlink(p)
        elif p.is_file():
            snap[str(p.relative_to(world))] = hashlib.sha256(p.read_bytes()).hexdigest()
        elif p.is_dir():
            snap[str(p.relative_to(world))] = "dir"
    return snap


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_clear_line(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    world = tmp_path / "world"
    world.mkdir()
    shutil.copytree(TINY, world / "tiny")
    (world / "empty-data").mkdir()
    if case.setup is not None:
        case.setup(world)
    before = _snapshot(world, case.out)
    env = {**os.environ, "NO_COLOR": "1", **(case.env or {})}
    env["MUIE_BENCH_DATA"] = str(world / env["MUIE_BENCH_DATA"]) if case.env and "MUIE_BENCH_DATA" in case.env \
        else env.get("MUIE_BENCH_DATA", str(ROOT / "benchmark_data"))
    proc = subprocess.run(
        [sys.executable, "-m", "muie_bench.cli", *case.argv], cwd=world, env=env,
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    err = proc.stderr
    assert proc.returncode != 0, (proc.stdout, err)
    assert "Traceback" not in err and "Traceback" not in proc.stdout, err
    lines = [x for x in err.splitlines() if x.strip()]
    assert lines, proc.stdout
    if case.problems:
        assert lines[-1].endswith("problem(s)") or len(lines) == 1, lines
        assert any(case.names in x for x in lines), lines
    else:
        assert len(lines) == 1, lines
        assert case.names in lines[0], lines
    assert _snapshot(world, case.out) == before, "files outside the output folder changed"


def test_the_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 60
