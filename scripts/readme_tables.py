"""Rewrites the README's generated tables from real runs (``make readme``).

Blocks of README.md between ``<!-- generated: NAME (by scripts/readme_tables.py) -->`` and
``<!-- /generated: NAME -->`` are replaced; nothing else is touched:

- ``leaderboard``: the leaderboard of the runs folder as ``muie-bench leaderboard`` writes it
  (``leaderboard.md`` without its title, headings two levels down);
- ``pipeline-scores``: the per-set table of the pipeline system's row (F1 or ET, EA, I-Seg,
  A-Seg, V-Trck in percent) with the run it comes from (id, fingerprint, instances, prediction
  wall time, CPU of the machine that ran it);
- ``pipeline-throughput``: seconds per instance by modality combination and the share of each
  pipeline stage, from the same run's predictions (``Prediction.seconds`` and
  ``trace["timings"]``).

Usage: ``python scripts/readme_tables.py [--run] [--runs results/runs] [--readme README.md]``.
``--run`` first runs (or resumes) the ``make run`` job (``--systems``, ``--benchmark``) into
``--runs``. A missing marker, or a runs folder without the pipeline row, ends in one error line.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

from muie_bench.errors import UserError
from muie_bench.leaderboard import Group, Leaderboard, build, to_markdown
from muie_bench.paper_sets import modality_label
from muie_bench.run.files import RunDir

RUN_SYSTEMS = ["pipeline-offline", "oracle", "empty"]
RUN_BENCHMARK = "muie-synth-mini"
#: the per-set table's row order (image, video, speech alone; then with text; then mixed)
PIPELINE_SET_ORDER = ("i-ner", "i-re", "i-ee", "v-ee", "a-ner", "a-re", "ti-ner", "ti-re", "ti-ee",
                      "tv-ee", "ta-ner", "ta-re", "ia-re", "tia-ner", "va-ee")
#: per-set table columns: (header, metrics shown in it)
PIPELINE_COLUMNS = (("F1 / ET", ("f1", "et")), ("EA", ("ea",)), ("I-Seg", ("i_seg",)),
                    ("A-Seg", ("a_seg",)), ("V-Trck", ("v_trck",)))


def _marker(name: str) -> tuple[str, str]:
    return (f"<!-- generated: {name} (by scripts/readme_tables.py) -->",
            f"<!-- /generated: {name} -->")


def replace_block(text: str, name: str, body: str, where: str = "README.md") -> str:
    """``text`` with the block ``name`` replaced by ``body``; UserError when a marker is missing."""
    start, end = _marker(name)
    i = text.find(start)
    j = text.find(end, i + 1) if i >= 0 else -1
    if i < 0 or j < 0:
        line = text.count("\n", 0, i) + 1 if i >= 0 else 1
        raise UserError(f"{where}:{line}: generated block {name!r}: markers {start!r} ... {end!r} "
                        "not found")
    return text[: i + len(start)] + "\n\n" + body.strip("\n") + "\n\n" + text[j:]


def leaderboard_block(lb: Leaderboard) -> str:
    """``leaderboard.md`` without its title, headings two levels down (it sits under a ###)."""
    md = to_markdown(lb)
    lines = md.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    out = [("##" + ln) if re.match(r"#{1,4} ", ln) else ln for ln in lines]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")


def _pipeline_group(lb: Leaderboard, system: str) -> tuple[Group, int]:
    for g in lb.measured():
        for k, r in enumerate(g.rows):
            if r.system == system:
                return g, k
    raise UserError(f"{lb.runs_dir}: no scored run of {system!r}; run `make run` first")


def pipeline_scores_block(lb: Leaderboard, system: str) -> str:
    """Per-set table of ``system``'s leaderboard row, then the run it comes from."""
    g, k = _pipeline_group(lb, system)
    row = g.rows[k]
    rec = RunDir(row.run_dir).record()
    lines = ["| set | modalities | " + " | ".join(h for h, _ in PIPELINE_COLUMNS) + " |",
             "| --- | --- |" + " --- |" * len(PIPELINE_COLUMNS)]
    order = [s for s in PIPELINE_SET_ORDER if s in g.sets] + sorted(
        s for s in g.sets if s not in PIPELINE_SET_ORDER)
    for sid in order:
        if not any(key[0] == sid for key in row.cells):
            continue
        vals = []
        for _h, metrics in PIPELINE_COLUMNS:
            cell = next((row.cells[(sid, m)] for m in metrics if (sid, m) in row.cells), None)
            vals.append("" if cell is None or cell.value is None else f"{cell.value:.1f}")
        mods = modality_label(list(g.sets[sid].modalities))  # type: ignore[arg-type]
        lines.append(f"| {sid} | {mods} | " + " | ".join(vals) + " |")
    counts = rec.counts
    host = rec.host
    wall = rec.timings.get("wall_predict")
    lines += ["", f"Run `{row.run_id}` ({system}, fingerprint {row.fingerprint}): "
              f"{counts.done} of {counts.total} instances, "
              f"{counts.failed} failed"
              + (f", predicted in {wall:.0f} s wall time" if isinstance(wall, (int, float)) else "")
              + (f" on {host.get('cpu')} ({host.get('cpus')} CPUs)" if host.get("cpu") else "")
              + "."]
    return "\n".join(lines)


def throughput_block(lb: Leaderboard, system: str, bench_dir: Path | None = None) -> str:
    """Seconds per instance by modality combination and stage shares of ``system``'s run."""
    g, k = _pipeline_group(lb, system)
    run_dir = Path(g.rows[k].run_dir)
    run = RunDir(run_dir)
    last = {p.id: p for p in run.predictions()}  # the later line for an id wins (retries)
    rec = run.record()
    from muie_bench.benchmark import load_benchmark

    bench = load_benchmark(bench_dir or Path(rec.benchmark.path), check_hash=False)
    by_mod: dict[str, list[float]] = defaultdict(list)
    stages: dict[str, float] = defaultdict(float)
    for p in last.values():
        by_mod[modality_label(bench.get(p.id).modalities)].append(p.seconds)
        for name, v in p.trace.get("timings", {}).items():
            stages[name] += float(v)
    total = sum(p.seconds for p in last.values())
    lines = ["| modalities | instances | s / instance | instances / s |",
             "| --- | --- | --- | --- |"]
    for mod, secs in sorted(by_mod.items(), key=lambda kv: -sum(kv[1]) / len(kv[1])):
        s = sum(secs) / len(secs)
        lines.append(f"| {mod} | {len(secs)} | {s:.2f} | {1 / s if s else 0:.2f} |")
    n = len(last)
    lines.append(f"| all | {n} | {total / n if n else 0:.2f} | {n / total if total else 0:.2f} |")
    other = max(0.0, total - sum(stages.values()))
    shares = [*sorted(stages.items(), key=lambda kv: -kv[1]), ("other", other)]
    lines += ["", "Share of the system's time per stage (`trace[\"timings\"]`, disjoint stages; "
              "other = media decoding and glue): "
              + ", ".join(f"{name} {100 * v / total:.1f} %" for name, v in shares if total) + "."]
    wall = rec.get("timings", {}).get("wall_predict")
    if isinstance(wall, (int, float)) and wall > 0:
        lines[-1] += (f" Harness overhead (wall time of the prediction loop minus the summed "
                      f"prediction times): {100 * max(0.0, wall - total) / wall:.1f} % "
                      f"({max(0.0, wall - total):.2f} s of {wall:.1f} s).")
    return "\n".join(lines)


def rewrite_readme(readme: Path, runs_dir: Path, system: str = "pipeline-offline") -> None:
    """Replaces every generated block of ``readme`` from the runs under ``runs_dir``."""
    lb = build(runs_dir)
    lb.runs_dir = "results/runs" if runs_dir.resolve() == Path("results/runs").resolve() else str(
        runs_dir)
    text = readme.read_text(encoding="utf-8")
    text = replace_block(text, "leaderboard", leaderboard_block(lb), str(readme))
    text = replace_block(text, "pipeline-scores", pipeline_scores_block(lb, system), str(readme))
    text = replace_block(text, "pipeline-throughput", throughput_block(lb, system), str(readme))
    readme.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", action="store_true", help="run (or resume) the make-run job first")
    ap.add_argument("--systems", nargs="+", default=RUN_SYSTEMS)
    ap.add_argument("--benchmark", default=RUN_BENCHMARK)
    ap.add_argument("--runs", type=Path, default=Path("results/runs"))
    ap.add_argument("--leaderboard-out", type=Path, default=Path("results/leaderboard"))
    ap.add_argument("--pipeline-system", default="pipeline-offline")
    ap.add_argument("--readme", type=Path, default=Path("README.md"))
    args = ap.parse_args(argv)
    try:
        if args.run:
            from muie_bench.run.run_all import run_all

            run_all(args.systems, args.benchmark, args.runs, args.leaderboard_out)
        rewrite_readme(args.readme, args.runs, args.pipeline_system)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"rewrote the generated blocks of {args.readme} from {args.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
