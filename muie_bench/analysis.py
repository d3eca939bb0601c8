"""Runs, scores, instances and predictions as pandas DataFrames (for notebooks).

Every frame is built from the files of run directories (``run.json``, ``scores.json``,
``instance_scores.jsonl``, ``predictions.jsonl``) under a folder, or of one run directory:

- :func:`runs_df` — one row per run: system, fingerprint, benchmark, selection, status,
  counts, timings, trace totals, git, package versions (``pkg.<name>`` columns);
- :func:`scores_df` — long format, one row per run x set x metric (``set == "macro"`` for
  the macro averages): value, CI, P/R and counts, the numbers ``scores.json`` holds;
- :func:`per_type_df` — one row per run x set x metric x label (P/R/F1 and counts);
- :func:`instances_df` — one row per run x instance: set, modalities, task, per-metric
  counts (``<metric>.tp`` / ``.predicted`` / ``.gold``), grounding values (NaN when the
  instance has no gold region in that modality), missing / failed / parse-failed,
  seconds and error of the prediction, and the instance's ``meta`` keys (``meta.<key>``)
  from the benchmark the run was made on (when it can be found);
- :func:`predictions_df` — one row per predicted tuple of one run (entity, relation,
  event, argument) with its mentions' texts and spans, which groundings they carry, and
  whether the tuple matched a gold tuple under the set's main metric.

Values are in percent as in ``scores.json``; grounding values in ``instances_df`` are in
[0, 1] as in ``instance_scores.jsonl``. Frames of no runs are empty with their columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from muie_bench.errors import UserError
from muie_bench.schema import Annotation, Instance, Prediction, RunRecord, Scores

RUN_JSON = "run.json"
SCORES = "scores.json"
INSTANCE_SCORES = "instance_scores.jsonl"
PREDICTIONS = "predictions.jsonl"

RUN_KEY_COLUMNS = ["run_id", "system", "kind", "fingerprint", "benchmark", "benchmark_sha256"]
SCORE_COLUMNS = [*RUN_KEY_COLUMNS, "set", "modalities", "task", "metric", "value", "ci_low",
                 "ci_high", "precision", "recall", "tp", "predicted", "gold", "n"]
PER_TYPE_COLUMNS = [*RUN_KEY_COLUMNS, "set", "modalities", "task", "metric", "label", "value",
                    "precision", "recall", "tp", "predicted", "gold"]
PREDICTION_COLUMNS = ["run_id", "system", "id", "set", "task", "kind", "type", "role", "text",
                      "span_start", "span_end", "head_text", "tail_text", "trigger_text",
                      "has_image_mask", "has_audio_spans", "has_video_track", "matched"]


@dataclass(frozen=True)
class _Run:
    path: Path
    record: RunRecord


def _load(path: Path, what: str) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except OSError as e:
        raise UserError(f"{path}: cannot read {what} ({e.strerror})") from None
    except orjson.JSONDecodeError as e:
        raise UserError(f"{path}:1: (json): {e}") from None


def _runs(path: Path) -> list[_Run]:
    """The run directories at or under ``path`` (a run directory or a folder of them)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such runs folder or run directory")
    if not path.is_dir():
        raise UserError(f"{path}: not a folder of runs")
    found = [path / RUN_JSON] if (path / RUN_JSON).is_file() else sorted(path.rglob(RUN_JSON))
    out = []
    for p in found:
        try:
            rec = RunRecord.model_validate(_load(p, "the run record"))
        except ValueError as e:
            raise UserError(f"{p}:1: (run record): {str(e).splitlines()[0]}") from None
        out.append(_Run(p.parent, rec))
    return out


def _key(r: _Run) -> dict[str, Any]:
    rec = r.record
    return {"run_id": rec.run_id, "system": rec.system.name, "kind": rec.system.kind,
            "fingerprint": rec.system.fingerprint, "benchmark": rec.benchmark.name,
            "benchmark_sha256": rec.benchmark.sha256}


def _modality_label(mods: list[str]) -> str:
    from muie_bench.paper_sets import modality_label

    return modality_label(mods)  # type: ignore[arg-type]


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    return df


# --------------------------------------------------------------------------- runs


def runs_df(path: Path | str) -> pd.DataFrame:
    """One row per run under ``path`` (see the module docstring); sorted by start time."""
    rows = []
    for r in _runs(Path(path)):
        rec = r.record
        row: dict[str, Any] = {**_key(r), "run_dir": str(r.path),
                               "benchmark_version": rec.benchmark.version,
                               "benchmark_path": rec.benchmark.path}
        for k in ("sets", "modalities", "tasks"):
            v = getattr(rec.selection, k)
            row[f"selection.{k}"] = ",".join(v) if v else None
        row["selection.limit"] = rec.selection.limit
        row["selection.instances"] = rec.selection.instances
        row["status"] = rec.status
        row["started"] = rec.started or None
        row["ended"] = rec.ended
        for k in ("total", "done", "failed", "missing"):
            row[f"count.{k}"] = getattr(rec.counts, k)
        row.update({f"timing.{k}": v for k, v in rec.timings.items()})
        row.update({f"trace.{k}": v for k, v in rec.trace_totals.items()})
        row["git.commit"] = rec.git.get("commit")
        row["git.dirty"] = rec.git.get("dirty")
        row.update({f"pkg.{k}": v for k, v in rec.packages.items()})
        row["settings"] = orjson.dumps(rec.system.settings, option=orjson.OPT_SORT_KEYS).decode()
        rows.append(row)
    base = [*RUN_KEY_COLUMNS, "run_dir", "benchmark_version", "benchmark_path", "status",
            "started", "ended"]
    df = pd.DataFrame(rows) if rows else pd.DataFrame(columns=base)
    for c in ("started", "ended"):
        df[c] = pd.to_datetime(df[c], utc=True, format="ISO8601")
    for c in [c for c in df.columns if c.startswith("count.") or c == "selection.limit"
              or c == "selection.instances"]:
        df[c] = df[c].astype("Int64")
    if "git.dirty" in df.columns:
        df["git.dirty"] = df["git.dirty"].astype("boolean")
    if len(df):
        df = df.sort_values(["started", "run_id"], kind="stable").reset_index(drop=True)
    return df


# --------------------------------------------------------------------------- scores


def _scores(r: _Run) -> Scores | None:
    p = r.path / SCORES
    if not p.is_file():
        return None
    try:
        return Scores.model_validate(_load(p, "scores"))
    except ValueError as e:
        raise UserError(f"{p}:1: (scores): {str(e).splitlines()[0]}") from None


def _scored(path: Path | str) -> Iterator[tuple[dict[str, Any], Scores]]:
    """(run key columns, scores) of every scored run under ``path``."""
    for r in _runs(Path(path)):
        sc = _scores(r)
        if sc is not None:
            yield _key(r), sc


def _where(sid: str, ss: Any) -> dict[str, Any]:
    return {"set": sid, "modalities": _modality_label(list(ss.modalities)), "task": ss.task}


def scores_df(path: Path | str) -> pd.DataFrame:
    """Long format: one row per run x set x metric, and per run x macro metric (set 'macro')."""
    rows: list[dict[str, Any]] = []
    for key, sc in _scored(path):
        for sid, ss in sc.sets.items():
            for metric, mv in ss.metrics.items():
                rows.append({**key, **_where(sid, ss), "metric": metric, **_metric_cells(mv)})
        for metric, mv in sc.macro.items():
            rows.append({**key, "set": "macro", "modalities": None, "task": None, "metric": metric,
                         **_metric_cells(mv)})
    df = _frame(rows, SCORE_COLUMNS)
    for c in ("value", "ci_low", "ci_high", "precision", "recall"):
        df[c] = df[c].astype("float64")
    for c in ("tp", "predicted", "gold", "n"):
        df[c] = df[c].astype("Int64")
    return df


def _metric_cells(mv: Any) -> dict[str, Any]:
    c = mv.counts
    return {"value": mv.value, "ci_low": mv.ci_low, "ci_high": mv.ci_high,
            "precision": mv.precision, "recall": mv.recall,
            "tp": None if c is None else c.tp, "predicted": None if c is None else c.predicted,
            "gold": None if c is None else c.gold, "n": mv.n}


def per_type_df(path: Path | str) -> pd.DataFrame:
    """One row per run x set x metric x label: F1 (``value``), P, R and counts."""
    rows: list[dict[str, Any]] = []
    for key, sc in _scored(path):
        for sid, ss in sc.sets.items():
            for metric, labels in ss.per_type.items():
                for label, mv in labels.items():
                    cells = _metric_cells(mv)
                    del cells["ci_low"], cells["ci_high"], cells["n"]
                    rows.append({**key, **_where(sid, ss), "metric": metric, "label": label, **cells})
    df = _frame(rows, PER_TYPE_COLUMNS)
    for c in ("value", "precision", "recall"):
        df[c] = df[c].astype("float64")
    for c in ("tp", "predicted", "gold"):
        df[c] = df[c].astype("Int64")
    return df


# --------------------------------------------------------------------------- instances


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of every non-blank line; a torn last line is skipped."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                if not raw.endswith(b"\n"):
                    return  # a torn last line (a run killed mid-write)
                raise UserError(f"{path}:{n}: (json): not a JSON object") from None
            if not isinstance(obj, dict):
                raise UserError(f"{path}:{n}: (json): not a JSON object")
            yield n, obj


def _benchmark_rows(rec: RunRecord, cache: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """id -> {set, modalities, task, meta} of the run's benchmark, or {} if it is not found."""
    sha = rec.benchmark.sha256
    if sha in cache:
        return cache[sha]
    from muie_bench.benchmark import INSTANCES, resolve_benchmark_path, sha256_file

    out: dict[str, dict[str, Any]] = {}
    for cand in (rec.benchmark.path, rec.benchmark.name):
        if not cand:
            continue
        try:
            root = resolve_benchmark_path(cand)
        except UserError:
            continue
        p = root / INSTANCES
        if p.is_file() and sha256_file(p) == sha:
            for _, obj in _jsonl(p):
                out[str(obj.get("id"))] = obj
            break
    cache[sha] = out
    return out


def _meta_value(v: Any) -> Any:
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode()


def instances_df(path: Path | str) -> pd.DataFrame:
    """One row per run x instance (see the module docstring), in instance-score order."""
    rows: list[dict[str, Any]] = []
    bench_cache: dict[str, dict[str, dict[str, Any]]] = {}
    for r in _runs(Path(path)):
        ip = r.path / INSTANCE_SCORES
        if not ip.is_file():
            continue
        key = {"run_id": r.record.run_id, "system": r.record.system.name,
               "fingerprint": r.record.system.fingerprint}
        preds: dict[str, dict[str, Any]] = {}
        pp = r.path / PREDICTIONS
        if pp.is_file():
            for _, obj in _jsonl(pp):  # the last line per id wins (--retry-failed appends)
                preds[str(obj.get("id"))] = {"seconds": obj.get("seconds"), "error": obj.get("error"),
                                             "parse_error": obj.get("parse_error")}
        bench = _benchmark_rows(r.record, bench_cache)
        for _, s in _jsonl(ip):
            iid = str(s["id"])
            inst = bench.get(iid, {})
            row: dict[str, Any] = {**key, "id": iid, "set": s.get("set"),
                                   "modalities": _modality_label(inst["modalities"])
                                   if "modalities" in inst else None,
                                   "task": inst.get("task")}
            for metric, c in (s.get("counts") or {}).items():
                for part in ("tp", "predicted", "gold"):
                    row[f"{metric}.{part}"] = c.get(part, 0)
            for metric, v in (s.get("grounding") or {}).items():
                row[metric] = v
            row["missing"] = bool(s.get("missing", False))
            row["failed"] = bool(s.get("failed", False))
            row["parse_failed"] = bool(s.get("parse_failed", False))
            p = preds.get(iid, {})
            row["seconds"] = p.get("seconds")
            row["error"] = p.get("error")
            for k, v in (inst.get("meta") or {}).items():
                row[f"meta.{k}"] = _meta_value(v)
            rows.append(row)
    base = ["run_id", "system", "fingerprint", "id", "set", "modalities", "task", "missing",
            "failed", "parse_failed", "seconds", "error"]
    df = pd.DataFrame(rows) if rows else pd.DataFrame(columns=base)
    counts = sorted(c for c in df.columns if c.endswith((".tp", ".predicted", ".gold")))
    ground = [c for c in ("i_seg", "a_seg", "v_trck") if c in df.columns]
    meta = sorted(c for c in df.columns if c.startswith("meta."))
    df = df[[*base, *counts, *ground, *meta]]
    for c in df.columns:
        if c.endswith((".tp", ".predicted", ".gold")):
            df[c] = df[c].astype("Int64")
        elif c in ("i_seg", "a_seg", "v_trck", "seconds"):
            df[c] = df[c].astype("float64")
        elif c in ("missing", "failed", "parse_failed"):
            df[c] = df[c].astype("bool")
    return df


# --------------------------------------------------------------------------- predictions


def predictions_df(run: Path | str) -> pd.DataFrame:
    """One row per predicted tuple of one run directory (see the module docstring).

    ``matched`` says whether the tuple is matched to a gold tuple by the set's main metric
    (NER ``f1``, RE strict ``f1``, events ``et``, arguments ``ea``) in the maximum
    one-to-one matching; it is missing (NA) when the run's benchmark cannot be found.
    """
    runs = _runs(Path(run))
    if len(runs) != 1 or runs[0].path != Path(run):
        raise UserError(f"{run}: not a run directory ({RUN_JSON} missing)")
    r = runs[0]
    bench = _benchmark_rows(r.record, {})
    rows: list[dict[str, Any]] = []
    pp = r.path / PREDICTIONS
    last: dict[str, tuple[int, dict[str, Any]]] = {}
    if pp.is_file():
        for n, obj in _jsonl(pp):
            last[str(obj.get("id"))] = (n, obj)
    for iid, (n, obj) in last.items():
        try:
            pred = Prediction.model_validate(obj)
        except ValueError as e:
            raise UserError(f"{pp}:{n}: (prediction): {str(e).splitlines()[0]}") from None
        gold_obj = bench.get(iid)
        inst = Instance.model_validate(gold_obj) if gold_obj is not None else None
        rows.extend(_tuple_rows(r, pred, inst))
    df = _frame(rows, PREDICTION_COLUMNS)
    for c in ("span_start", "span_end"):
        df[c] = df[c].astype("Int64")
    for c in ("has_image_mask", "has_audio_spans", "has_video_track"):
        df[c] = df[c].astype("bool")
    df["matched"] = df["matched"].astype("boolean")
    return df


def _tuple_rows(r: _Run, pred: Prediction, inst: Instance | None) -> list[dict[str, Any]]:
    ann = pred.output if pred.parse_error is None else Annotation()
    task = inst.task if inst is not None else _task_of(ann)
    flags = _matched_flags(inst, ann) if inst is not None else None
    base = {"run_id": r.record.run_id, "system": r.record.system.name, "id": pred.id,
            "set": inst.set if inst is not None else None, "task": task}
    ents = {m.id: m for m in ann.entities}
    out: list[dict[str, Any]] = []

    def mention_cells(m: Any) -> dict[str, Any]:
        return {"text": m.text, "span_start": m.span[0] if m.span else None,
                "span_end": m.span[1] if m.span else None,
                "has_image_mask": m.image_mask is not None, "has_audio_spans": m.audio_spans is not None,
                "has_video_track": m.video_track is not None}

    def flag(kind: str, i: int) -> bool | None:
        return None if flags is None else flags[kind][i]

    if task == "ner":
        for i, m in enumerate(ann.entities):
            out.append({**base, "kind": "entity", "type": m.type, **mention_cells(m),
                        "matched": flag("f1", i)})
    elif task == "re":
        for i, rel in enumerate(ann.relations):
            h, t = ents[rel.head], ents[rel.tail]
            out.append({**base, "kind": "relation", "type": rel.type, "head_text": h.text,
                        "tail_text": t.text, "has_image_mask": h.image_mask is not None
                        and t.image_mask is not None,
                        "has_audio_spans": h.audio_spans is not None and t.audio_spans is not None,
                        "has_video_track": h.video_track is not None and t.video_track is not None,
                        "matched": flag("f1", i)})
    else:
        k = 0
        for i, e in enumerate(ann.events):
            out.append({**base, "kind": "event", "type": e.type, **mention_cells(e.trigger),
                        "trigger_text": e.trigger.text, "matched": flag("et", i)})
            for a in e.arguments:
                m = ents[a.mention]
                out.append({**base, "kind": "argument", "type": e.type, "role": a.role,
                            **mention_cells(m), "trigger_text": e.trigger.text,
                            "matched": flag("ea", k)})
                k += 1
    return out


def _task_of(ann: Annotation) -> str:
    return "ee" if ann.events else "re" if ann.relations else "ner"


def _matched_flags(inst: Instance, ann: Annotation) -> dict[str, list[bool]]:
    """Per metric, whether each predicted item is in a maximum one-to-one matching."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    from muie_bench.metrics.ie import items_match, task_items

    gold = task_items(inst.gold, inst.task)
    pred = task_items(ann, inst.task)
    has_text = inst.text is not None
    out: dict[str, list[bool]] = {}
    for metric in ("f1", "et", "ea"):
        if metric not in pred:
            continue
        g, p = gold[metric], pred[metric]
        flags = [False] * len(p)
        if g and p:
            m = np.array([[1.0 if items_match(a, b, has_text) else 0.0 for b in p] for a in g])
            rows, cols = linear_sum_assignment(m, maximize=True)
            for i, j in zip(rows, cols, strict=True):
                if m[i, j]:
                    flags[j] = True
        out[metric] = flags
    return out


def export_frames(path: Path | str, out: Path, fmt: str = "csv") -> list[Path]:
    """Write runs, scores, per_type and instances frames of ``path`` as CSV or parquet files."""
    if fmt not in ("csv", "parquet"):
        raise UserError(f"--format: {fmt!r} is not csv or parquet")
    frames = {"runs": runs_df(path), "scores": scores_df(path), "per_type": per_type_df(path),
              "instances": instances_df(path)}
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in frames.items():
        p = out / f"{name}.{fmt}"
        if fmt == "csv":
            df.to_csv(p, index=False)
        else:
            try:
                df.to_parquet(p, index=False)
            except ImportError:
                raise UserError("--format parquet needs pyarrow: pip install 'muie-bench[analysis]'") \
                    from None
        written.append(p)
    return written
