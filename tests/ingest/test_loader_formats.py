"""The loader on hand-made files in the formats departments really send: cp1252 CSV with CRLF,
decimal comma and thousands dot, headers renamed between years; BA-style XLSX with a title
block, codes without leading zeros, '*' and '-' markers, a total row and footnotes."""

from __future__ import annotations

from datetime import date

import openpyxl
import pytest

from orchestration.ingest import ingest
from orchestration.pseudonyms import ENV_KEY, load_key
from orchestration.warehouse import connect
from tests.helpers import settings_for

ADDRESSES = (
    "Adress_ID;Strassenschluessel;Strassenname;Hausnummer;Zusatz;Baublock;PLZ;Rechtswert;Hochwert;Gueltig_ab;Gueltig_bis\n"
    "A000001;00012;Hauptstraße;12;a;00001;12345;381234,56;5701234,50;01.01.2000;\n"
    "A000002;00012;Hauptstraße;14;;00002;12345;381300,00;5701300,00;01.01.2000;\n"
    "A000003;00013;Große Gasse;1;;00010;12345;381400,00;5701400,00;01.01.2000;31.12.2021\n"
)

MEMBERSHIP = (
    "Baublock;Ebene;Schluessel;Gueltig_ab;Gueltig_bis\n"
    "00001;stadtviertel;0111;01.01.2000;\n"
    "00002;stadtviertel;0111;01.01.2000;\n"
    "00010;stadtviertel;0112;01.01.2000;\n"
)

WOHNGELD_2023 = (
    "Antragsnummer;Strasse;Hausnummer;Anzahl_Haushaltsmitglieder;Wohngeld_EUR;Bewilligt_bis\r\n"
    "WG0000001;Hauptstraße;12 A;3;1.234,56;31.12.2024\r\n"
    "WG0000002;Große Gasse;1;1;87,5;30.06.2024\r\n"
)


TEST_KEY = "loader-test-key-0123456789"  # these extracts stand for real ones: no demo key


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_KEY, TEST_KEY)
    settings = settings_for(tmp_path)
    (settings.raw_dir / "gebiete").mkdir(parents=True)
    (settings.raw_dir / "gebiete" / "adressen.csv").write_text(ADDRESSES, encoding="utf-8")
    (settings.raw_dir / "gebiete" / "baublock_zuordnung.csv").write_text(MEMBERSHIP, encoding="utf-8")
    con = connect(settings.warehouse_path)
    yield settings, con
    con.close()


def _ba_workbook(path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Arbeitsmarkt"
    ws.append(["Arbeitsmarktstatistik nach Baublöcken"])
    ws.append(["Musterstadt, Dezember 2021"])
    ws.append([])
    ws.append(
        [
            "Baublock",
            "Arbeitslose insgesamt",
            "Arbeitslose SGB III",
            "Arbeitslose SGB II",
            "Langzeitarbeitslose",
            "SV-Beschäftigte am Wohnort",
        ]
    )
    for row in rows:
        ws.append(row)
    wb.save(path)


def test_cp1252_csv_with_decimal_comma_and_renamed_header(env):
    settings, con = env
    folder = settings.raw_dir / "wohngeld"
    folder.mkdir()
    (folder / "Wohngeld_20231231.csv").write_bytes(WOHNGELD_2023.encode("cp1252"))
    report = ingest(settings, con, sources=["geo_addresses", "wohngeld"])
    assert [r.status for r in report.results] == ["loaded", "loaded"]
    rows = con.execute(
        "select application_number, street_name, house_number_text, household_size, benefit_eur, approved_until, "
        "_source_line from raw.wohngeld order by _source_line"
    ).fetchall()
    key = load_key()  # application numbers are stored as their keyed hash
    assert rows == [
        (key.pseudonym("WG0000001"), "Hauptstraße", "12 A", 3, 1234.56, date(2024, 12, 31), 2),
        (key.pseudonym("WG0000002"), "Große Gasse", "1", 1, 87.5, date(2024, 6, 30), 3),
    ]
    sha, file = con.execute("select distinct _source_sha256, _source_file from raw.wohngeld").fetchone()
    assert file == "wohngeld/Wohngeld_20231231.csv" and len(sha) == 64


def test_ba_xlsx_with_title_block_markers_total_row_and_footnotes(env):
    settings, con = env
    folder = settings.raw_dir / "arbeitsagentur"
    folder.mkdir()
    _ba_workbook(
        folder / "BA_Arbeitsmarkt_Baublock_202112.xlsx",
        [
            [1, 12, 5, 7, 3, 210],  # code written as a number, without leading zeros
            ["00002", "*", "-", "*", "-", 88],
            [10, "-", "-", "-", "-", 4],
            ["Insgesamt", 14, 5, 8, 3, 302],
            ["*) Aus Datenschutzgründen werden Werte von 1 und 2 anonymisiert."],
            ["Quelle: Statistik der Bundesagentur für Arbeit"],
        ],
    )
    report = ingest(settings, con, sources=["geo_block_membership", "ba_labour_market"])
    ba = report.results[-1]
    assert ba.status == "loaded" and ba.rows == 3 and ba.footer_rows == 3
    rows = con.execute(
        "select block_code, unemployed_total, unemployed_total_suppressed, unemployed_sgb3, employees_svb, "
        "_source_line, stichtag from raw.ba_labour_market order by block_code"
    ).fetchall()
    assert rows == [
        ("00001", 12, False, 5, 210, 5, date(2021, 12, 31)),
        ("00002", None, True, 0, 88, 6, date(2021, 12, 31)),
        ("00010", 0, False, 0, 4, 7, date(2021, 12, 31)),
    ]


def test_unchanged_files_are_skipped_and_a_new_delivery_replaces_only_its_stichtag(env):
    settings, con = env
    folder = settings.raw_dir / "wohngeld"
    folder.mkdir()
    (folder / "Wohngeld_20231231.csv").write_bytes(WOHNGELD_2023.encode("cp1252"))
    (folder / "Wohngeld_20221231.csv").write_bytes(
        WOHNGELD_2023.replace("Anzahl_Haushaltsmitglieder", "Haushaltsgroesse").encode("cp1252")
    )
    ingest(settings, con)
    again = ingest(settings, con)
    assert {r.status for r in again.results} == {"unchanged"}
    corrected = WOHNGELD_2023.replace("87,5", "97,5") + "WG0000003;Hauptstr.;14;2;300,00;31.12.2024\r\n"
    (folder / "Wohngeld_20231231.csv").write_bytes(corrected.encode("cp1252"))
    third = ingest(settings, con)
    assert [r.status for r in third.results if r.extract.source == "wohngeld"] == ["unchanged", "loaded"]
    counts = dict(con.execute("select stichtag, count(*) from raw.wohngeld group by stichtag").fetchall())
    assert counts == {date(2022, 12, 31): 2, date(2023, 12, 31): 3}
    assert con.execute(
        "select benefit_eur from raw.wohngeld where application_number = ? and stichtag = date '2023-12-31'",
        [load_key().pseudonym("WG0000002")],  # the warehouse holds the keyed hash, never the number
    ).fetchone() == (97.5,)


def test_the_level_code_lists_are_the_projects_levels(env, tmp_path):
    """geo_block_membership takes its levels from dbt_project.yml's vars (values_from), the one place
    they are written: a project that adds a level accepts its memberships, and an unknown level is
    refused naming file, line, column and the levels allowed."""
    import yaml

    from orchestration.ingest import IngestFailed
    from orchestration.ingest.contracts import load_contracts

    settings, con = env
    project = yaml.safe_load((settings.dbt_project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    project["vars"]["non_nested_levels"] = ["sozialraum", "schulbezirk"]
    folder = tmp_path / "dbt_project"
    folder.mkdir()
    (folder / "dbt_project.yml").write_text(yaml.safe_dump(project, sort_keys=False), encoding="utf-8")
    settings = settings.with_paths(dbt_project_dir=folder)
    contracts = load_contracts(settings.contracts_dir, settings.project_vars)
    levels = ["stadtviertel", "stadtteil", "stadtbezirk", "gemeinde", "sozialraum", "schulbezirk"]
    assert contracts["geo_block_membership"].column("level").values == levels
    assert contracts["geo_areas"].column("level").values == levels

    path = settings.raw_dir / "gebiete" / "baublock_zuordnung.csv"
    path.write_text(MEMBERSHIP + "00001;schulbezirk;S1;01.01.2000;\n", encoding="utf-8")
    [result] = ingest(settings, con, sources=["geo_block_membership"]).results
    assert result.status == "loaded" and result.rows == 4
    assert con.execute("select count(*) from raw.geo_block_membership where level = 'schulbezirk'").fetchone() == (1,)

    path.write_text(MEMBERSHIP + "00002;wahlbezirk;W1;01.01.2000;\n", encoding="utf-8")
    with pytest.raises(IngestFailed) as exc:
        ingest(settings, con, sources=["geo_block_membership"])
    message = str(exc.value)
    assert "baublock_zuordnung.csv, line 5, column 'Ebene'" in message, message
    assert str(levels) in message and "'wahlbezirk'" in message, message
    assert "non_nested_levels in dbt_project.yml" in message, message
