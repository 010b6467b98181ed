"""The CLI as a data engineer uses it."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.locking import RunInProgress, run_lock
from orchestration.pipeline import run_pipeline
from tests.helpers import settings_for

runner = CliRunner()


def _env(settings) -> dict[str, str]:
    return settings.env()


def test_status_tells_what_is_loaded_and_how_the_last_run_went(built_city):
    result = runner.invoke(app, ["status"], env=_env(built_city))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "succeeded" in out
    assert "register_persons" in out and "31.12.2024" in out
    indicators = len(pd.read_csv(built_city.generated_dir / "seeds" / "indicator_catalogue.csv"))
    assert indicators == 64
    assert f"{indicators} indicators" in out
    assert "Lowest address assignment rate" in out


def test_run_without_extracts_and_without_demo_says_where_to_put_them(tmp_path):
    settings = settings_for(tmp_path)
    result = runner.invoke(app, ["run", "--no-demo"], env=_env(settings))
    assert result.exit_code == 1
    assert str(settings.raw_dir) in result.output


def test_a_second_run_is_refused_while_one_holds_the_warehouse(city_copy):
    settings = city_copy
    with run_lock(settings.warehouse_path, purpose="pipeline run"):
        with pytest.raises(RunInProgress, match="another pipeline run holds the warehouse"):
            run_pipeline(settings)
        result = runner.invoke(app, ["run"], env=_env(settings))
        assert result.exit_code == 3
        assert "nothing was changed" in result.output


def test_run_stops_with_exit_code_2_on_a_broken_extract(city_copy):
    settings = city_copy
    path = settings.raw_dir / "wohngeld" / "Wohngeld_20231231.csv"
    path.write_bytes(b"")
    result = runner.invoke(app, ["run"], env=_env(settings))
    assert result.exit_code == 2
    assert "Wohngeld_20231231.csv" in result.output and "the file is empty" in result.output
    assert "Nothing downstream was built" in result.output


def test_a_file_no_contract_claims_is_named_not_ignored(city_copy):
    settings = city_copy
    stray = settings.raw_dir / "wohngeld" / "Wohngeld_2024-12-31.csv"  # date written the wrong way
    stray.write_bytes(b"Antragsnummer;Strasse\r\n")
    result = runner.invoke(app, ["ingest"], env=_env(settings))
    assert result.exit_code == 0, result.output
    assert "wohngeld/Wohngeld_2024-12-31.csv was not loaded" in result.output
    assert "Wohngeld_(?P<stichtag>" in result.output
