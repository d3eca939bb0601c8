"""The ``muie-bench`` command line: a thin typer shell over the modules.

Every command calls a function that tests can call directly. Errors a user can cause
(:class:`muie_bench.errors.UserError`) are printed as one line and exit non-zero.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from muie_bench import __version__
from muie_bench.errors import UserError, ValidationProblems

app = typer.Typer(
    name="muie-bench",
    help="Evaluation harness for grounded Multimodal Universal Information Extraction.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# wide tables when piped (CI logs, files) instead of rich's 80-column default
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        console.print(f"muie-bench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],  # noqa: UP045 - typer needs Optional on 3.10
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = None,
) -> None:
    """muie-bench: run, score and compare grounded MUIE systems."""


# ============================================================== foundation: data files


@app.command()
def validate(
    path: Annotated[str, typer.Argument(help="benchmark directory or known benchmark name")],
    no_media_hashes: Annotated[
        bool, typer.Option("--no-media-hashes", help="skip sha256 of media files")
    ] = False,
) -> None:
    """Check a benchmark: every problem as file:line: field: message (exit 1 if any)."""
    from muie_bench.benchmark import validate_benchmark

    bench = validate_benchmark(path, check_media_hashes=not no_media_hashes)
    _print_summary(bench, title=f"{bench.name} {bench.version}: valid ({len(bench)} instances)")


@app.command()
def info(
    path: Annotated[str, typer.Argument(help="benchmark directory or known benchmark name")],
) -> None:
    """Per set: modalities, task, count, label inventory sizes, grounded mentions."""
    from muie_bench.benchmark import load_benchmark

    bench = load_benchmark(path)
    _print_summary(bench, title=f"{bench.name} {bench.version} ({bench.root})")


def _print_summary(bench: object, title: str) -> None:
    from muie_bench.benchmark import Benchmark, summary_rows

    assert isinstance(bench, Benchmark)
    t = Table(title=title)
    for col in ("set", "modalities", "task", "instances", "ent/rel/evt labels", "mentions",
                "text spans", "image masks", "audio spans", "video tracks"):
        t.add_column(col, justify="left" if col in ("set", "modalities", "task") else "right")
    for r in summary_rows(bench):
        g = r["grounded"]
        t.add_row(
            r["set"], r["modalities"], r["task"], str(r["instances"]),
            f"{r['entity_types']}/{r['relation_types']}/{r['event_types']}", str(r["mentions"]),
            str(g.get("text", 0)), str(g.get("image", 0)), str(g.get("audio", 0)),
            str(g.get("video", 0)),
        )
    console.print(t)


@app.command()
def schema(
    out: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--out", help="directory to write <format>.schema.json files into"),
    ] = None,
) -> None:
    """JSON Schema of every file format (printed, or written to --out)."""
    from muie_bench.schema import ALL_MODELS

    schemas = {name: model.model_json_schema() for name, model in ALL_MODELS.items()}
    if out is None:
        console.print_json(json.dumps(schemas))
        return
    _output_dir(out, "--out")
    for name, s in schemas.items():
        (out / f"{name}.schema.json").write_text(json.dumps(s, indent=2) + "\n")
    console.print(f"wrote {len(schemas)} schemas to {out}")


def _output_dir(path: Path, option: str) -> None:
    """Create an output folder; an existing file there or an unwritable place is a UserError."""
    if path.exists() and not path.is_dir():
        raise UserError(f"{option} {path}: exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{option} {path}: cannot create the folder ({e.strerror})") from None
    if not os.access(path, os.W_OK):
        raise UserError(f"{option} {path}: the folder is not writable")


@app.command()
def benchmarks() -> None:
    """List the known benchmarks and their sizes."""
    from muie_bench.benchmark import MANIFEST, known_benchmarks
    from muie_bench.schema import Manifest

    t = Table(title="known benchmarks")
    for col in ("name", "version", "sets", "instances", "size", "path"):
        t.add_column(col)
    for name, d in known_benchmarks().items():
        if not (d / MANIFEST).is_file():
            t.add_row(name, "-", "-", "-", "not built", str(d))
            continue
        m = Manifest.model_validate_json((d / MANIFEST).read_text())
        size = sum(p.stat().st_size for p in d.rglob("*") if p.is_file())
        t.add_row(name, m.version, str(len(m.sets)), str(sum(s.count for s in m.sets)),
                  f"{size / 1e6:.1f} MB", str(d))
    console.print(t)


PLUGIN_HELP = ("module (importable from the current directory) or .py file to import first: it "
               "registers system kinds, presets or MLLM backends (repeatable)")


@app.command()
def systems(
    plugin: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--plugin", help=PLUGIN_HELP),
    ] = None,
) -> None:
    """List the system presets (what --system accepts) and their kinds."""
    from muie_bench.systems.registry import load_plugins, presets

    load_plugins(plugin or [])

    t = Table(title="systems")
    for col in ("preset", "kind", "description"):
        t.add_column(col)
    for name, p in sorted(presets().items()):
        t.add_row(name, p.kind, p.description)
    console.print(t)


@app.command()
def doctor(
    system: Annotated[str, typer.Option("--system", "-s", help="a pipeline preset")] = "pipeline-full",
    override: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--override", "-o", help="key=value setting override (repeatable)"),
    ] = None,
) -> None:
    """Per component of a pipeline system: package, device, weights found (one line each)."""
    from muie_bench.systems.pipeline.full.doctor import check
    from muie_bench.systems.pipeline.system import PipelineSettings
    from muie_bench.systems.registry import build_system, parse_overrides

    built = build_system(system, parse_overrides(override or []))
    if not isinstance(built.settings, PipelineSettings):
        raise UserError(f"doctor --system {system}: not a pipeline system (kind {built.kind!r})")
    checks = check(built.settings)
    for c in checks:
        console.print(c.line(), markup=False, highlight=False, soft_wrap=True)
    bad = [c.component for c in checks if c.enabled and not c.ok]
    if bad:
        raise UserError(f"doctor --system {system}: not ready: {', '.join(bad)}")


# ============================================================== runs, leaderboard, compare


def _csv_list(value: Optional[str], option: str = "") -> Optional[list[str]]:  # noqa: UP045
    """Comma-separated values, None when the option is absent; an empty list is an error."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise UserError(f"{option or 'option'}: {value!r} names nothing (give comma-separated values)")
    return items


@app.command()
def run(
    system: Annotated[str, typer.Option("--system", "-s", help="system preset (see `systems`)")],
    override: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--override", "-o", help="key=value setting override (repeatable)"),
    ] = None,
    benchmark: Annotated[
        str, typer.Option("--benchmark", "-b", help="known benchmark name or directory")
    ] = "muie-synth-mini",
    sets: Annotated[Optional[str], typer.Option(help="comma-separated set ids")] = None,  # noqa: UP045
    modalities: Annotated[
        Optional[str], typer.Option(help="comma-separated combos, e.g. T+I,A")  # noqa: UP045
    ] = None,
    tasks: Annotated[Optional[str], typer.Option(help="comma-separated: ner,re,ee")] = None,  # noqa: UP045
    limit: Annotated[Optional[int], typer.Option(help="first N instances of each set")] = None,  # noqa: UP045
    shard: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--shard", help="i/n: predict shard i (0-based) of n of the selection "
                     "into its own run (join them with `merge`)"),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", "-j", help="parallel workers (Ray actors "
                                         "with --executor ray)")] = 1,
    executor: Annotated[
        str, typer.Option("--executor", help="local (threads or processes) or ray (the ray extra; "
                          "-o ray.num_cpus=N / -o ray.num_gpus=N per actor)")
    ] = "local",
    ray_address: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--ray-address", help="Ray cluster to use (auto, host:port, ray://host:port); "
                     "default: a local Ray started for the run"),
    ] = None,
    out: Annotated[Path, typer.Option(help="runs folder")] = Path("results/runs"),
    fresh: Annotated[bool, typer.Option("--fresh", help="start a new run id")] = False,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="predict failed instances again")
    ] = False,
    timeout: Annotated[
        Optional[float], typer.Option(help="seconds per instance before it fails")  # noqa: UP045
    ] = None,
    no_score: Annotated[bool, typer.Option("--no-score", help="predict only")] = False,
    tau: Annotated[float, typer.Option(help="IoU threshold of grounded F1")] = 0.5,
    resamples: Annotated[int, typer.Option(help="bootstrap resamples")] = 1000,
    seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
    plugin: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--plugin", help=PLUGIN_HELP),
    ] = None,
    progress: Annotated[
        Optional[bool],  # noqa: UP045
        typer.Option("--progress/--no-progress", help="progress bar (default: on a terminal)"),
    ] = None,
) -> None:
    """Run a system over a benchmark (resumes the matching run), then score it."""
    from muie_bench.run.runner import RunOptions
    from muie_bench.run.runner import run as run_system
    from muie_bench.run.spec import Shard
    from muie_bench.run.summary import failed_exit_code, run_lines
    from muie_bench.scoring import scores_table
    from muie_bench.systems.registry import parse_overrides

    opts = RunOptions(
        system=system, overrides=parse_overrides(override or []), benchmark=benchmark,
        sets=_csv_list(sets, "--sets"), modalities=_csv_list(modalities, "--modalities"),
        tasks=_csv_list(tasks, "--tasks"),
        shard=Shard.parse(shard) if shard is not None else None,
        limit=limit, workers=workers, executor=executor, ray_address=ray_address, out=out,
        fresh=fresh, retry_failed=retry_failed, timeout=timeout, score=not no_score, tau=tau,
        n_resamples=resamples, seed=seed,
        plugins=plugin or [], argv=["muie-bench", *sys.argv[1:]],
        progress=err_console.is_terminal if progress is None else progress,
    )
    res = run_system(opts)
    if res.scores is not None:
        console.print(scores_table(res.scores, title=f"{res.record.system.name} scores"))
    for line in run_lines(res):
        console.print(line, markup=False, highlight=False)
    code = failed_exit_code(res.failed)
    if code:
        err_console.print(f"{res.failed} instance(s) failed (exit status {code})", markup=False)
        sys.exit(code)  # typer.Exit's code is dropped by app(standalone_mode=False)


@app.command()
def merge(
    runs: Annotated[list[Path], typer.Argument(help="the shard run directories (run --shard i/n)")],
    out: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--out", help="runs folder for the merged run (default: next to the first shard)"),
    ] = None,
    allow_missing: Annotated[
        bool, typer.Option("--allow-missing", help="merge even when shards or instances are missing "
                           "(the gaps are reported; the merged run is incomplete)")
    ] = False,
    no_score: Annotated[bool, typer.Option("--no-score", help="do not score the merged run")] = False,
    tau: Annotated[float, typer.Option(help="IoU threshold of grounded F1")] = 0.5,
    resamples: Annotated[int, typer.Option(help="bootstrap resamples")] = 1000,
    seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
) -> None:
    """Merge the shard runs of one system into one run directory, then score it."""
    from muie_bench.run.merge import merge_runs
    from muie_bench.scoring import scores_table

    res = merge_runs(runs, out=out, allow_missing=allow_missing, score=not no_score, tau=tau,
                     n_resamples=resamples, seed=seed, argv=["muie-bench", *sys.argv[1:]])
    if res.scores is not None:
        console.print(scores_table(res.scores, title=f"{res.record.system.name} scores (merged)"))
    c = res.record.counts
    console.print(f"merged {len(runs)} shard run(s) into {res.run.path}: {c.done} done, "
                  f"{c.failed} failed, {c.missing} missing of {c.total}", markup=False, highlight=False)
    if res.missing_ids:
        shards = f"shard(s) {', '.join(res.missing_shards)} missing; " if res.missing_shards else ""
        err_console.print(f"gaps: {shards}{len(res.missing_ids)} instance(s) without a prediction "
                          f"(run without --shard to predict them into {res.run.path})", markup=False)


@app.command("run-all")
def run_all(
    systems: Annotated[list[str], typer.Argument(help="system presets, run in this order")],
    benchmark: Annotated[
        str, typer.Option("--benchmark", "-b", help="known benchmark name or directory")
    ] = "muie-synth-mini",
    out: Annotated[Path, typer.Option(help="runs folder")] = Path("results/runs"),
    leaderboard_out: Annotated[
        Path, typer.Option("--leaderboard-out", help="leaderboard folder")
    ] = Path("results/leaderboard"),
    workers: Annotated[int, typer.Option("--workers", "-j", help="parallel workers")] = 1,
    plugin: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--plugin", help=PLUGIN_HELP),
    ] = None,
) -> None:
    """The main job: run (or resume) each system, score, write and print the leaderboard."""
    from muie_bench.leaderboard.render_terminal import leaderboard_tables
    from muie_bench.run.run_all import run_all as run_all_job
    from muie_bench.run.summary import run_lines

    def print_run(r: Any) -> None:
        for line in run_lines(r):
            console.print(line, markup=False, highlight=False)

    res = run_all_job(
        systems, benchmark, out, leaderboard_out, workers=workers,
        progress=err_console.is_terminal, argv=["muie-bench", *sys.argv[1:]], on_run=print_run,
        plugins=plugin or [],
    )
    for table in leaderboard_tables(res.leaderboard.leaderboard):
        console.print(table)
    console.print(f"wrote {leaderboard_out}/leaderboard.md (with 95 % CIs), .csv, .html and "
                  f"{len(res.leaderboard.images)} charts", markup=False, highlight=False)


@app.command()
def leaderboard(
    runs_dir: Annotated[Path, typer.Argument(help="folder of run directories")] = Path(
        "results/runs"),
    out: Annotated[Path, typer.Option(help="output folder")] = Path("results/leaderboard"),
    no_plots: Annotated[bool, typer.Option("--no-plots", help="skip the PNG charts")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="do not print the tables")] = False,
) -> None:
    """Leaderboard in the paper's layout (md, csv, html, png) from run.json + scores.json."""
    from muie_bench.leaderboard import write_leaderboard

    res = write_leaderboard(runs_dir, out, plots=not no_plots)
    if not quiet:
        from muie_bench.leaderboard.render_terminal import leaderboard_tables

        for table in leaderboard_tables(res.leaderboard):
            console.print(table)
    console.print(f"wrote {out}/leaderboard.md (with 95 % CIs), .csv, .html and "
                  f"{len(res.images)} charts", markup=False, highlight=False)


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="run directory A")],
    run_b: Annotated[Path, typer.Argument(help="run directory B")],
    resamples: Annotated[int, typer.Option(min=0, help="bootstrap resamples")] = 1000,
    seed: Annotated[int, typer.Option(min=0, help="bootstrap seed")] = 0,
) -> None:
    """Per set and metric: B - A with its paired-bootstrap p-value (* = p < 0.05)."""
    from muie_bench.compare import compare_runs, compare_table
    from muie_bench.run.files import RunDir

    res = compare_runs(RunDir.open(run_a), RunDir.open(run_b), n_resamples=resamples, seed=seed)
    console.print(compare_table(res))
    for n in res.notes:
        console.print(f"note: {n}", markup=False, highlight=False)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="run directory")],
    out: Annotated[
        Optional[Path], typer.Option(help="HTML file (default: RUN_DIR/report.html)")  # noqa: UP045
    ] = None,
    per_set: Annotated[int, typer.Option(help="instances shown per set")] = 5,
    lossless: Annotated[
        bool, typer.Option("--lossless", help="full-size PNG images instead of JPEG thumbnails "
                           "(exact mask edges; a file about 8 times larger)")
    ] = False,
) -> None:
    """Static HTML report of one run (one file): media with gold and predicted groundings drawn."""
    from muie_bench.report import write_report

    path = write_report(run_dir, out, per_set=per_set, lossless=lossless)
    console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", markup=False,
                  highlight=False)


@app.command()
def export(
    runs: Annotated[Path, typer.Argument(help="a run directory or a folder of runs")] = Path(
        "results/runs"),
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    out: Annotated[Path, typer.Option(help="folder for runs/scores/per_type/instances files")] = Path(
        "results/export"),
) -> None:
    """Runs, scores, per-type scores and instances as CSV or parquet tables (pandas frames)."""
    from muie_bench.analysis import export_frames

    for p in export_frames(runs, out, fmt):
        console.print(f"wrote {p}", markup=False, highlight=False)


# ============================================================== bundled benchmark (datagen)

data_app = typer.Typer(help="Build muie-synth; import, speak, assemble and export real data.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("build")
def data_build(
    size: Annotated[str, typer.Option(help="mini (8 per set) or full (200 per set)")] = "mini",
    seed: Annotated[int, typer.Option(min=0, help="generator seed")] = 0,
    out: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="output directory (default: benchmark_data/<name>)"),
    ] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = 2,
) -> None:
    """Generate muie-synth deterministically (same seed and version -> same bytes)."""
    from muie_bench.datagen.build import build

    r = build(size=size, seed=seed, out=out, workers=workers)
    console.print(f"wrote {r.instances} instances, {r.files} files ({r.bytes / 1e6:.1f} MB) "
                  f"to {r.out} in {r.seconds:.1f} s", markup=False, highlight=False)


@data_app.command("preview")
def data_preview(
    benchmark: Annotated[str, typer.Argument(help="benchmark directory or known name")] = (
        "muie-synth-mini"),
    out: Annotated[Path, typer.Option(help="PNG file to write")] = Path("preview.png"),
    sets: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="comma-separated set ids (default: every set with images or video)"),
    ] = None,
    per_set: Annotated[int, typer.Option(help="instances per set (one row each set)")] = 3,
    palette: Annotated[bool, typer.Option(help="256-colour PNG (smaller file)")] = False,
) -> None:
    """Overlay sheet: gold masks drawn on images and video frames, one row per set."""
    from muie_bench.datagen.preview import write_preview

    chosen = [s.strip() for s in sets.split(",") if s.strip()] if sets else None
    path = write_preview(benchmark, out, sets=chosen, per_set=per_set, palette=palette)
    console.print(f"wrote {path}", markup=False, highlight=False)


@data_app.command("import")
def data_import(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="twitter2017, mnre, m2e2, vrd, swig, "
                                       "vidsitu, ace05 or re-tacred")],
    srcs: Annotated[list[Path], typer.Argument(metavar="SRC...", help="the source files")],
    out: Annotated[Path, typer.Option("--out", help="benchmark directory to write")],
    media: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--media", help="folder of the source's images or videos"),
    ] = None,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="convert the rest when records are malformed")
    ] = False,
    set_id: Annotated[
        Optional[str], typer.Option("--set", help="set id (default per format)")  # noqa: UP045
    ] = None,
    name: Annotated[Optional[str], typer.Option(help="benchmark name")] = None,  # noqa: UP045
) -> None:
    """Convert a source dataset of the paper into a validated benchmark directory."""
    from muie_bench.sources import import_dataset

    r = import_dataset(fmt, srcs, out, media=media, skip_bad=skip_bad, set_id=set_id, name=name)
    for p in r.skipped:
        err_console.print(f"skipped: {p}", markup=False)
    for note in r.notes:
        err_console.print(f"note: {note}", markup=False)
    counts = ", ".join(f"{k}: {v}" for k, v in r.counts.items())
    console.print(f"wrote {r.out} ({counts}; {len(r.skipped)} malformed record(s) skipped); valid",
                  markup=False, highlight=False)


@data_app.command("speak")
def data_speak(
    src: Annotated[str, typer.Argument(help="benchmark with text or text+image sets")],
    out: Annotated[Path, typer.Option("--out", help="benchmark directory to write")],
    as_: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--as", help="comma-separated targets: A,T+A (text sets), I+A,T+I+A (text+image)"),
    ] = None,
    sets: Annotated[Optional[str], typer.Option(help="comma-separated input set ids")] = None,  # noqa: UP045
    seed: Annotated[int, typer.Option(help="voice / speed / noise seed")] = 0,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Spoken versions of text (or text+image) sets, made as muie-synth makes its speech sets."""
    from muie_bench.sources.speak import speak_benchmark

    r = speak_benchmark(src, out, targets=_csv_list(as_), sets=_csv_list(sets), seed=seed,
                        workers=workers)
    counts = ", ".join(f"{k}: {v}" for k, v in r.counts.items())
    console.print(f"wrote {r.out} ({counts}; {r.unlocated} mention(s) without a spoken word); valid",
                  markup=False, highlight=False)


@data_app.command("export")
def data_export(
    src: Annotated[str, typer.Argument(help="benchmark directory or known benchmark name")],
    out: Annotated[Path, typer.Option("--out", help="directory to save the dataset to")],
    fmt: Annotated[str, typer.Option("--format", help="hf (Hugging Face datasets)")] = "hf",
) -> None:
    """Export a benchmark as a Hugging Face `datasets` dataset (save_to_disk)."""
    from muie_bench.sources.hf import export_hf

    if fmt != "hf":
        raise UserError(f"--format: {fmt!r} is not supported (hf)")
    n = export_hf(src, out)
    console.print(f"wrote {out} ({n} rows; load it with datasets.load_from_disk, or pass the "
                  f"directory to any muie-bench command)", markup=False, highlight=False)


@data_app.command("assemble")
def data_assemble(
    srcs: Annotated[list[str], typer.Argument(metavar="BENCHMARK...", help="imported / spoken benchmarks")],
    out: Annotated[Path, typer.Option("--out", help="benchmark directory to write")],
    per_set: Annotated[int, typer.Option("--per-set", help="instances drawn per paper set")] = 200,
    seed: Annotated[int, typer.Option(help="sampling seed")] = 0,
    name: Annotated[str, typer.Option(help="benchmark name")] = "muie-real",
) -> None:
    """Sample a benchmark in the paper's 15-set layout from imported sets."""
    from muie_bench.sources.assemble import assemble

    r = assemble(list(srcs), out, per_set=per_set, seed=seed, name=name)
    counts = ", ".join(f"{k}: {v}" for k, v in r.counts.items())
    console.print(f"wrote {r.out} ({counts}); valid", markup=False, highlight=False)
    if r.short:
        short = ", ".join(f"{k} ({v})" for k, v in r.short.items())
        console.print(f"fewer than --per-set available: {short}", markup=False, highlight=False)
    if r.missing:
        console.print(f"missing paper sets (no input has their modalities and task): {', '.join(r.missing)}",
                      markup=False, highlight=False)


# ============================================================== MLLM systems (reamo, openai-chat)


@app.command()
def prompt(
    ids: Annotated[list[str], typer.Argument(help="instance ids")],
    benchmark: Annotated[
        str, typer.Option("--benchmark", "-b", help="known benchmark name or directory")
    ] = "muie-synth-mini",
    template: Annotated[str, typer.Option(help="prompt template version")] = "reamo-v1",
    override: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--override", "-o", help="template=VERSION (as with run -o template=...)"),
    ] = None,
) -> None:
    """Print the prompt the MLLM systems send for each instance (system line, text, media),
    and the whole turn when the template has a conversation format (in-process backends)."""
    from muie_bench.systems.prompts import prompts_for
    from muie_bench.systems.registry import parse_overrides

    opts = parse_overrides(override or [])
    unknown = sorted(set(opts) - {"template"})
    if unknown:
        raise UserError(f"-o {unknown[0]}: the prompt command takes only -o template=VERSION")
    template = str(opts.get("template", template))
    for iid, p in zip(ids, prompts_for(benchmark, ids, template), strict=True):
        console.rule(f"{iid} ({p.template}, sha256 {p.sha256()[:12]})")
        console.print(f"[system] {p.system}", markup=False, highlight=False, soft_wrap=True)
        console.print(p.user, markup=False, highlight=False, soft_wrap=True)
        for modality, rel in p.media:
            console.print(f"[{modality}] {rel}", markup=False, highlight=False, soft_wrap=True)
        if p.conversation is not None:
            console.print(f"[{p.conversation.name}]", markup=False, highlight=False)
            console.print(p.as_text(), markup=False, highlight=False, soft_wrap=True)


# ============================================================== metrics


@app.command()
def score(
    predictions: Annotated[
        Path, typer.Argument(help="predictions.jsonl to score, or a run directory to re-score")
    ],
    benchmark: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--benchmark", "-b", help="benchmark directory or known name "
                     "(not needed for a run directory: run.json names it)"),
    ] = None,
    out: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--out", help="folder for scores.json + instance_scores.jsonl "
                     "(default: the predictions file's folder)"),
    ] = None,
    tau: Annotated[float, typer.Option("--tau", help="IoU threshold of grounded F1")] = 0.5,
    resamples: Annotated[
        int, typer.Option("--resamples", min=0, help="bootstrap resamples for the 95% CIs (0: none)")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="bootstrap seed")] = 0,
) -> None:
    """Score predictions: a table per set in the paper's columns, scores.json written."""
    from muie_bench.run.files import RunDir
    from muie_bench.scoring import score_command, scores_table

    if RunDir.is_run_dir(predictions):  # a run directory: re-score it in place
        from muie_bench.run.runner import score_run

        if out is not None or benchmark is not None:
            raise UserError("score RUN_DIR: --out and --benchmark do not apply to a run directory")
        rd = RunDir.open(predictions)
        scores = score_run(rd, tau=tau, n_resamples=resamples, seed=seed)
        console.print(scores_table(scores, f"{predictions} (re-scored)"))
        console.print(f"wrote {rd.scores_path} and {rd.instance_scores_path.name}; "
                      "run.json counts updated", markup=False, highlight=False)
        return
    if benchmark is None:
        raise UserError("score: --benchmark is required for a predictions file")
    score_command(predictions, benchmark, out, tau, resamples, seed, console=console)


# ============================================================== entry point


def main() -> None:
    """Console-script entry: user errors become one line on stderr and a non-zero exit."""
    try:
        # without standalone mode click returns typer.Exit(code)'s code instead of exiting
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except ValidationProblems as e:
        for p in e.problems:
            err_console.print(p, markup=False)
        err_console.print(f"{len(e.problems)} problem(s)", markup=False)
        sys.exit(e.exit_code)
    except UserError as e:
        err_console.print(f"error: {e}", markup=False)
        sys.exit(e.exit_code)
    except (typer.Exit, SystemExit) as e:
        code = getattr(e, "exit_code", getattr(e, "code", 0))
        sys.exit(code or 0)
    except typer.Abort:
        err_console.print("aborted", markup=False)
        sys.exit(130)
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        sys.exit(130)
    except Exception as e:
        usage = _usage_error_line(e)
        if usage is not None:  # an unknown option or command, a bad or missing value
            err_console.print(f"error: {usage}", markup=False)
            sys.exit(2)
        if isinstance(e, OSError) and e.filename is not None:  # an output path, a full disk
            err_console.print(f"error: {_os_error_line(e)}", markup=False)
            sys.exit(2)
        raise


def _usage_error_line(e: Exception) -> str | None:
    """One line for a command-line usage error of typer (its bundled click) or click itself."""
    classes: tuple[type[BaseException], ...] = (typer.TyperException,)
    try:
        import click

        classes = (*classes, click.ClickException)
    except ImportError:  # typer >= 0.29 bundles its own click
        pass
    if not isinstance(e, classes) or not hasattr(e, "format_message"):
        return None
    msg = " ".join(str(e.format_message()).split())
    hint = " (see --help)" if "--help" not in msg else ""
    return f"{msg}{hint}"


def _os_error_line(e: OSError) -> str:
    """``PATH: reason`` of an OSError (``PATH -> OTHER`` for a rename or link)."""
    where = str(e.filename) if e.filename2 is None else f"{e.filename} -> {e.filename2}"
    return f"{where}: {e.strerror or type(e).__name__}"


if __name__ == "__main__":
    main()
