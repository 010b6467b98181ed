"""The Kennzahlenkatalog: schema validation with precise errors, generated files, export."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from orchestration.catalogue import (
    GENERATED_DIRS,
    MACROS,
    Catalogue,
    CatalogueError,
    default_path,
    generate,
    load,
    project_levels,
    render_sources_yml,
    rendered_files,
)
from orchestration.cli import app
from orchestration.settings import Settings

SETTINGS = Settings.from_env()
PATH = default_path(SETTINGS.dbt_project_dir)
LEVELS, PUBLIC = project_levels(SETTINGS.dbt_project_dir)


def shipped() -> Catalogue:
    return load(PATH, SETTINGS.contracts_dir, LEVELS)


def test_shipped_catalogue_covers_the_agreed_indicator_families():
    c = shipped()
    ids = {i.id for i in c.indicators}
    assert len(ids) >= 40
    # domain.md, "Indicator catalogue": one representative per family, and every age group
    for expected in [
        "residents", "population_change_1y", "population_change_5y", "share_migration_background", "share_foreign",
        "births_per_1000", "deaths_per_1000", "natural_balance_per_1000", "city_moves_in_per_1000",
        "city_moves_out_per_1000", "moves_within_city_per_1000", "migration_balance_per_1000",
        "migration_volume_per_1000", "jugendquotient", "altenquotient", "aging_index", "greying_index",
        "share_households_size_1", "share_households_with_children", "single_parent_share",
        "employees_svb_per_100", "unemployed_per_100", "unemployed_sgb2_per_100", "unemployed_sgb3_per_100",
        "long_term_unemployed_per_100", "sgb2_quote", "sozialgeld_quote", "sgb12_gsiae_quote",
        "sgb12_hlu_per_1000", "sgb2_long_term_share", "wohngeld_per_100_households", "low_earner_share",
        "share_residence_5y", "share_residence_10y", "living_space_per_person", "social_housing_share",
        "new_dwellings_per_1000", "green_space_share", "noise_area_share", "seu_language_support_share",
        "seu_overweight_share", "daycare_rate_3_to_5", "gymnasium_transition_rate",
    ] + [f"share_age_{band}" for band in ("00_02", "03_05", "06_09", "10_14", "15_17", "18_24", "25_44",
                                         "45_64", "65_79", "80_plus")]:  # fmt: skip
        assert expected in ids, expected
    for ind in c.indicators:  # full metadata on every entry
        assert ind.name_de and ind.name_en and ind.definition_de and ind.update_cycle and ind.levels
        assert c.sources[ind.source].responsible
    assert set(c.indices) == {"soziale_stadtentwicklung", "kinder_teilhabe"}


def test_generated_files_are_current_and_untracked():
    """The seeds, the measure registry and the views' docs are rendered from the YAML into folders
    git ignores: rendering them again changes nothing, and git tracks none of them (a run never
    writes a tracked file)."""
    import subprocess

    generate(SETTINGS.dbt_project_dir, SETTINGS.contracts_dir)
    assert generate(SETTINGS.dbt_project_dir, SETTINGS.contracts_dir, check_only=True) == []
    folders = [str(SETTINGS.generated_dir / d) for d in GENERATED_DIRS]
    tracked = subprocess.run(
        ["git", "ls-files", "--", *folders], cwd=SETTINGS.project_dir, capture_output=True, text=True, check=True
    ).stdout
    assert tracked == ""
    ignored = subprocess.run(
        ["git", "check-ignore", *folders], cwd=SETTINGS.project_dir, capture_output=True, text=True, check=True
    ).stdout.split()
    assert len(ignored) == len(folders)


def test_generated_files_are_reviewable():
    """Every generated file says what it is generated from and by which command (the CSV seeds
    through their folder's README); the macro's registry is one entry per line, not one long line."""
    files = rendered_files(shipped(), PUBLIC, LEVELS, SETTINGS.contracts_dir)
    for rel, content in files.items():
        if rel.suffix == ".csv":
            assert (rel.parent / "README.md") in files
            continue
        origin = (
            "orchestration/contracts/*.yml"
            if rel.name in ("_sources.yml", "deployment.sql")
            else "dbt_project/catalogue/kennzahlenkatalog.yml"
        )
        assert f"GENERATED from {origin} by `sozialmonitor catalogue`" in content
    macro = files[MACROS / "catalogue.sql"]
    assert max(len(line) for line in macro.splitlines()) < 120
    assert macro.count("\n") > 500


def test_dbt_sources_are_one_per_department_from_the_contracts():
    """Every contract's table is declared in the dbt source of its department (`dbt_source`), with
    the Dagster asset key of its ingest asset, so the asset graph is the same as before."""
    from orchestration.ingest.contracts import load_contracts

    contracts = load_contracts(SETTINGS.contracts_dir, SETTINGS.project_vars)
    document = yaml.safe_load(render_sources_yml(SETTINGS.contracts_dir))
    tables = {
        t["name"]: (s["name"], s["schema"], t["meta"]["dagster"]["asset_key"])
        for s in document["sources"]
        for t in s["tables"]
    }
    assert tables == {name: (c.dbt_source, "raw", ["raw", name]) for name, c in contracts.items()}
    assert tables["register_persons"][0] == tables["register_movements"][0] == "melderegister"
    assert len(document["sources"]) == len({c.dbt_source for c in contracts.values()}) < len(contracts)


def _broken(tmp_path: Path, edit) -> Path:
    raw = yaml.safe_load(PATH.read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "kennzahlenkatalog.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _indicator(raw: dict, indicator_id: str) -> dict:
    return next(i for i in raw["indicators"] if i["id"] == indicator_id)


def _measure(raw: dict, measure_id: str) -> dict:
    return next(m for m in raw["measures"] if m["id"] == measure_id)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda r: _indicator(r, "sgb2_quote").update(unit="Prozent"), ["'sgb2_quote'", "'unit'", "Prozent"]),
        (
            lambda r: _indicator(r, "share_foreign").update(numerator="auslaender"),
            ["'share_foreign'", "'numerator'", "auslaender"],
        ),
        (lambda r: _indicator(r, "altenquotient").update(direction="up"), ["'altenquotient'", "'direction'"]),
        (
            lambda r: _indicator(r, "residents").update(levels=["stadtviertel", "ortsteil"]),
            ["'residents'", "'levels'", "ortsteil"],
        ),
        (
            lambda r: _indicator(r, "jugendquotient").pop("name_en"),
            ["'jugendquotient'", "missing required field 'name_en'"],
        ),
        (
            lambda r: _indicator(r, "living_space_per_person").update(disclosure={"rule": "count"}),
            ["'living_space_per_person'", "'disclosure.rule'", "area_m2"],
        ),
        (lambda r: _indicator(r, "births_per_1000").update(colour="blue"), ["'births_per_1000'", "'colour'"]),
        (
            lambda r: r["indices"]["kinder_teilhabe"]["config"]["dimensions"][0]["indicators"].append(
                {"id": "kaufkraft", "direction": "higher_is_better"}
            ),
            ["'kinder_teilhabe'", "kaufkraft"],
        ),
        (
            lambda r: r["sources"].update(
                sternwarte={"name_de": "Sternwarte", "responsible": "Amt", "staging": "stg_sternwarte__sterne"}
            ),
            ["sternwarte", "no contract"],
        ),
        # how the models form the measures, and the relations between them (issue 16)
        (
            lambda r: _measure(r, "unemployed").update(condition="unemployed_total > 0"),
            ["'unemployed'", "'condition'", "int_block_labour_market_measures does not count records"],
        ),
        (
            lambda r: _measure(r, "residents").update(column="einwohner"),
            ["'residents'", "'column'", "int_block_population_measures counts records"],
        ),
        (
            lambda r: _measure(r, "residents_change_1y").update(condition="age < 1"),
            ["'residents_change_1y'", "'condition'", "only a Baublock measure"],
        ),
        (
            lambda r: _measure(r, "residents_minor").update(within=["residents", "einwohner"]),
            ["'residents_minor'", "'within'", "unknown measure 'einwohner'"],
        ),
        (
            lambda r: _measure(r, "foreign_nationals").update(within=["households"]),
            ["'foreign_nationals'", "'within'", "'households' is not a measure of the same model and source"],
        ),
        (
            lambda r: _measure(r, "households").update(partitions={"sizes": ["households_size_1", "size_9"]}),
            ["'households'", "'partitions.sizes'", "unknown measure 'size_9'"],
        ),
        (
            lambda r: r["counting_models"].append("int_block_sternwarte_measures"),
            ["'counting_models'", "int_block_sternwarte_measures"],
        ),
    ],
)
def test_a_wrong_entry_names_file_indicator_and_field(tmp_path, edit, expected):
    path = _broken(tmp_path, edit)
    with pytest.raises(CatalogueError) as info:
        load(path, SETTINGS.contracts_dir, LEVELS)
    message = str(info.value)
    assert str(path) in message
    for part in expected:
        assert part in message, (part, message)


def _break_the_indices(raw: dict) -> None:
    composite = raw["indices"]["kinder_teilhabe"]["config"]
    composite["normalisation"] = "robust"
    composite["dimensions"][0]["indicators"][0]["direction"] = "up"
    composite["uncertainty"]["draws"] = 0
    raw["indices"]["soziale_stadtentwicklung"]["config"]["exclude"] = [1011]


def test_every_index_configuration_problem_on_a_line_naming_file_and_entry(tmp_path):
    path = _broken(tmp_path, _break_the_indices)
    with pytest.raises(CatalogueError) as info:
        load(path, SETTINGS.contracts_dir, LEVELS)
    lines = str(info.value).splitlines()
    expected = [
        ("index 'kinder_teilhabe', field 'config': composite 'kinder_teilhabe'", "'direction'", "'up'"),
        ("index 'kinder_teilhabe', field 'config': composite 'kinder_teilhabe'", "'normalisation'", "'robust'"),
        ("index 'kinder_teilhabe', field 'config.uncertainty': uncertainty", "'draws'", "got 0"),
        ("index 'soziale_stadtentwicklung', field 'config': MSS configuration", "'exclude'", "quote"),
    ]
    assert len(lines) == len(expected), lines
    for line, parts in zip(sorted(lines), sorted(expected), strict=True):
        assert line.startswith(f"{path}: {parts[0]}") and all(p in line for p in parts[1:]), (line, parts)
        assert "pydantic" not in line and "http" not in line


def test_export_for_the_working_group(tmp_path):
    result = CliRunner().invoke(app, ["catalogue", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "kennzahlenkatalog.csv").read_text(encoding="utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == len(shipped().indicators)
    sgb2 = next(r for r in rows if r["Kennung"] == "sgb2_quote")
    assert sgb2["Bezeichnung"] == "SGB II-Quote"
    assert sgb2["Zuständig"] == "Jobcenter, Controlling"
    assert sgb2["Einheit"] == "%"
    markdown = (tmp_path / "kennzahlenkatalog.md").read_text(encoding="utf-8")
    for topic in ("## Demografie", "## Altersstruktur", "## Kinder", "## Wohnen und Umwelt"):
        assert topic in markdown
    assert "| sgb2_quote | SGB II-Quote |" in markdown
    assert CliRunner().invoke(app, ["catalogue", "--check"]).exit_code == 0


def test_a_measure_needs_its_model_and_the_vars_its_condition_names(tmp_path):
    """Where the catalogue sits in a dbt project, a measure's model must exist there and the vars
    its condition names ({name}) must be vars of dbt_project.yml."""
    import shutil

    (tmp_path / "catalogue").mkdir()
    shutil.copy(SETTINGS.dbt_project_dir / "dbt_project.yml", tmp_path / "dbt_project.yml")
    (tmp_path / "models").symlink_to(SETTINGS.dbt_project_dir / "models")
    raw = yaml.safe_load(PATH.read_text(encoding="utf-8"))
    _measure(raw, "residents_senior").update(condition="age >= {rentenalter}")
    _measure(raw, "dwellings").update(model="int_block_wohnungen_measures")
    path = tmp_path / "catalogue" / "kennzahlenkatalog.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueError) as info:
        load(path, SETTINGS.contracts_dir, LEVELS)
    lines = str(info.value).splitlines()
    assert any("'residents_senior', field 'condition': {rentenalter} is not a var" in line for line in lines), lines
    assert any("'dwellings', field 'model': no model int_block_wohnungen_measures" in line for line in lines), lines
    assert all(line.startswith(f"{path}: ") for line in lines)


def _compiled(tmp_path: Path, raw: dict, vars_: dict | None = None) -> dict[str, str]:
    """dbt compile of the Baublock models and disclosure_relations in a copy of the dbt project whose
    catalogue is `raw`: model name -> compiled SQL."""
    import json
    import shutil

    import duckdb

    from orchestration.pipeline import run_dbt
    from tests.helpers import settings_for

    project = tmp_path / "dbt_project"
    shutil.copytree(
        SETTINGS.dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs", "generated", ".user.yml")
    )
    (project / "catalogue" / "kennzahlenkatalog.yml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    settings = settings_for(tmp_path).with_paths(dbt_project_dir=project)
    settings.warehouse_path.parent.mkdir(parents=True)
    duckdb.connect(str(settings.warehouse_path)).close()
    models = ["int_block_population_measures", "int_block_transfer_measures", "disclosure_relations"]
    command = ["compile", "--quiet", "--select", " ".join(models)]
    run_dbt(settings, command + (["--vars", json.dumps(vars_)] if vars_ else []))
    compiled = settings.dbt_target_dir / "compiled" / "sozialmonitor" / "models"
    return {p.stem: p.read_text(encoding="utf-8") for p in compiled.rglob("*.sql") if p.stem in models}


def _relations(sql: str) -> dict[str, tuple[str, dict[str, float]]]:
    """The relations of disclosure_relations as compiled (constant rows, no reference to another
    relation), read by running the SQL in DuckDB."""
    out: dict[str, tuple[str, dict[str, float]]] = {}
    con = duckdb.connect()
    try:
        for relation_id, sense, measure, coefficient in con.execute(sql).fetchall():
            out.setdefault(relation_id, (sense, {}))[1][measure] = coefficient
    finally:
        con.close()
    return out


def test_a_measure_added_to_the_catalogue_is_counted_and_related_without_touching_sql(tmp_path):
    """The counting models and disclosure_relations name no measure: a measure added to a copy of the
    catalogue (with a condition naming a dbt var, and a relation) appears in the compiled models;
    the relations between age bands follow the vars (issue 16)."""
    raw = yaml.safe_load(PATH.read_text(encoding="utf-8"))
    raw["measures"].insert(
        [m["id"] for m in raw["measures"]].index("foreign_nationals"),
        {
            "id": "residents_pension_age",
            "kind": "persons",
            "model": "int_block_population_measures",
            "source": "register_persons",
            "condition": "age >= {senior_age_limit} + 2",
            "within": ["residents"],
            "description": "Einwohner ab senior_age_limit (65) + 2 Jahren",
        },
    )
    _measure(raw, "sgb12_hlu_recipients").update(condition="benefit_type = 'HLU' and age < 18")
    compiled = _compiled(tmp_path, raw)
    population = compiled["int_block_population_measures"]
    assert "count(case when age >= 65 + 2 then 1 end) as residents_pension_age," in population
    # its record keys summed (macro key_sum: the fractional part of the exact sum)
    keys = "sum(case when age >= 65 + 2 then _record_key end)"
    assert f"({keys} - floor({keys})) as residents_pension_age__key" in population
    transfer = compiled["int_block_transfer_measures"]
    assert "count(case when source = 'sozialamt_sgb12' and benefit_type = 'HLU' and age < 18 then 1 end)" in transfer
    relations = _relations(compiled["disclosure_relations"])
    assert relations["residents_pension_age_within_residents"] == (
        "<=",
        {"residents_pension_age": 1.0, "residents": -1.0},
    )
    # with the shipped vars (senior_age_limit = quotient_old_limit = 65, minor_age_limit 18 < 20)
    assert relations["residents_senior_is_residents_quotient_old"][0] == "="
    assert "residents_quotient_old_is_residents_senior" not in relations
    assert "residents_minor_within_residents_quotient_young" in relations
    assert "residents_quotient_young_within_residents_minor" not in relations
    for holds in ("seniors_are_65_79_and_80_plus", "below_sgb2_age_and_seniors_partition_residents"):
        assert relations[holds][0] == "="

    # a later retirement age: the seniors are a part of the old-age quotient's band, no longer equal to
    # it nor the sum of the two oldest bands; the partitions that do not depend on it stay
    changed = _relations(_compiled(tmp_path / "vars", raw, {"senior_age_limit": 67})["disclosure_relations"])
    assert changed["residents_senior_within_residents_quotient_old"] == (
        "<=",
        {"residents_senior": 1.0, "residents_quotient_old": -1.0},
    )
    for gone in (
        "residents_senior_is_residents_quotient_old",
        "residents_quotient_old_within_residents_senior",
        "seniors_are_65_79_and_80_plus",
        "below_sgb2_age_and_seniors_partition_residents",
    ):
        assert gone not in changed, gone
    for kept in ("age_bands_partition_residents", "age_bands_partition_residents_fixed", "minors_are_five_bands"):
        assert changed[kept] == relations[kept]


def test_the_wide_views_follow_the_deployments_levels(tmp_path):
    """One generated model per level above the Baublock, documented beside it; a level the
    deployment no longer has leaves no model behind (dbt would build it undocumented)."""
    from orchestration.catalogue import generate
    from tests.helpers import own_kreis_vars, remove_deployment_files

    vars_file = own_kreis_vars(tmp_path, "tests/catalogue/test_catalogue.py")
    levels = ["stadtviertel", "stadtteil", "stadtbezirk", "gemeinde", "kreis"]
    settings = SETTINGS.with_paths(vars_file=vars_file)
    try:
        generate(settings.dbt_project_dir, settings.contracts_dir, vars_file=vars_file)
        marts = settings.generated_dir / "models" / "marts"
        assert sorted(p.name for p in marts.glob("*.sql")) == sorted(
            f"indicators_{level}.sql" for level in [*levels, "sozialraum"]
        )
        documented = yaml.safe_load((settings.generated_dir / "models" / "_indicator_views.yml").read_text("utf-8"))
        assert {m["name"] for m in documented["models"]} == {p.stem for p in marts.glob("*.sql")}
        assert "wide_indicator_view('kreis'" in (marts / "indicators_kreis.sql").read_text("utf-8")

        old = marts / "indicators_ortsteil.sql"  # what an earlier rendering with another level wrote
        old.write_text((marts / "indicators_kreis.sql").read_text("utf-8"), "utf-8")
        changed = generate(settings.dbt_project_dir, settings.contracts_dir, vars_file=vars_file)
        assert changed == [old] and not old.exists()
        assert (marts / "indicators_kreis.sql").exists()
    finally:
        remove_deployment_files(settings)
