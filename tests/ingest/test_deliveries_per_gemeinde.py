"""A Kreis's Städte each deliver their own register (contract key `delivered_per: gemeinde`): the
file name names the Gemeinde, its rows replace only that Gemeinde's, its keys are the Stadt's own
(the same register number in two Städte is two persons), and a file naming no Gemeinde of the
Gebietsgliederung is refused. Real cp1252 files, a real warehouse."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from orchestration.build_plan import current_loads
from orchestration.ingest import ingest
from orchestration.ingest.contracts import ContractError, load_contract, load_contracts
from orchestration.ingest.loader import IngestFailed, released_violation
from orchestration.pseudonyms import ENV_KEY
from orchestration.warehouse import connect
from tests.helpers import settings_for

CONTRACTS = Path(__file__).resolve().parents[2] / "orchestration" / "contracts"
TEST_KEY = "kreis-test-key-0123456789"

AREAS = (
    "Ebene;Schluessel;Name;Oberbezirk;Gueltig_ab;Gueltig_bis\n"
    "gemeinde;05999004;Ahlstadt;;01.01.2000;\n"
    "gemeinde;05999008;Bergdorf;;01.01.2000;\n"
)
HEADER = (
    "Personen_ID;Geburtsjahr;Geburtsmonat;Geschlecht;Staatsangehoerigkeit_1;Staatsangehoerigkeit_2;"
    "Migrationshintergrund;Strassenschluessel;Hausnummer;Hausnummernzusatz;Haushalts_ID;Einzugsdatum;Wohnungsstatus\r\n"
)


def _persons(*keys: str, street: str = "00012") -> bytes:
    rows = [f"{key};1980;5;w;000;;n;{street};3;;H{i:08d};01.03.2010;H\r\n" for i, key in enumerate(keys, 1)]
    return (HEADER + "".join(rows)).encode("cp1252")


def kreis_with_registers(tmp_path: Path):
    """Settings of a Kreis under `tmp_path`: its contracts (the register delivered per Gemeinde),
    its Gebietsgliederung of two Gemeinden and an empty einwohner/ folder."""
    contracts = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, contracts)
    path = contracts / "register_persons.yml"
    contract = yaml.safe_load(path.read_text(encoding="utf-8"))
    contract["file_pattern"] = r"EWR_Bestand_(?P<gemeinde>\d{8})_(?P<stichtag>\d{8})\.csv"
    contract["delivered_per"] = "gemeinde"
    path.write_text(yaml.safe_dump(contract, allow_unicode=True, sort_keys=False), encoding="utf-8")
    settings = settings_for(tmp_path).with_paths(contracts_dir=contracts)
    (settings.raw_dir / "gebiete").mkdir(parents=True)
    (settings.raw_dir / "gebiete" / "gebietsgliederung.csv").write_text(AREAS, encoding="utf-8")
    (settings.raw_dir / "einwohner").mkdir()
    return settings


@pytest.fixture
def kreis(tmp_path, monkeypatch):
    """A Kreis's contracts (the register delivered per Gemeinde) and its Gebietsgliederung."""
    monkeypatch.setenv(ENV_KEY, TEST_KEY)
    settings = kreis_with_registers(tmp_path)
    con = connect(settings.warehouse_path)
    yield settings, con
    con.close()


def _deliver(settings, name: str, content: bytes) -> None:
    (settings.raw_dir / "einwohner" / name).write_bytes(content)


def _load(settings, con):
    return ingest(settings, con, sources=["geo_areas", "register_persons"])


def test_each_stadt_delivers_its_own_register(kreis):
    settings, con = kreis
    same = "00000000000000aa"  # both Städte's software numbers its persons from the same range
    _deliver(settings, "EWR_Bestand_05999004_20241231.csv", _persons(same, "00000000000000ab"))
    _deliver(settings, "EWR_Bestand_05999008_20241231.csv", _persons(same))
    report = _load(settings, con)
    assert sorted((r.extract.gemeinde, r.status, r.rows) for r in report.results if r.extract.gemeinde) == [
        ("05999004", "loaded", 2),
        ("05999008", "loaded", 1),
    ]
    rows = con.execute(
        "select gemeinde, count(*), count(distinct person_key), count(distinct _record_key) "
        "from raw.register_persons group by gemeinde order by gemeinde"
    ).fetchall()
    assert rows == [("05999004", 2, 2, 2), ("05999008", 1, 1, 1)]
    # the same number in two registers is two persons: two pseudonyms, two record keys
    assert con.execute(
        "select count(distinct person_key), count(distinct _record_key) from raw.register_persons"
    ).fetchone() == (3, 3)
    # the load log and the build plan know each Gemeinde's file as a delivery of its own
    assert ("register_persons@05999004", date(2024, 12, 31)) in {(d, day) for d, day, _ in current_loads(con)}
    assert ("register_persons@05999008", date(2024, 12, 31)) in {(d, day) for d, day, _ in current_loads(con)}

    # a corrected file of one Stadt replaces that Stadt's rows only; the other's stay unchanged
    before = con.execute("select * from raw.register_persons where gemeinde = '05999008'").fetchall()
    _deliver(settings, "EWR_Bestand_05999004_20241231.csv", _persons(same))
    report = _load(settings, con)
    assert {(r.extract.gemeinde, r.status) for r in report.results if r.extract.gemeinde} == {
        ("05999004", "loaded"),
        ("05999008", "unchanged"),
    }
    assert con.execute("select gemeinde, count(*) from raw.register_persons group by all order by 1").fetchall() == [
        ("05999004", 1),
        ("05999008", 1),
    ]
    assert con.execute("select * from raw.register_persons where gemeinde = '05999008'").fetchall() == before


def test_the_gebietsgliederung_loads_before_the_files_it_checks(kreis):
    """A per-Gemeinde source is loaded after the Gebietsgliederung that its file names are checked
    against, also where it references nothing and comes first in the alphabet (geo_addresses)."""
    settings, _ = kreis
    path = settings.contracts_dir / "geo_addresses.yml"
    contract = yaml.safe_load(path.read_text(encoding="utf-8"))
    contract["file_pattern"] = r"adressen_(?P<gemeinde>\d{8})\.csv"
    contract["delivered_per"] = "gemeinde"
    path.write_text(yaml.safe_dump(contract, allow_unicode=True, sort_keys=False), encoding="utf-8")
    order = list(load_contracts(settings.contracts_dir, settings.project_vars))
    assert order.index("geo_areas") < order.index("geo_addresses")


def test_a_file_naming_no_gemeinde_of_the_kreis_is_refused(kreis):
    settings, con = kreis
    _deliver(settings, "EWR_Bestand_05999004_20241231.csv", _persons("00000000000000aa"))
    _deliver(settings, "EWR_Bestand_05999099_20241231.csv", _persons("00000000000000ab"))
    with pytest.raises(IngestFailed) as exc:
        _load(settings, con)
    (rejected,) = exc.value.report.rejected
    assert rejected.extract.path.name == "EWR_Bestand_05999099_20241231.csv"
    (problem,) = rejected.violations
    assert "Gemeinde '05999099', which is no Gemeinde of the Gebietsgliederung" in str(problem)
    assert "einwohner/EWR_Bestand_05999099_20241231.csv" in str(problem)
    assert rejected.quarantined_to is not None and rejected.quarantined_to.exists()
    # what it means for the Kreis: no release without that Stadt
    assert "For the Kreis: the files of Gemeinde 05999099 above are missing, so no Kreis release" in str(exc.value)
    # the other Stadt's file loaded; nothing of the refused one
    assert con.execute("select distinct gemeinde from raw.register_persons").fetchall() == [("05999004",)]


def test_a_release_keeps_each_stadts_file(kreis):
    """A release made from one Stadt's file refuses another file of that Stadt and Stichtag, not
    the file of another Stadt."""
    settings, con = kreis
    _deliver(settings, "EWR_Bestand_05999004_20241231.csv", _persons("00000000000000aa"))
    report = _load(settings, con)
    (loaded,) = [r for r in report.results if r.extract.gemeinde]
    released = {("register_persons@05999004", "2024-12-31"): ("0" * 64, "2024-12-31/v1")}
    refused = released_violation(loaded.extract, loaded.sha256, "x.csv", released)
    assert refused is not None and "register_persons@05999004 is already released" in str(refused)
    other = {("register_persons@05999008", "2024-12-31"): ("0" * 64, "2024-12-31/v1")}
    assert released_violation(loaded.extract, loaded.sha256, "x.csv", other) is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"delivered_per": "gemeinde"}, "needs a named group (?P<gemeinde>"),
        ({"file_pattern": r"EWR_Bestand_(?P<gemeinde>\d{8})_(?P<stichtag>\d{8})\.csv"}, "set delivered_per: gemeinde"),
        ({"delivered_per": "stadt"}, "delivered_per"),
    ],
)
def test_a_contract_says_consistently_who_delivers(tmp_path, changes, expected):
    contract = yaml.safe_load((CONTRACTS / "register_persons.yml").read_text(encoding="utf-8"))
    contract.update(changes)
    path = tmp_path / "register_persons.yml"
    path.write_text(yaml.safe_dump(contract, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContractError) as exc:
        load_contract(path)
    assert expected in str(exc.value)
