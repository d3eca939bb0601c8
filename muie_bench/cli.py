"""The ``muie-bench`` command line: a thin typer shell over the modules.

Every command calls a function that tests can call directly. Errors a user can cause
(:class:`muie_bench.errors.UserError`) are printed as one line and exit non-zero.
"""

from __future__ import annotations

import json
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
    out.mkdir(parents=True, exist_ok=True)
    for name, s in schemas.items():
        (out / f"{name}.schema.json").write_text(json.dumps(s, indent=2) + "\n")
    console.print(f"wrote {len(schemas)} schemas to {out}")


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


# ============================================================== runs, leaderboard, compare


def _csv_list(value: Optional[str]) -> Optional[list[str]]:  # noqa: UP045
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


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
    workers: Annotated[int, typer.Option("--workers", "-j", help="parallel workers")] = 1,
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
    from muie_bench.metrics.report import scores_table
    from muie_bench.run_summary import failed_exit_code, run_lines
    from muie_bench.runner import RunOptions
    from muie_bench.runner import run as run_system
    from muie_bench.systems.registry import parse_overrides

    opts = RunOptions(
        system=system, overrides=parse_overrides(override or []), benchmark=benchmark,
        sets=_csv_list(sets), modalities=_csv_list(modalities), tasks=_csv_list(tasks),
        limit=limit, workers=workers, out=out, fresh=fresh, retry_failed=retry_failed,
        timeout=timeout, score=not no_score, tau=tau, n_resamples=resamples, seed=seed,
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
    from muie_bench.main_job import main_job
    from muie_bench.run_summary import leaderboard_tables, run_lines

    def print_run(r: Any) -> None:
        for line in run_lines(r):
            console.print(line, markup=False, highlight=False)

    res = main_job(
        systems, benchmark, out, leaderboard_out, workers=workers,
        progress=err_console.is_terminal, argv=["muie-bench", *sys.argv[1:]], on_run=print_run,
        plugins=plugin or [],
    )
    for table in leaderboard_tables(res.leaderboard["leaderboard"]):
        console.print(table)
    console.print(f"wrote {leaderboard_out}/leaderboard.md (with 95 % CIs), .csv, .html and "
                  f"{len(res.leaderboard['images'])} charts", markup=False, highlight=False)


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
        from muie_bench.run_summary import leaderboard_tables

        for table in leaderboard_tables(res["leaderboard"]):
            console.print(table)
    console.print(f"wrote {out}/leaderboard.md (with 95 % CIs), .csv, .html and "
                  f"{len(res['images'])} charts", markup=False, highlight=False)


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="run directory A")],
    run_b: Annotated[Path, typer.Argument(help="run directory B")],
    resamples: Annotated[int, typer.Option(help="bootstrap resamples")] = 1000,
    seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
) -> None:
    """Per set and metric: B - A with its paired-bootstrap p-value (* = p < 0.05)."""
    from muie_bench.compare import compare_runs
    from muie_bench.run_summary import compare_table

    res = compare_runs(run_a, run_b, n_resamples=resamples, seed=seed)
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
) -> None:
    """Static HTML report of one run: media with gold and predicted groundings drawn."""
    from muie_bench.report import write_report

    console.print(f"wrote {write_report(run_dir, out, per_set=per_set)}", markup=False,
                  highlight=False)


# ============================================================== bundled benchmark (datagen)

data_app = typer.Typer(help="Build and preview the bundled benchmark muie-synth.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("build")
def data_build(
    size: Annotated[str, typer.Option(help="mini (8 per set) or full (200 per set)")] = "mini",
    seed: Annotated[int, typer.Option(help="generator seed")] = 0,
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


# ============================================================== MLLM systems (reamo, openai-chat)


@app.command()
def prompt(
    ids: Annotated[list[str], typer.Argument(help="instance ids")],
    benchmark: Annotated[
        str, typer.Option("--benchmark", "-b", help="known benchmark name or directory")
    ] = "muie-synth-mini",
    template: Annotated[str, typer.Option(help="prompt template version")] = "reamo-v1",
) -> None:
    """Print the prompt the MLLM systems send for each instance (system line, text, media)."""
    from muie_bench.systems.prompts import prompts_for

    for iid, p in zip(ids, prompts_for(benchmark, ids, template), strict=True):
        console.rule(f"{iid} ({p.template}, sha256 {p.sha256()[:12]})")
        console.print(f"[system] {p.system}", markup=False, highlight=False, soft_wrap=True)
        console.print(p.user, markup=False, highlight=False, soft_wrap=True)
        for modality, rel in p.media:
            console.print(f"[{modality}] {rel}", markup=False, highlight=False, soft_wrap=True)


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
        int, typer.Option("--resamples", help="bootstrap resamples for the 95% CIs (0: none)")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="bootstrap seed")] = 0,
) -> None:
    """Score predictions: a table per set in the paper's columns, scores.json written."""
    from muie_bench.metrics.report import score_command

    if (predictions / "run.json").is_file():  # a run directory: re-score it in place
        from muie_bench.metrics.report import scores_table
        from muie_bench.runner import score_run

        if out is not None or benchmark is not None:
            raise UserError("score RUN_DIR: --out and --benchmark do not apply to a run directory")
        scores = score_run(predictions, tau=tau, n_resamples=resamples, seed=seed)
        console.print(scores_table(scores, f"{predictions} (re-scored)"))
        console.print(f"wrote {predictions / 'scores.json'} and instance_scores.jsonl; "
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
    except Exception as e:  # click usage errors
        import click

        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(e.exit_code)
        raise


if __name__ == "__main__":
    main()
