"""The dbt project's state (orchestration.project_state), which the build plan and the lineage memo
both read: what counts as the project, what is dbt's output or another deployment's."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import orchestration
from orchestration.project_state import PACKAGE, env_var_names, model_code_files, project_fingerprint, shaping_files
from orchestration.project_state import tests_fingerprint as data_tests_fingerprint  # not a test: no test_ name


def _project(tmp_path, target_name="target"):
    project = tmp_path / "dbt_project"
    for folder in ("models", "macros", "tests", "generated/default", "generated/a_kreis", target_name, "lint"):
        (project / folder).mkdir(parents=True, exist_ok=True)
    (project / "dbt_project.yml").write_text("name: x\nvars:\n  levels: \"{{ env_var('LEVELS', '') }}\"\n")
    (project / "models" / "a.sql").write_text("select 1 as x\n")
    (project / "macros" / "m.sql").write_text("{% macro m() %}{{ env_var('CITY_SETTING') }}{% endmacro %}\n")
    (project / "tests" / "t.sql").write_text('select 1 where false -- {{ env_var( "TEST_ONLY" ) }}\n')
    (project / "generated" / "default" / "seed.csv").write_text("a\n1\n")
    (project / "generated" / "a_kreis" / "seed.csv").write_text("a\n2\n")
    # unit-test fixtures generated with the seeds (they follow from the catalogue, which is listed)
    (project / "generated" / "default" / "tests" / "fixtures").mkdir(parents=True)
    (project / "generated" / "default" / "tests" / "fixtures" / "catalogue.csv").write_text("a\n1\n")
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "register.yml").write_text("source: register\n")
    return SimpleNamespace(
        dbt_project_dir=project, dbt_target_dir=project / target_name, generated_dir=project / "generated" / "default",
        contracts_dir=tmp_path / "contracts", deployment_vars={}, engine="duckdb",
    )  # fmt: skip


def test_the_project_state_is_the_files_that_shape_tables_and_not_dbts_output(tmp_path):
    settings = _project(tmp_path, target_name="build_output")  # a target folder with a name of its own
    project = settings.dbt_project_dir
    listed = {(label, path.relative_to(folder).as_posix()) for label, folder, path in shaping_files(settings)}
    assert listed == {
        ("dbt", "dbt_project.yml"),
        ("dbt", "models/a.sql"),
        ("dbt", "macros/m.sql"),
        ("generated", "seed.csv"),
        ("contracts", "register.yml"),
    }
    shaping, tests = project_fingerprint(settings), data_tests_fingerprint(settings)

    # dbt's output (in its target folder, whatever its name, and in logs/), Python's caches, hidden
    # files (dbt's user id), lint settings and another deployment's generated files: the same state
    (settings.dbt_target_dir / "manifest.json").write_text("{}")
    (settings.dbt_target_dir / "compiled").mkdir()
    (settings.dbt_target_dir / "compiled" / "a.sql").write_text("select 1")
    (project / "logs").mkdir()
    (project / "logs" / "dbt.log").write_text("log")
    (project / "models" / "__pycache__").mkdir()
    (project / "models" / "__pycache__" / "p.pyc").write_bytes(b"\0")
    (project / ".user.yml").write_text("id: 1")
    (project / "lint" / ".sqlfluff").write_text("[sqlfluff]")
    (project / "generated" / "a_kreis" / "seed.csv").write_text("a\n3\n")
    assert (project_fingerprint(settings), data_tests_fingerprint(settings)) == (shaping, tests)

    # a data test changes only the tests' state; a model, this deployment's generated files, a
    # contract, the vars and the engine change the project's
    (project / "tests" / "t.sql").write_text("select 2 where false\n")
    assert project_fingerprint(settings) == shaping and data_tests_fingerprint(settings) != tests
    seen = {shaping}
    for path, text in (
        (project / "models" / "a.sql", "select 2 as x\n"),
        (settings.generated_dir / "seed.csv", "a\n4\n"),
        (settings.contracts_dir / "register.yml", "source: register\nrows: 1\n"),
    ):
        path.write_text(text)
        assert project_fingerprint(settings) not in seen
        seen.add(project_fingerprint(settings))
    settings.deployment_vars = {"public_levels": ["gemeinde"]}
    assert project_fingerprint(settings) not in seen
    seen.add(project_fingerprint(settings))
    assert project_fingerprint(settings, {"disclosure_method": "cell_key"}) not in seen
    settings.engine = "spark"
    assert project_fingerprint(settings) not in seen


def test_the_environment_variables_the_project_reads_are_found_in_its_files_and_tests(tmp_path):
    settings = _project(tmp_path)
    (settings.contracts_dir / "register.yml").write_text("note: env_var('NOT_DBT')\n")  # dbt reads no contract
    assert env_var_names(settings) == {"LEVELS", "CITY_SETTING", "TEST_ONLY"}


def _imported_package_modules(sources: list[Path]) -> set[Path]:
    """The files of this package that `sources` import, directly or through each other."""
    import ast
    import importlib.util

    def imported(path: Path, module: str) -> set[str]:
        names = set()
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = (
                    importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                    if node.level
                    else node.module
                )
                names |= {base, *(f"{base}.{alias.name}" for alias in node.names)}
            elif isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
        return {n for n in names if n == "orchestration" or n.startswith("orchestration.")}

    found: dict[str, Path] = {}
    todo = [name for source in sources for name in imported(source, "")]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:  # a name imported from a module (a function), under a module
            continue
        if spec is None or spec.origin is None:  # a name imported from a module, not a module
            continue
        found[name] = Path(spec.origin)
        todo.extend(imported(found[name], name))
    return set(found.values())


def test_the_code_the_python_models_run_is_part_of_the_project_state():
    """A changed index or suppression rule rebuilds the tables: every module of this package that a
    dbt Python model imports, directly or through another, is in the project's fingerprint."""
    models = sorted((Path(orchestration.__file__).parent.parent / "dbt_project" / "models").rglob("*.py"))
    assert len(models) >= 5
    needed = {p.resolve() for p in _imported_package_modules(models)} - {Path(orchestration.__file__).resolve()}
    covered = {p.resolve() for p in model_code_files()}
    assert {"disclosure/pattern.py", "indices/marts.py", "engines.py"} <= {
        p.relative_to(PACKAGE).as_posix() for p in needed
    }
    assert sorted(p.relative_to(PACKAGE).as_posix() for p in needed - covered) == []
