"""scripts/readme_tables.py: README blocks rendered from real (small) runs, only between markers."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from muie_bench.errors import UserError
from muie_bench.run.run_all import run_all

ROOT = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "scripts" / "readme_tables.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


README = """# title

intro with a number 12.3 that is not generated

<!-- generated: leaderboard (by scripts/readme_tables.py) -->
stale leaderboard
<!-- /generated: leaderboard -->

middle text

<!-- generated: pipeline-scores (by scripts/readme_tables.py) -->
<!-- /generated: pipeline-scores -->

<!-- generated: pipeline-throughput (by scripts/readme_tables.py) -->
old
<!-- /generated: pipeline-throughput -->
end
"""


@pytest.fixture(scope="module")
def runs(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    run_all(["oracle", "empty"], tiny_dir, out / "runs", out / "lb")
    return out / "runs"


def _block(text: str, name: str) -> str:
    start = f"<!-- generated: {name} (by scripts/readme_tables.py) -->"
    return text.split(start, 1)[1].split(f"<!-- /generated: {name} -->", 1)[0]


def test_rewrite_renders_every_block_from_the_runs(runs: Path, tmp_path: Path) -> None:
    rt = _script()
    readme = tmp_path / "README.md"
    readme.write_text(README, encoding="utf-8")
    rt.rewrite_readme(readme, runs, system="oracle")
    text = readme.read_text(encoding="utf-8")
    # outside the markers nothing changed
    assert text.startswith("# title\n\nintro with a number 12.3 that is not generated\n")
    assert "\nmiddle text\n" in text and text.endswith("end\n")
    lb = _block(text, "leaderboard")
    assert "stale leaderboard" not in lb and "# muie-bench leaderboard" not in lb
    assert "#### Measured on tiny" in lb and "##### Overall" in lb
    assert "| oracle | 100.0 (100.0–100.0)" in lb and "| empty | 0.0 (0.0–0.0)" in lb
    assert "#### reported (MUIE-Bench, paper)" in lb
    scores = _block(text, "pipeline-scores")
    rows = [ln for ln in scores.splitlines() if ln.startswith("| ") and not ln.startswith(("| set", "| ---"))]
    assert all(len(r.split("|")) == 9 for r in rows)  # set, modalities and 5 columns
    assert rows and all("100.0" in r for r in rows)
    run_id = next(p.parent.name for p in runs.rglob("run.json") if "/oracle/" in str(p))
    assert f"Run `{run_id}` (oracle, fingerprint" in scores
    rec = json.loads(next(p for p in runs.rglob("run.json") if "/oracle/" in str(p)).read_text())
    assert f"{rec['counts']['done']} of {rec['counts']['total']} instances, 0 failed" in scores
    thr = _block(text, "pipeline-throughput")
    assert "| all | " + str(rec["counts"]["done"]) + " |" in thr and "Harness overhead" in thr
    # a second rewrite from the same runs is a fixed point
    rt.rewrite_readme(readme, runs, system="oracle")
    assert readme.read_text(encoding="utf-8") == text


def test_missing_marker_or_row_is_one_line(runs: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    rt = _script()
    readme = tmp_path / "README.md"
    readme.write_text(README.replace("<!-- /generated: pipeline-scores -->\n", ""), encoding="utf-8")
    with pytest.raises(UserError, match=r"README\.md:\d+: generated block 'pipeline-scores'"):
        rt.rewrite_readme(readme, runs, system="oracle")
    readme.write_text(README, encoding="utf-8")
    assert rt.main(["--runs", str(runs), "--readme", str(readme),
                    "--pipeline-system", "pipeline-offline"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no scored run of 'pipeline-offline'" in err[0]
    assert readme.read_text(encoding="utf-8") == README  # nothing written on error
