"""What dbt's output follows from, apart from the data: the files of the dbt project, the source
contracts, the deployment's vars and the versions of dbt and the engine.

Two readers ask whether that state is the one of an earlier time:
- the build plan (orchestration/build_plan.py): a build whose project state differs from the last
  build's refreshes everything, and one whose data tests are the last build's tests only the rows
  it rebuilt;
- the release's lineage memo (orchestration/release/lineage.py): a kept lineage page is served only
  for the project state (tests included) it was made from.
Both read the one listing of the project's files here, so that they cannot disagree on what counts
as the project and what is dbt's output in it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .settings import Settings

TESTS_FOLDER = "tests"  # the data tests (singular and generic): `tests_fingerprint`
# top folders of the dbt project that do not shape a table: the data tests, lint configuration,
# dbt's output; and the generated files of every deployment (`generated`), of which only this one's
# count (Settings.generated_dir, fingerprinted on its own)
NOT_SHAPING = frozenset({TESTS_FOLDER, "lint", "target", "logs", "dbt_packages", "generated"})
# the libraries the tables are computed with: dbt and the engine, and what the dbt Python models
# compute with (the disclosure pattern's solver, the indices)
VERSIONED = ("dbt-core", "dbt-duckdb", "duckdb", "numpy", "pandas", "pyarrow", "scipy", "highspy")
# This package's code that the dbt Python models run: they import it, directly or through each
# other, so it shapes their tables as the models' own files do (a changed index or suppression
# rule must rebuild them). Folders and files under orchestration/; tests/orchestration/
# test_project_state.py checks the list against the models' imports.
PACKAGE = Path(__file__).resolve().parent
MODEL_CODE = (
    "catalogue", "disclosure", "indices", "ingest/contracts.py", "engines.py", "errors.py", "settings.py",
    "warehouse.py", "yaml_text.py",
)  # fmt: skip
VERSIONED_SPARK = ("dbt-spark", "pyspark")
ENV_VAR_CALL = re.compile(r"""env_var\(\s*['"]([A-Za-z0-9_]+)['"]""")


def _files(folder: Path, skipped_tops: frozenset[str] = frozenset(), output: Path | None = None) -> Iterator[Path]:
    """The files under `folder` in path order, without the top folders `skipped_tops`, Python's
    caches, hidden files (dbt's anonymous user id, .user.yml) and dbt's target folder `output`
    wherever it lies (SOZIALMONITOR_DBT_TARGET_DIR may name one inside the project)."""
    if not folder.is_dir():
        return
    output = output.resolve() if output is not None else None
    found = []
    for root, folders, names in os.walk(folder):
        here = Path(root)
        folders[:] = [
            name
            for name in folders
            if not (here == folder and name in skipped_tops)
            and name != "__pycache__"
            and (output is None or (here / name).resolve() != output)
        ]
        found.extend(here / name for name in names if not name.startswith("."))
    yield from sorted(found)


def shaping_files(settings: Settings) -> Iterator[tuple[str, Path, Path]]:
    """(label, folder, path) of every file that can shape a table: the dbt project's models,
    macros, seeds, catalogue, dbt_project.yml and profiles.yml; this deployment's generated files;
    the source contracts."""
    folders = (
        ("dbt", settings.dbt_project_dir),
        ("generated", settings.generated_dir),  # the same files give the same print, in any folder
        ("contracts", settings.contracts_dir),
    )
    for label, folder in folders:
        # in each, the same top folders are left out (the generated files' tests/: unit-test fixtures)
        for path in _files(folder, NOT_SHAPING, settings.dbt_target_dir):
            yield label, folder, path


def model_code_files() -> Iterator[Path]:
    """The files of MODEL_CODE (Python's caches left out), in path order."""
    for item in MODEL_CODE:
        path = PACKAGE / item
        yield from _files(path) if path.is_dir() else [path]


def test_files(settings: Settings) -> Iterator[Path]:
    """The data tests' files (the project's `tests` folder)."""
    yield from _files(settings.dbt_project_dir / TESTS_FOLDER, output=settings.dbt_target_dir)


def project_fingerprint(settings: Settings, cli_vars: Mapping[str, Any] | None = None) -> str:
    """The state a build's tables follow from, apart from the data: every file of `shaping_files`
    (not the data tests), the code the dbt Python models run (`model_code_files`), the deployment's
    vars file and the vars given on the command line, and the versions of dbt, DuckDB and the
    models' libraries (and the engine, with dbt-spark's and Spark's versions, when it
    is not DuckDB). Files, not the manifest's node checksums: a model's checksum does not change
    when a macro it calls does."""
    digest = hashlib.sha256()
    for label, folder, path in shaping_files(settings):
        digest.update(f"{label}/{path.relative_to(folder).as_posix()}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for path in model_code_files():
        digest.update(f"code/{path.relative_to(PACKAGE).as_posix()}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    given = {**settings.deployment_vars, **(cli_vars or {})}
    digest.update(json.dumps(given, sort_keys=True, default=str).encode())
    packages = VERSIONED
    if settings.engine != "duckdb":  # another engine's tables (a DuckDB build's print is as it was)
        digest.update(f"engine={settings.engine}\0".encode())
        packages += VERSIONED_SPARK
    for package in packages:
        try:
            digest.update(f"{package}={version(package)}\0".encode())
        except PackageNotFoundError:  # pragma: no cover - pinned dependencies
            digest.update(f"{package}=?\0".encode())
    return digest.hexdigest()


def tests_fingerprint(settings: Settings) -> str:
    """The data tests of the dbt project (`test_files`), which `project_fingerprint` leaves out
    (they shape no table). The tests declared in the models' YAML files and the macros are covered
    by `project_fingerprint`."""
    digest = hashlib.sha256()
    folder = settings.dbt_project_dir / TESTS_FOLDER
    for path in test_files(settings):
        digest.update(f"{path.relative_to(folder).as_posix()}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def env_var_names(settings: Settings) -> set[str]:
    """The environment variables the dbt project's files read with env_var() (its tests included)."""
    paths: Iterable[Path] = [path for label, _, path in shaping_files(settings) if label != "contracts"]
    names: set[str] = set()
    for path in [*paths, *test_files(settings)]:
        names.update(ENV_VAR_CALL.findall(path.read_bytes().decode("utf-8", errors="replace")))
    return names
