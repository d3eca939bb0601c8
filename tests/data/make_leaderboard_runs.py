"""Build ``tests/data/leaderboard_runs/``: a fixed set of run directories for the leaderboard
byte-identity test (run.json and scores.json only; host, packages and git are cleared and
paths made relative, so the files do not depend on the machine that made them).

Runs: on ``tiny`` the oracle, empty, and two ``test-flaky`` runs with different settings
(same name, two fingerprints; one with failed instances); on ``tiny-x2`` (tiny replicated
to 28 instances) the oracle, a subset run of the oracle (loses to the full run), an
``empty`` run cut to 10 predictions and re-scored (incomplete), a subset run of
``test-flaky`` (flagged) and an unscored run.

    python tests/data/make_leaderboard_runs.py
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import runner_support  # noqa: E402,F401  (registers test-flaky)

from muie_bench.replicate import replicate_benchmark  # noqa: E402
from muie_bench.run.runner import RunOptions, run, score_run  # noqa: E402

OUT = HERE / "leaderboard_runs"


def main() -> None:
    tiny = HERE / "tiny"
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        x2 = replicate_benchmark(tiny, Path(tmp) / "tiny2", 28, name="tiny-x2")
        for system, ov in (("oracle", {}), ("empty", {}), ("test-flaky", {"fail_suffixes": ["-1"]}),
                           ("test-flaky", {"fail_suffixes": ["ner-0"]})):
            run(RunOptions(system=system, overrides=ov, benchmark=tiny, out=runs, n_resamples=200))
        run(RunOptions(system="oracle", benchmark=x2, out=runs, n_resamples=200))
        run(RunOptions(system="oracle", benchmark=x2, out=runs, sets=["ti-ner"], n_resamples=200))
        partial = run(RunOptions(system="empty", benchmark=x2, out=runs, score=False))
        path = partial.run_dir / "predictions.jsonl"
        path.write_text("".join(path.read_text().splitlines(keepends=True)[:10]))
        score_run(partial.run_dir, n_resamples=200)
        run(RunOptions(system="test-flaky", benchmark=x2, out=runs, sets=["ti-ner", "v-ee"],
                       limit=1, n_resamples=200))
        run(RunOptions(system="oracle", benchmark=x2, out=runs, tasks=["re"], score=False))
        if OUT.exists():
            shutil.rmtree(OUT)
        for rj in sorted(runs.rglob("run.json")):
            d = OUT / rj.parent.relative_to(runs)
            d.mkdir(parents=True)
            rec = json.loads(rj.read_text())
            rec.update(host={}, packages={}, git={}, argv=[])
            rec["benchmark"]["path"] = rec["benchmark"]["name"]
            (d / "run.json").write_text(json.dumps(rec, indent=2) + "\n")
            if (rj.parent / "scores.json").is_file():
                shutil.copy(rj.parent / "scores.json", d / "scores.json")
    print(f"wrote {sum(1 for _ in OUT.rglob('run.json'))} runs to {OUT}")


if __name__ == "__main__":
    main()
