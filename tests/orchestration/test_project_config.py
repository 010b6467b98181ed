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
