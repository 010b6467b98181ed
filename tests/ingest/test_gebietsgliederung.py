"""The Gebietsgliederung as a hierarchy whose levels a Gemeinde may skip (issue 18): a unit's parent
is of the next nested level or of the level its column Oberebene names; a Baublock belongs to a unit
of the lowest nested level its Gemeinde has. Hand-made messy files, loaded by the ingest alone."""

from __future__ import annotations

import pytest

from orchestration.ingest import IngestFailed, ingest
from orchestration.ingest.contracts import ContractError, load_contract, load_contracts
from orchestration.pseudonyms import ENV_KEY
from orchestration.warehouse import connect
from tests.helpers import settings_for

TEST_KEY = "gebietsgliederung-test-key-0123456789"
HEADER = "Ebene;Schluessel;Name;Oberbezirk;Gueltig_ab;Gueltig_bis"
HEADER_WITH_PARENT_LEVEL = "Ebene;Schluessel;Name;Oberbezirk;Oberebene;Gueltig_ab;Gueltig_bis"

# Today's form: every parent at the next level, no column Oberebene.
CITY = [
    "gemeinde;09999000;Musterstadt;;01.01.2000;",
    "stadtbezirk;01;Nord;09999000;01.01.2000;",
    "stadtteil;011;Altstadt;01;01.01.2000;",
    "stadtviertel;0111;Markt;011;01.01.2000;",
    "sozialraum;SR01;Mitte;09999000;01.01.2000;",
]

# A Gemeinde whose Stadtteile hang directly under it, beside a Stadtbezirk with a full chain.
SKIPPING = [
    "gemeinde;09999000;Musterstadt;;;01.01.2000;",
    "stadtbezirk;01;Nord;09999000;;01.01.2000;",
    "stadtteil;011;Altstadt;01;;01.01.2000;",
    "stadtviertel;0111;Markt;011;;01.01.2000;",
    "stadtteil;021;Dorf;09999000;gemeinde;01.01.2000;",
    "sozialraum;SR01;Mitte;09999000;;01.01.2000;",
]


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_KEY, TEST_KEY)
    settings = settings_for(tmp_path)
    (settings.raw_dir / "gebiete").mkdir(parents=True)
    con = connect(settings.warehouse_path)
    yield settings, con
    con.close()


def _load(settings, con, header: str, rows: list[str], source: str = "geo_areas", name: str = "gebietsgliederung.csv"):
    (settings.raw_dir / "gebiete" / name).write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return ingest(settings, con, sources=[source]).results


def _refused(settings, con, header: str, rows: list[str]) -> str:
    with pytest.raises(IngestFailed) as exc:
        _load(settings, con, header, rows)
    return str(exc.value)


def test_todays_file_without_oberebene_still_loads(env):
    settings, con = env
    [result] = _load(settings, con, HEADER, CITY)
    assert result.status == "loaded" and result.rows == 5
    assert con.execute("select count(*) from raw.geo_areas where parent_level is null").fetchone() == (5,)


def test_a_stadtteil_may_hang_directly_under_the_gemeinde(env):
    settings, con = env
    [result] = _load(settings, con, HEADER_WITH_PARENT_LEVEL, SKIPPING)
    assert result.status == "loaded" and result.rows == 6
    assert con.execute("select parent_code, parent_level from raw.geo_areas where area_code = '021'").fetchone() == (
        "09999000",
        "gemeinde",
    )


def test_a_parent_level_below_or_at_the_units_own_is_refused(env):
    settings, con = env
    rows = [*SKIPPING[:5], "stadtteil;022;Feld;0111;stadtviertel;01.01.2000;", SKIPPING[5]]
    message = _refused(settings, con, HEADER_WITH_PARENT_LEVEL, rows)
    assert "gebietsgliederung.csv, line 7, column 'Oberebene'" in message, message
    assert "the parent level 'stadtviertel' is not above the unit's level 'stadtteil'" in message, message
    rows = [*SKIPPING[:5], "stadtteil;022;Feld;011;stadtteil;01.01.2000;", SKIPPING[5]]
    message = _refused(settings, con, HEADER_WITH_PARENT_LEVEL, rows)
    assert "line 7, column 'Oberebene'" in message and "'stadtteil' is not above" in message, message


def test_an_unknown_oberebene_is_refused_with_the_levels_allowed(env):
    settings, con = env
    rows = [*SKIPPING[:5], "stadtteil;022;Feld;09999000;landkreis;01.01.2000;", SKIPPING[5]]
    message = _refused(settings, con, HEADER_WITH_PARENT_LEVEL, rows)
    assert "line 7, column 'Oberebene'" in message and "'landkreis'" in message, message
    assert "['stadtviertel', 'stadtteil', 'stadtbezirk', 'gemeinde']" in message, message


def test_a_parent_that_is_no_unit_of_the_level_named_is_refused(env):
    settings, con = env
    # 01 is a Stadtbezirk, not a Gemeinde
    rows = [*SKIPPING[:5], "stadtteil;022;Feld;01;gemeinde;01.01.2000;", SKIPPING[5]]
    message = _refused(settings, con, HEADER_WITH_PARENT_LEVEL, rows)
    assert "line 7, column 'Oberbezirk'" in message, message
    assert "unknown parent: no unit '01' of the level 'gemeinde' in this file valid in the unit's period" in message
    # without Oberebene the parent is looked up at the next level: 09999000 is no Stadtbezirk
    rows = [*SKIPPING[:5], "stadtteil;022;Feld;09999000;;01.01.2000;", SKIPPING[5]]
    message = _refused(settings, con, HEADER_WITH_PARENT_LEVEL, rows)
    assert "line 7, column 'Oberbezirk'" in message and "no unit '09999000' of the level 'stadtbezirk'" in message
    assert "Oberebene" in message, message  # the fix names the column for a parent further up


def test_a_parent_must_be_valid_in_the_units_period(env):
    settings, con = env
    rows = [
        "gemeinde;09999000;Musterstadt;;01.01.2000;",
        "stadtbezirk;01;Nord;09999000;01.01.2000;31.12.2010",
        "stadtteil;011;Altstadt;01;01.01.2011;",
        "stadtviertel;0111;Markt;011;01.01.2011;",
    ]
    message = _refused(settings, con, HEADER, rows)
    assert "line 4, column 'Oberbezirk'" in message and "no unit '01' of the level 'stadtbezirk'" in message


def test_units_below_the_top_need_a_parent_and_the_top_has_none(env):
    settings, con = env
    rows = [CITY[0], "stadtbezirk;01;Nord;;01.01.2000;", *CITY[2:]]
    message = _refused(settings, con, HEADER, rows)
    assert "line 3, column 'Oberbezirk'" in message, message
    assert "a unit of the level 'stadtbezirk' needs a parent unit" in message, message
    rows = ["gemeinde;09999000;Musterstadt;05999;01.01.2000;", *CITY[1:]]
    message = _refused(settings, con, HEADER, rows)
    assert "line 2, column 'Oberbezirk'" in message and "top level 'gemeinde'" in message, message
    rows = [*SKIPPING[:5], "stadtteil;022;Feld;;gemeinde;01.01.2000;", SKIPPING[5]]
    message = _refused(settings, con, HEADER_WITH_PARENT_LEVEL, rows)
    assert "line 7, column 'Oberbezirk'" in message and "names the parent level 'gemeinde' but no parent" in message


def test_a_baublock_may_belong_to_a_unit_of_any_nested_level(env):
    """The membership names the lowest nested level of the Baublock's Gemeinde; the contract takes
    every level above the Baublock (values_from levels_above_block)."""
    settings, con = env
    contracts = load_contracts(settings.contracts_dir, settings.project_vars)
    assert contracts["geo_block_membership"].column("level").values == settings.project_vars.levels_above_block
    rows = [
        "00001;stadtviertel;0111;01.01.2000;",
        "00002;stadtteil;021;01.01.2000;",
        "00003;gemeinde;09999000;01.01.2000;",
        "00001;sozialraum;SR01;01.01.2000;",
    ]
    [result] = _load(
        settings,
        con,
        "Baublock;Ebene;Schluessel;Gueltig_ab;Gueltig_bis",
        rows,
        source="geo_block_membership",
        name="baublock_zuordnung.csv",
    )
    assert result.status == "loaded" and result.rows == 4


def test_a_parent_key_names_columns_of_the_contract(tmp_path):
    base = (
        "source: x\ntitle: t\ndepartment: d\ndescription: d\nformat: csv\ndirectory: d\n"
        "file_pattern: 'x\\.csv'\nperiod: reference\n"
        "columns:\n"
        "  - {name: level, header: L, type: code}\n"
        "  - {name: code, header: C, type: code}\n"
        "  - {name: up, header: U, type: code}\n"
    )
    path = tmp_path / "x.yml"
    path.write_text(base + "parent: {code: up, level: up_level, unit_code: code, unit_level: level}\n")
    with pytest.raises(ContractError, match="parent names unknown column 'up_level'"):
        load_contract(path)
    path.write_text(
        base
        + "  - {name: up_level, header: UL, type: code}\n"
        + "parent: {code: up, level: up_level, unit_code: code, unit_level: level}\n"
    )
    with pytest.raises(ContractError, match="needs the ordered list of levels"):
        load_contract(path)
