"""A Stadt's contract variant (`<source>@<AGS>.yml` beside the common contract): each Stadt of a Kreis
delivers its register in its own software's format (other headers, encoding, delimiter, date
format, its own code list), read with the common contract and the variant over it into the same raw
rows. A variant changes only how the file is written, never what the warehouse holds. Real files in
each Stadt's encoding, a real warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orchestration.ingest import ingest
from orchestration.ingest.contracts import ContractError, load_contracts
from orchestration.ingest.loader import IngestFailed, _table_columns
from orchestration.pseudonyms import ENV_KEY
from orchestration.warehouse import connect
from tests.ingest.test_deliveries_per_gemeinde import kreis_with_registers

CONTRACTS = Path(__file__).resolve().parents[2] / "orchestration" / "contracts"
TEST_KEY = "kreis-test-key-0123456789"
AHLSTADT, BERGDORF = "05999004", "05999008"
VARIANT_NAME = f"register_persons@{BERGDORF}.yml"

# Bergdorf's register software: its own headers (with umlauts, so the encoding matters), UTF-8,
# commas, ISO dates, sex as 1/2/3, the household number under one header only.
VARIANT = {
    "description": "Bergdorf's register software (another vendor)",
    "encoding": "utf-8",
    "delimiter": ",",
    "columns": [
        {"name": "person_key", "header": "Person-Nr"},
        {"name": "sex", "header": "Geschlecht (Schlüssel)", "recode": {"1": "m", "2": "w", "3": "d"}},
        {"name": "nationality_1", "header": "Staatsangehörigkeit"},
        {"name": "nationality_2", "header": "Weitere Staatsangehörigkeit"},
        {"name": "street_key", "header": "Straßenschlüssel"},
        {"name": "household_key", "header": "Haushalt", "aliases": []},
        {"name": "moved_in_date", "header": "Einzug", "date_format": "%Y-%m-%d"},
    ],
}
COMMON_HEADER = (
    "Personen_ID;Geburtsjahr;Geburtsmonat;Geschlecht;Staatsangehoerigkeit_1;Staatsangehoerigkeit_2;"
    "Migrationshintergrund;Strassenschluessel;Hausnummer;Hausnummernzusatz;Haushalts_ID;Einzugsdatum;Wohnungsstatus"
)
VARIANT_HEADER = (
    "Person-Nr,Geburtsjahr,Geburtsmonat,Geschlecht (Schlüssel),Staatsangehörigkeit,Weitere Staatsangehörigkeit,"
    "Migrationshintergrund,Straßenschlüssel,Hausnummer,Hausnummernzusatz,Haushalt,Einzug,Wohnungsstatus"
)
# (key, birth year, sex, nationality 2, street, suffix, moved in)
PEOPLE = [
    ("00000000000000aa", 1980, "w", "", "00012", "", (2010, 3, 1)),
    ("00000000000000ab", 1975, "m", "100", "00012", "a", (2001, 11, 30)),
    ("00000000000000ac", 2001, "d", "", "00470", "", (2024, 1, 2)),
]
SEX_CODES = {"m": "1", "w": "2", "d": "3"}


def _common_file(people=PEOPLE) -> bytes:
    rows = [
        f"{key};{year};5;{sex};000;{nat2};n;{street};3;{suffix};H{i:08d};{d:02d}.{m:02d}.{y};H"
        for i, (key, year, sex, nat2, street, suffix, (y, m, d)) in enumerate(people, 1)
    ]
    return "\r\n".join([COMMON_HEADER, *rows, ""]).encode("cp1252")


def _variant_file(people=PEOPLE, sex_codes=SEX_CODES) -> bytes:
    rows = [
        f"{key},{year},5,{sex_codes[sex]},000,{nat2},n,{street},3,{suffix},H{i:08d},{y}-{m:02d}-{d:02d},H"
        for i, (key, year, sex, nat2, street, suffix, (y, m, d)) in enumerate(people, 1)
    ]
    return "\n".join([VARIANT_HEADER, *rows, ""]).encode("utf-8")


def _write_yaml(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def kreis(tmp_path, monkeypatch):
    """A Kreis's contracts (the register delivered per Gemeinde, Bergdorf's variant beside it) and
    its Gebietsgliederung."""
    monkeypatch.setenv(ENV_KEY, TEST_KEY)
    settings = kreis_with_registers(tmp_path)
    _write_yaml(settings.contracts_dir / VARIANT_NAME, VARIANT)
    con = connect(settings.warehouse_path)
    yield settings, con
    con.close()


def _deliver(settings, gemeinde: str, content: bytes) -> str:
    name = f"EWR_Bestand_{gemeinde}_20241231.csv"
    (settings.raw_dir / "einwohner" / name).write_bytes(content)
    return name


def _load(settings, con):
    return ingest(settings, con, sources=["geo_areas", "register_persons"])


# the columns that differ between two Städte's rows of the same people by design: the Gemeinde, the
# keys made per Gemeinde (pseudonyms, record key) and the provenance
PER_GEMEINDE = {"gemeinde", "person_key", "household_key", "_record_key", "_source_file", "_source_sha256"}


def test_two_formats_load_into_the_same_rows(kreis):
    settings, con = kreis
    _deliver(settings, AHLSTADT, _common_file())
    _deliver(settings, BERGDORF, _variant_file())
    report = _load(settings, con)
    loaded = {r.extract.gemeinde: (r.status, r.rows) for r in report.results if r.extract.gemeinde}
    assert loaded == {AHLSTADT: ("loaded", 3), BERGDORF: ("loaded", 3)}
    columns = [r[0] for r in con.execute("select column_name from (describe raw.register_persons)").fetchall()]
    same = [c for c in columns if c not in PER_GEMEINDE and c != "_loaded_at"]
    rows = {
        gemeinde: con.execute(
            f"select {', '.join(same)} from raw.register_persons where gemeinde = ? order by _source_line", [gemeinde]
        ).fetchall()
        for gemeinde in (AHLSTADT, BERGDORF)
    }
    assert rows[AHLSTADT] == rows[BERGDORF]
    # the warehouse holds the contract's codes, typed values and padded keys, whatever the format
    assert [r[same.index("sex")] for r in rows[BERGDORF]] == ["w", "m", "d"]
    assert {str(r[same.index("moved_in_date")]) for r in rows[BERGDORF]} == {"2010-03-01", "2001-11-30", "2024-01-02"}
    # one raw table for both: the variant does not change its columns
    contracts = load_contracts(settings.contracts_dir, settings.project_vars)
    common = contracts["register_persons"]
    assert set(common.variants) == {BERGDORF}
    assert _table_columns(common.for_gemeinde(BERGDORF)) == _table_columns(common)
    assert common.for_gemeinde(AHLSTADT) is common
    assert common.for_gemeinde(BERGDORF).location.endswith(VARIANT_NAME)


def test_a_code_outside_the_stadts_code_list_is_refused_with_its_header_and_line(kreis):
    settings, con = kreis
    people = [*PEOPLE[:1], ("00000000000000ab", 1975, "x", "", "00012", "", (2001, 11, 30))]
    # line 3 carries '4', no code of Bergdorf's software; line 2 the contract's 'w' instead of its '2'
    name = _deliver(settings, BERGDORF, _variant_file(people, {**SEX_CODES, "w": "w", "x": "4"}))
    with pytest.raises(IngestFailed) as exc:
        _load(settings, con)
    (rejected,) = exc.value.report.rejected
    problems = [(v.line, v.column, v.value) for v in rejected.violations]
    assert problems == [(2, "Geschlecht (Schlüssel)", "w"), (3, "Geschlecht (Schlüssel)", "4")]
    text = str(rejected.violations[1])
    assert f"einwohner/{name}, line 3, column 'Geschlecht (Schlüssel)'" in text
    assert "not in this Stadt's code list ['1', '2', '3']" in text
    assert f"`recode` of column 'sex' in {settings.contracts_dir / VARIANT_NAME}" in text
    error = (rejected.quarantined_to.parent / (rejected.quarantined_to.name + ".error.txt")).read_text()
    assert f"Contract:   {settings.contracts_dir / VARIANT_NAME}" in error
    assert con.execute("select count(*) from raw.register_persons").fetchone() == (0,)


def test_messages_about_a_stadts_file_name_its_variant(kreis):
    settings, con = kreis
    # the common contract's format from Bergdorf: cp1252 is not what its software writes
    _deliver(settings, BERGDORF, _common_file([(*PEOPLE[0][:4], "00012", "", (2010, 3, 1))]).replace(b"000;", b"\xe4;"))
    # Ahlstadt delivers Bergdorf's format: its headers are not in the common contract
    _deliver(settings, AHLSTADT, _variant_file().decode("utf-8").replace(",", ";").encode("cp1252"))
    with pytest.raises(IngestFailed) as exc:
        _load(settings, con)
    rejected = {r.extract.gemeinde: r.violations for r in exc.value.report.rejected}
    (encoding,) = rejected[BERGDORF]
    assert "not valid UTF-8, but the contract declares encoding utf-8" in str(encoding)
    unknown = [v for v in rejected[AHLSTADT] if v.column == "Person-Nr"]
    assert unknown and str(settings.contracts_dir / "register_persons.yml") in unknown[0].fix
    assert VARIANT_NAME not in " ".join(map(str, rejected[AHLSTADT]))


def test_a_missing_header_names_the_variants_header_and_file(kreis):
    settings, con = kreis
    _deliver(settings, BERGDORF, _variant_file().replace(b"Einzug,", b"Zuzug,"))
    with pytest.raises(IngestFailed) as exc:
        _load(settings, con)
    texts = [str(v) for v in exc.value.report.rejected[0].violations]
    assert any("column 'Einzug': required column is missing" in t and VARIANT_NAME in t for t in texts), texts


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ({"columns": [{"name": "sex", "type": "integer"}]}, "column 'sex', key 'type' is common to all Städte"),
        ({"columns": [{"name": "sex", "required": False}]}, "column 'sex', key 'required' is common to all Städte"),
        ({"columns": [{"name": "sex", "values": ["1", "2"]}]}, "column 'sex', key 'values' is common to all Städte"),
        (
            {"columns": [{"name": "person_key", "pseudonymise": False}]},
            "column 'person_key', key 'pseudonymise' is common",
        ),
        ({"unique_key": ["birth_year"]}, "key 'unique_key' is common to all Städte"),
        ({"source": "register_persons"}, "key 'source' is common to all Städte"),
        ({"file_pattern": "x.csv"}, "key 'file_pattern' is common to all Städte"),
        ({"encodng": "utf-8"}, "unknown field 'encodng'"),
        ({"encoding": "utf-16"}, "encoding"),
        ({"columns": [{"name": "geschlecht", "header": "G"}]}, "column 'geschlecht' is not a column of"),
        ({"columns": [{"name": "sex", "hedaer": "G"}]}, "unknown field 'hedaer'"),
        ({"columns": [{"name": "sex"}, {"name": "sex"}]}, "column 'sex' is listed twice"),
        ({"columns": [{"name": "sex", "recode": {"1": "x"}}]}, "recode maps '1' to 'x', which is not in the code list"),
        ({"columns": [{"name": "sex", "recode": {1: "m"}}]}, "recode"),
        ({"columns": [{"name": "birth_year", "recode": {"1": "m"}}]}, "recode only applies to type code"),
        ({"columns": [{"name": "birth_year", "date_format": "%Y"}]}, "date_format only applies to type date"),
        ({"columns": [{"name": "sex", "header": "Geburtsjahr"}]}, "headers or aliases used twice"),
        ({"footer": {"column": "nosuch", "pattern": "^Summe"}}, "footer names unknown column 'nosuch'"),
        (["encoding", "utf-8"], "a contract variant is a mapping"),
    ],
)
def test_an_invalid_variant_is_refused_naming_its_file(kreis, variant, expected):
    settings, _ = kreis
    path = _write_yaml(settings.contracts_dir / VARIANT_NAME, variant)
    with pytest.raises(ContractError) as exc:
        load_contracts(settings.contracts_dir, settings.project_vars)
    assert expected in str(exc.value)
    assert str(path) in str(exc.value)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("register_persons@5999008.yml", "'5999008' is no Gemeinde key"),
        ("register_persons@.yml", "'' is no Gemeinde key"),
        ("register_persons@05999008@x.yml", "is named <source>@<Gemeinde key>.yml"),
        ("geo_addresses@05999008.yml", "source 'geo_addresses' is not delivered per Gemeinde"),
        ("register_person@05999008.yml", "no contract register_person.yml"),
    ],
)
def test_a_variant_for_no_stadts_files_is_refused(kreis, name, expected):
    settings, _ = kreis
    (settings.contracts_dir / VARIANT_NAME).unlink()
    path = _write_yaml(settings.contracts_dir / name, {"encoding": "utf-8"})
    with pytest.raises(ContractError) as exc:
        load_contracts(settings.contracts_dir, settings.project_vars)
    assert expected in str(exc.value)
    assert str(path) in str(exc.value)


def test_a_variant_adds_no_table(kreis):
    """The dbt sources and the Gemeinde macro come from the common contracts: a Stadt's variant is
    no source of its own."""
    from orchestration.catalogue.render import render_deployment_macro, render_sources_yml
    from orchestration.ingest.contracts import contract_files

    settings, _ = kreis
    assert settings.contracts_dir / VARIANT_NAME not in contract_files(settings.contracts_dir)
    sources = yaml.safe_load(render_sources_yml(settings.contracts_dir))["sources"]
    tables = [t["name"] for s in sources for t in s["tables"]]
    assert tables.count("register_persons") == 1 and not any("@" in t for t in tables)
    assert '"register_persons"' in render_deployment_macro(settings.contracts_dir)
