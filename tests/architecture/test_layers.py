"""The code's layers (pyproject.toml, [tool.importlinter]) hold: the front doors (CLI, Dagster) sit
on the pipeline, the pipeline on the release, the release on the gates and the disclosure control,
those on the domain and the low-level modules, and nothing imports upwards or in a circle. The demo
generator (orchestration/demo) is a development package: only the CLI and the benchmark import it,
and it imports nothing of the warehouse. `make lint` checks the same contracts; here they fail the
tests too, and a broken layer and a production import of the generator are shown to fail."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(project / "pyproject.toml")],
        cwd=project,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )


def test_the_layers_and_the_absence_of_cycles_hold():
    result = _lint(PROJECT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    for part in ("orchestration", "data_quality"):
        shutil.copytree(PROJECT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_an_upward_import_breaks_the_contract(tmp_path):
    # a copy of the code in which the release calls back into the pipeline, the cycle the layers forbid
    copy = _copy(tmp_path)
    gis = copy / "orchestration" / "release" / "gis.py"
    late = "\n\ndef _late():\n    from ..pipeline import run_dbt  # inside a function\n\n    return run_dbt\n"
    gis.write_text(gis.read_text() + late)
    result = _lint(copy)
    assert result.returncode != 0
    assert "orchestration.release is not allowed to import orchestration.pipeline" in result.stdout
    assert "orchestration.release.gis -> orchestration.pipeline" in result.stdout


def test_the_warehouse_importing_the_demo_generator_breaks_the_contract(tmp_path):
    # a copy in which the ingestion reaches into the generator, and one in which the generator
    # borrows from the warehouse: the development package would no longer be separable
    copy = _copy(tmp_path)
    loader = copy / "orchestration" / "ingest" / "loader.py"
    loader.write_text(loader.read_text() + "\n\ndef _late():\n    from ..demo import extracts\n\n    return extracts\n")
    config = copy / "orchestration" / "demo" / "config.py"
    config.write_text(config.read_text() + "\n\nfrom ..settings import Settings  # noqa: E402\n")
    result = _lint(copy)
    assert result.returncode != 0
    assert "Only the CLI and the benchmark import the demo generator BROKEN" in result.stdout
    assert "orchestration.ingest.loader -> orchestration.demo" in result.stdout
    assert "The demo generator imports nothing of the warehouse BROKEN" in result.stdout
    assert "orchestration.demo.config -> orchestration.settings" in result.stdout
