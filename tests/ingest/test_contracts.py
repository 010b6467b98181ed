from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from orchestration.ingest.contracts import ContractError, load_contract, load_contracts
from orchestration.settings import Settings

SETTINGS = Settings.from_env()
CONTRACTS = SETTINGS.contracts_dir


def test_shipped_contracts_load_with_references_first():
    contracts = load_contracts(CONTRACTS, SETTINGS.project_vars)
    names = list(contracts)
    assert {
        "register_persons",
        "register_movements",
        "ba_labour_market",
        "jobcenter_sgb2",
        "sozialamt_sgb12",
        "wohngeld",
        "geo_addresses",
        "geo_areas",
        "geo_block_membership",
        "geo_block_polygons",
        "gesundheitsamt_seu",
        "jugendamt_kita",
        "schulamt_uebergaenge",
        "planung_wohnen",
        "umwelt_baublock",
    } == set(names)
    # the BA's Baublock codes are checked against the Baublock list, so it must load first
    assert names.index("geo_block_membership") < names.index("ba_labour_market")
    assert names.index("geo_block_membership") < names.index("umwelt_baublock")
    # the housing file's Stadtviertel codes are checked against the Gebietsgliederung
    assert names.index("geo_areas") < names.index("planung_wohnen")
    # reference data before period data
    assert all(contracts[n].period == "reference" for n in names[:4])


@pytest.mark.parametrize(
    ("source", "filename", "expected"),
    [
        ("register_persons", "EWR_Bestand_20241231.csv", date(2024, 12, 31)),
        ("register_movements", "EWR_Bewegungen_2023.csv", date(2023, 12, 31)),
        ("ba_labour_market", "BA_Arbeitsmarkt_Baublock_202212.xlsx", date(2022, 12, 31)),
        ("geo_addresses", "adressen.csv", None),
        ("gesundheitsamt_seu", "SEU_Einschulung_2022.csv", date(2022, 12, 31)),
        ("jugendamt_kita", "Kita_Belegung_20231231.csv", date(2023, 12, 31)),
        ("schulamt_uebergaenge", "Uebergaenge_Sek1_2024.csv", date(2024, 12, 31)),
        ("planung_wohnen", "Wohnungsbestand_Stadtviertel_2021.csv", date(2021, 12, 31)),
        ("umwelt_baublock", "Umwelt_Baublock_2020.csv", date(2020, 12, 31)),
        ("register_persons", "EWR_Bestand_2024.csv", False),
        ("register_persons", "EWR_Bestand_20241231.csv.bak", False),
    ],
)
def test_file_names_give_the_stichtag(source, filename, expected):
    assert load_contracts(CONTRACTS, SETTINGS.project_vars)[source].match(filename) == expected


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wohngeld.yml"
    path.write_text(text, encoding="utf-8")
    return path


BASE = """source: wohngeld
title: t
department: d
description: x
format: csv
directory: wohngeld
file_pattern: 'Wohngeld_(?P<stichtag>\\d{8})\\.csv'
period: stichtag
columns:
"""


def test_a_wrong_entry_names_file_source_and_field(tmp_path):
    path = _write(tmp_path, BASE + "  - {name: household_size, header: H, type: number}\n")
    with pytest.raises(ContractError) as exc:
        load_contract(path)
    message = str(exc.value)
    assert str(path) in message
    assert "source 'wohngeld'" in message
    assert "column 'household_size', field 'type'" in message and "got 'number'" in message


def test_a_date_column_needs_its_format(tmp_path):
    path = _write(tmp_path, BASE + "  - {name: approved_until, header: B, type: date}\n")
    with pytest.raises(ContractError, match="date_format"):
        load_contract(path)


def test_unknown_keys_are_rejected_not_ignored(tmp_path):
    path = _write(tmp_path, BASE + "  - {name: x, header: X, type: varchar, requird: true}\n")
    with pytest.raises(ContractError, match="requird"):
        load_contract(path)


def test_a_stichtag_source_needs_a_date_in_its_file_name(tmp_path):
    path = _write(
        tmp_path, BASE.replace("(?P<stichtag>\\d{8})", "\\d{8}") + "  - {name: x, header: X, type: varchar}\n"
    )
    with pytest.raises(ContractError, match="named group"):
        load_contract(path)


def test_a_code_list_from_the_projects_levels_needs_the_project(tmp_path):
    path = _write(tmp_path, BASE + "  - {name: level, header: L, type: code, values_from: levels_above_block}\n")
    with pytest.raises(ContractError, match="values_from"):
        load_contract(path)
    levels = load_contract(path, SETTINGS.project_vars).column("level").values
    assert levels == SETTINGS.project_vars.levels[1:]
    path = _write(tmp_path, BASE + "  - {name: level, header: L, type: code, values_from: levels}\n")
    with pytest.raises(
        ContractError, match="column 'level', field 'values_from': Input should be 'levels_above_block'"
    ):
        load_contract(path, SETTINGS.project_vars)
    path = _write(
        tmp_path, BASE + "  - {name: level, header: L, type: code, values: [a], values_from: levels_above_block}\n"
    )
    with pytest.raises(ContractError, match="either values or values_from"):
        load_contract(path, SETTINGS.project_vars)
