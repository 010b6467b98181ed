"""The project's configuration (dbt_project.yml's vars) is read once, checked, and refused before
any work when it is wrong: the levels, the public levels and the disclosure method."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.settings import DISCLOSURE_METHODS, ProjectConfigError, Settings, read_project_vars
from tests.helpers import settings_for

PROJECT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _project_with(tmp_path: Path, **changes) -> Path:
    """A copy of dbt_project.yml with `changes` to its vars, in a folder of its own."""
    folder = tmp_path / "dbt_project"
    folder.mkdir()
    project = yaml.safe_load((PROJECT / "dbt_project" / "dbt_project.yml").read_text(encoding="utf-8"))
    project["vars"].update(changes)
    (folder / "dbt_project.yml").write_text(yaml.safe_dump(project, sort_keys=False), encoding="utf-8")
    return folder


def test_the_shipped_vars_are_valid_and_read_once():
    settings = Settings.from_env()
    project = settings.project_vars
    assert project is settings.project_vars  # cached: one read per settings
    assert project.levels[0] == project.block_level == "baublock"
    assert set(project.public_levels) <= set(project.levels)
    assert project.disclosure_method in DISCLOSURE_METHODS
    # every var is passed on in the file's order, as a copy the caller may change
    raw = yaml.safe_load((PROJECT / "dbt_project" / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
    assert list(project.as_dict()) == list(raw) and project.as_dict() == raw
    project.as_dict()["public_levels"].append("x")
    assert "x" not in project.public_levels


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"disclosure_method": "obfuscate"}, "disclosure_method"),
        ({"public_levels": ["stadtteil", "quartier"]}, "quartier"),
        ({"public_levels": ["baublock", "stadtteil"]}, "never published"),
        ({"non_nested_levels": ["sozialraum", "stadtteil"]}, "named twice: stadtteil"),
        ({"nested_levels": "stadtteil"}, "nested_levels"),
    ],
)
def test_wrong_vars_are_refused_with_file_and_field(tmp_path, changes, expected):
    folder = _project_with(tmp_path, **changes)
    with pytest.raises(ProjectConfigError) as exc:
        read_project_vars(folder)
    assert str(folder / "dbt_project.yml") in str(exc.value) and expected in str(exc.value)


def test_every_problem_on_a_line_of_its_own_in_the_common_form(tmp_path):
    """The vars are reported like the contracts, the catalogue and the index configurations
    (errors.configuration_problems): "<file>: field '<where>': <what>", no pydantic URL or prefix."""
    folder = _project_with(tmp_path, disclosure_method="obfuscate", nested_levels=["stadtteil", 3])
    with pytest.raises(ProjectConfigError) as exc:
        read_project_vars(folder)
    path = folder / "dbt_project.yml"
    assert str(exc.value).splitlines() == [
        f"{path}: field 'vars.nested_levels', entry no. 2: Input should be a valid string, got 3",
        f"{path}: field 'vars.disclosure_method': Input should be 'suppression' or 'cell_key', got 'obfuscate'",
    ]
    (tmp_path / "twice").mkdir()
    folder = _project_with(tmp_path / "twice", non_nested_levels=["sozialraum", "stadtteil"])
    with pytest.raises(ProjectConfigError) as exc:
        read_project_vars(folder)
    assert str(exc.value) == f"{folder / 'dbt_project.yml'}: field 'vars': levels named twice: stadtteil"


def test_run_refuses_a_wrong_configuration_before_any_work(tmp_path, monkeypatch):
    folder = _project_with(tmp_path, disclosure_method="obfuscate")
    settings = settings_for(tmp_path / "city")
    shutil.rmtree(settings.raw_dir, ignore_errors=True)
    monkeypatch.setattr(Settings, "from_env", classmethod(lambda cls: settings.with_paths(dbt_project_dir=folder)))
    result = runner.invoke(app, ["run"], env=settings.env())
    assert result.exit_code == 11, result.output
    assert "configuration (dbt_project.yml) is invalid" in result.output and "disclosure_method" in result.output
    assert "Traceback" not in result.output
    # nothing was started: no warehouse, no lock, no raw/, no release
    assert not settings.warehouse_path.exists() and not settings.releases_dir.exists()
    assert not settings.raw_dir.exists()


KREIS_LEVELS = {
    "nested_levels": ["stadtviertel", "stadtteil", "stadtbezirk", "gemeinde", "kreis"],
    "public_levels": ["stadtteil", "gemeinde", "kreis", "sozialraum"],
}


def test_a_deployment_sets_its_own_vars_in_a_file_beside_the_project(tmp_path, monkeypatch):
    """A Kreis keeps the project as it is and names its levels in its own vars file: the Python
    side reads them over dbt_project.yml's, dbt gets them on its command line (under the vars a
    command gives itself), and they belong to the build's fingerprint."""
    from orchestration.dbt_runner import dbt_args
    from orchestration.project_state import project_fingerprint

    own = tmp_path / "vars.yml"
    own.write_text(yaml.safe_dump(KREIS_LEVELS), encoding="utf-8")
    monkeypatch.setenv("SOZIALMONITOR_VARS_FILE", str(own))
    kreis = settings_for(tmp_path)
    assert kreis.vars_file == own and kreis.deployment_vars == KREIS_LEVELS
    assert kreis.project_vars.levels[-2:] == ["kreis", "sozialraum"]
    assert kreis.project_vars.public_levels == KREIS_LEVELS["public_levels"]
    assert kreis.project_vars.disclosure_method == "suppression"  # the project's, not overridden
    assert kreis.env()["SOZIALMONITOR_VARS_FILE"] == str(own)

    command = dbt_args(kreis, ["build"])
    assert yaml.safe_load(command[command.index("--vars") + 1]) == KREIS_LEVELS
    command = dbt_args(kreis, ["build", "--vars", '{"public_levels": [gemeinde], "disclosure_method": cell_key}'])
    assert command.count("--vars") == 1
    given = yaml.safe_load(command[command.index("--vars") + 1])
    assert given == {**KREIS_LEVELS, "public_levels": ["gemeinde"], "disclosure_method": "cell_key"}

    monkeypatch.delenv("SOZIALMONITOR_VARS_FILE")
    city = settings_for(tmp_path)
    assert city.vars_file is None and city.deployment_vars == {} and "--vars" not in dbt_args(city, ["build"])
    assert "SOZIALMONITOR_VARS_FILE" not in city.env()
    assert project_fingerprint(kreis) != project_fingerprint(city)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nested_level: [stadtteil, gemeinde]\n", "'nested_level' not among the vars"),
        ("- stadtteil\n- gemeinde\n", "expected a mapping of dbt var names"),
        ("public_levels: [stadtteil, quartier]\n", "quartier"),
        ("nested_levels: [stadtteil\n", "not valid YAML"),
    ],
)
def test_a_wrong_vars_file_is_refused_naming_it(tmp_path, text, expected):
    own = tmp_path / "vars.yml"
    own.write_text(text, encoding="utf-8")
    with pytest.raises(ProjectConfigError) as exc:
        read_project_vars(PROJECT / "dbt_project", own)
    assert str(own) in str(exc.value) and expected in str(exc.value)


def test_a_vars_file_that_does_not_exist_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SOZIALMONITOR_VARS_FILE", str(tmp_path / "missing.yml"))
    with pytest.raises(ProjectConfigError, match="missing.yml: no such file"):
        settings_for(tmp_path).project_vars  # noqa: B018


def test_a_deployment_folder_holds_all_its_places(tmp_path, monkeypatch):
    """SOZIALMONITOR_DEPLOYMENT_DIR: one setting for a Kreis's folder (as `demo-data --kreis` writes
    it); its own contracts, vars and gate thresholds where it has them, single settings still win."""
    from data_quality.gates import CONFIG_PATH, config_path

    for name in ("SOZIALMONITOR_RAW_DIR", "SOZIALMONITOR_WAREHOUSE", "SOZIALMONITOR_CONTRACTS_DIR",
                 "SOZIALMONITOR_VARS_FILE", "SOZIALMONITOR_GATES_CONFIG", "SOZIALMONITOR_RELEASES_DIR",
                 "SOZIALMONITOR_QUARANTINE_DIR", "SOZIALMONITOR_DBT_TARGET_DIR"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    kreis = tmp_path / "kreis"
    (kreis / "contracts").mkdir(parents=True)
    monkeypatch.setenv("SOZIALMONITOR_DEPLOYMENT_DIR", str(kreis))
    bare = Settings.from_env()
    assert (bare.raw_dir, bare.warehouse_path, bare.releases_dir) == (
        kreis / "raw",
        kreis / "warehouse" / "sozialmonitor.duckdb",
        kreis / "releases",
    )
    assert bare.contracts_dir == kreis / "contracts" and bare.dbt_target_dir == kreis / "dbt_target"
    assert bare.vars_file is None and bare.gates_config is None and config_path() == CONFIG_PATH
    (kreis / "vars.yml").write_text(yaml.safe_dump(KREIS_LEVELS), encoding="utf-8")
    (kreis / "gates.yml").write_text((CONFIG_PATH).read_text(encoding="utf-8"), encoding="utf-8")
    full = Settings.from_env()
    assert full.vars_file == kreis / "vars.yml" and full.project_vars.levels[-2] == "kreis"
    assert full.gates_config == kreis / "gates.yml" == config_path()
    assert full.env()["SOZIALMONITOR_GATES_CONFIG"] == str(kreis / "gates.yml")
    monkeypatch.setenv("SOZIALMONITOR_RAW_DIR", str(tmp_path / "elsewhere"))
    assert Settings.from_env().raw_dir == tmp_path / "elsewhere"


def test_a_child_process_finds_every_place_of_its_parents_settings(tmp_path, monkeypatch):
    """What a run hands its children (`Settings.env()`: the gates' process, a Dagster step's
    resource, dbt) gives back, through `Settings.from_env()`, the run's own places; among them the
    dbt project, which a test or a deployment may hold in a copy of its own. A child that found the
    checkout's project instead ran dbt on it and left a saved parse naming the copy's seeds in the
    checkout (every later new warehouse's dbt then loaded seeds from that copy, or failed once it
    was gone)."""
    parent = settings_for(tmp_path / "run").with_paths(
        dbt_project_dir=tmp_path / "copy" / "dbt_project",
        contracts_dir=tmp_path / "contracts",
        vars_file=tmp_path / "vars.yml",
        gates_config=tmp_path / "gates.yml",
    )
    for key, value in parent.env().items():
        monkeypatch.setenv(key, value)
    child = Settings.from_env()
    for place in ("project_dir", "raw_dir", "warehouse_path", "quarantine_dir", "dbt_project_dir", "contracts_dir",
                  "dbt_target_dir", "releases_dir", "vars_file", "gates_config", "lake"):  # fmt: skip
        assert getattr(child, place) == getattr(parent, place), place
    assert child.engine == parent.engine


def test_a_dbt_project_of_its_own_has_its_own_target_folder(monkeypatch):
    """SOZIALMONITOR_DBT_PROJECT_DIR alone moves dbt's target folder with the project (its saved
    parse is shared by the project's warehouses, `dbt_runner.shared_parse`): a copy of the project
    never writes its parse into the checkout's; the project folder alone moves both."""
    for name in ("SOZIALMONITOR_DBT_TARGET_DIR", "SOZIALMONITOR_DEPLOYMENT_DIR", "SOZIALMONITOR_DBT_PROJECT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SOZIALMONITOR_PROJECT_DIR", "/srv/project")
    assert Settings.from_env().dbt_project_dir == Path("/srv/project/dbt_project")
    assert Settings.from_env().dbt_target_dir == Path("/srv/project/dbt_project/target")
    monkeypatch.setenv("SOZIALMONITOR_DBT_PROJECT_DIR", "/tmp/copy/dbt_project")
    settings = Settings.from_env()
    assert (settings.dbt_project_dir, settings.dbt_target_dir) == (
        Path("/tmp/copy/dbt_project"),
        Path("/tmp/copy/dbt_project/target"),
    )
