"""The Musterkreis generator (orchestration/demo/kreis.py): a Kreis deployment folder of four small
Städte, generated once per module. Real files, read as the adapted contracts describe them."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from orchestration.demo import simulate
from orchestration.demo.config import DEFAULT_STICHTAGE
from orchestration.demo.extracts import DEMO_MARKER
from orchestration.demo.kreis import (
    KREIS_WIDE_WITH_GEMEINDE,
    OTHER_SOFTWARE,
    OTHER_SOFTWARE_AGS,
    PER_STADT_PATTERNS,
    KreisConfig,
    Stadt,
    generate_kreis,
    simulate_kreis,
    stadtteile_for,
)
from orchestration.demo.simulation import Simulation
from orchestration.demo.sources import register
from tests.demo.test_generator import (
    checked_tables,
    files_of,
    read_table,
    sha256s,
    stichtag_of,
)

# two Stichtage on either side of the Stadtviertel recut (01.01.2022)
CONFIG = KreisConfig.small(stichtage=("2021-12-31", "2022-12-31"))
STICHTAGE = [date(2021, 12, 31), date(2022, 12, 31)]
NESTED = ["stadtviertel", "stadtteil", "stadtbezirk", "gemeinde", "kreis"]
AGS = [s.ags for s in CONFIG.staedte]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("musterkreis")
    generate_kreis(out, CONFIG)
    return out


@pytest.fixture(scope="module")
def raw(folder) -> Path:
    return folder / "raw"


@pytest.fixture(scope="module")
def kreis():
    return simulate_kreis(CONFIG)


@pytest.fixture(scope="module")
def contracts(folder) -> dict[str, dict]:
    """The Kreis's common contracts by source; each Stadt's files as its contract reads them:
    a source with a Stadt's variant (<source>@<AGS>.yml) is split into the common contract for the
    other Städte's files and one effective contract for that Stadt's, as `effective` merges them."""
    common, variants = {}, {}
    for path in sorted((folder / "contracts").glob("*.yml")):
        contract = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "@" in path.stem:
            source, ags = path.stem.split("@")
            variants[source, ags] = contract
        else:
            common[contract["source"]] = contract
    out = dict(common)
    for (source, ags), variant in variants.items():
        group = r"(?P<gemeinde>\d{8})"
        assert group in common[source]["file_pattern"]
        out[source] = {
            **common[source],
            "file_pattern": common[source]["file_pattern"].replace(group, rf"(?!{ags}){group}"),
        }
        out[f"{source}@{ags}"] = effective(common[source], variant, ags)
    return out


def effective(common: dict, variant: dict, ags: str) -> dict:
    """A Stadt's contract as the loader merges it (contracts.load_variant), for the checks of
    tests/demo: a recoded column's code list is the Stadt's codes."""
    out = {**common, **{k: v for k, v in variant.items() if k not in ("columns", "description")}}
    out["file_pattern"] = common["file_pattern"].replace(r"(?P<gemeinde>\d{8})", f"(?P<gemeinde>{ags})")
    changes = {c["name"]: c for c in variant.get("columns", [])}
    columns = []
    for column in common["columns"]:
        column = {**column, **{k: v for k, v in changes.get(column["name"], {}).items() if k != "name"}}
        if "recode" in column:
            column["values"] = list(column.pop("recode"))
            column.pop("pattern", None)
        columns.append(column)
    out["columns"] = columns
    return out


@pytest.fixture(scope="module")
def areas(raw) -> pd.DataFrame:
    return pd.read_csv(raw / "gebiete" / "gebietsgliederung.csv", sep=";", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def membership(raw) -> pd.DataFrame:
    return pd.read_csv(raw / "gebiete" / "baublock_zuordnung.csv", sep=";", dtype=str, keep_default_na=False)


def valid_at(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    start = pd.to_datetime(frame["Gueltig_ab"], format="%d.%m.%Y")
    end = pd.to_datetime(frame["Gueltig_bis"].replace("", None), format="%d.%m.%Y")
    stamp = pd.Timestamp(day)
    return frame[(start <= stamp) & (end.isna() | (end >= stamp))]


# --------------------------------------------------------------------------------------------------
# configuration, folder, reproducibility


def test_config_validation_and_defaults():
    default = KreisConfig()
    assert len(default.staedte) == 4 and default.code == "05999"
    assert all(20_000 <= s.residents <= 100_000 for s in default.staedte)
    assert all(6_000 <= s.residents <= 12_000 for s in CONFIG.staedte)
    levels = {s.name: s.levels for s in default.staedte}
    assert ("stadtviertel", "stadtteil", "stadtbezirk", "gemeinde") in levels.values()
    assert any("stadtviertel" not in lv and "stadtbezirk" in lv for lv in levels.values())
    assert any("stadtbezirk" not in lv for lv in levels.values())
    with pytest.raises(ValueError, match="4 to 600"):
        KreisConfig(staedte=default.staedte[:3])
    with pytest.raises(ValueError, match="starting with 05999"):
        KreisConfig(staedte=(*default.staedte[:3], Stadt("Anderswo", "05111004", 3_000, 1)))
    with pytest.raises(ValueError, match="share a AGS"):
        KreisConfig(staedte=(*default.staedte, Stadt("Doppelt", default.staedte[0].ags, 3_000, 1)))


def test_the_folder_holds_raw_contracts_vars_and_gates(folder):
    assert sorted(p.name for p in folder.iterdir()) == ["contracts", "gates.yml", "raw", "vars.yml"]
    gates = yaml.safe_load((folder / "gates.yml").read_text(encoding="utf-8"))
    assert gates["record_counts"]["min_records"] == 2_000
    variables = yaml.safe_load((folder / "vars.yml").read_text(encoding="utf-8"))
    assert variables["nested_levels"] == NESTED
    assert variables["public_levels"] == [*NESTED, "sozialraum"]
    assert (folder / "raw" / DEMO_MARKER).is_file() and not (folder / "raw" / ".demo-generating").exists()


def test_same_config_gives_identical_bytes(tmp_path, folder):
    generate_kreis(tmp_path, CONFIG)
    assert sha256s(tmp_path) == sha256s(folder)


def test_the_marker_lists_every_extract(raw):
    listed = {line.split("  ", 1)[1] for line in (raw / DEMO_MARKER).read_text(encoding="utf-8").splitlines()[3:]}
    on_disk = {p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file() and p.name != DEMO_MARKER}
    assert listed == on_disk


# --------------------------------------------------------------------------------------------------
# codes and levels


def test_codes_are_kreis_unique_and_carry_the_gemeinde(raw, areas, kreis):
    for level, group in areas.groupby("Ebene"):
        assert group["Schluessel"].is_unique, level
    assert list(areas.loc[areas["Ebene"] == "kreis", "Schluessel"]) == ["05999"]
    assert sorted(areas.loc[areas["Ebene"] == "gemeinde", "Schluessel"]) == AGS
    below = areas[~areas["Ebene"].isin(["kreis", "gemeinde", "sozialraum"])]
    widths = {"stadtbezirk": 5, "stadtteil": 6, "stadtviertel": 7}
    for level, code in zip(below["Ebene"], below["Schluessel"], strict=True):
        assert len(code) == widths[level] and code[:3] in {a[5:] for a in AGS}, (level, code)
    polygons = json.loads((raw / "gebiete" / "baubloecke.geojson").read_text(encoding="utf-8"))
    blocks = [f["properties"]["Baublock"] for f in polygons["features"]]
    assert len(blocks) == len(set(blocks)) == len(kreis.blocks)
    assert all(re.fullmatch(r"\d{8}", b) for b in blocks)
    assert blocks == sorted(blocks)
    address_ids: list[str] = []
    for ags in AGS:
        addresses = pd.read_csv(raw / "gebiete" / f"adressen_{ags}.csv", sep=";", dtype=str, keep_default_na=False)
        assert addresses["Adress_ID"].str.fullmatch(rf"A{ags[5:]}\d{{6}}").all()
        assert addresses["Baublock"].str.startswith(ags[5:]).all()
        address_ids += addresses["Adress_ID"].tolist()
    assert len(address_ids) == len(set(address_ids))
    # the blocks truth names its Gemeinde, and the block code says the same
    assert (kreis.blocks["block_code"].str[:3] == kreis.blocks["gemeinde"].str[5:]).all()


def test_the_staedte_lie_side_by_side(raw):
    polygons = json.loads((raw / "gebiete" / "baubloecke.geojson").read_text(encoding="utf-8"))
    extent: dict[str, list[float]] = {}
    for feature in polygons["features"]:
        xs = [x for x, _y in feature["geometry"]["coordinates"][0]]
        box = extent.setdefault(feature["properties"]["Baublock"][:3], [float("inf"), float("-inf")])
        box[0], box[1] = min(box[0], *xs), max(box[1], *xs)
    boxes = [extent[a[5:]] for a in AGS]  # west to east, in the order of the configuration
    for west, east in zip(boxes, boxes[1:], strict=False):
        assert west[1] < east[0] < west[1] + 2_000  # no overlap, neighbours
    assert all(200_000 < x < 900_000 for box in boxes for x in box)


def test_every_block_is_in_exactly_one_unit_per_level_of_its_stadt(areas, membership, kreis):
    expected_levels = {s.ags: [*s.levels, "kreis"] for s in CONFIG.staedte}
    gemeinde_of_prefix = {a[5:]: a for a in AGS}
    for day in STICHTAGE:
        units = valid_at(areas, day).set_index("Schluessel")
        nested = valid_at(membership, day)
        nested = nested[nested["Ebene"] != "sozialraum"]
        assert nested["Baublock"].is_unique, day  # one first level, one unit
        assert set(nested["Baublock"]) == set(kreis.blocks["block_code"])
        for block, level, code in zip(nested["Baublock"], nested["Ebene"], nested["Schluessel"], strict=True):
            chain = [level]
            gemeinde = None
            while code in units.index:
                unit = units.loc[code]
                assert unit["Ebene"] == chain[-1]
                if unit["Ebene"] == "gemeinde":
                    gemeinde = code
                parent = unit["Oberbezirk"]
                if not parent:
                    break
                parent_level = units.loc[parent, "Ebene"]
                # Oberebene: the parent's level, or empty for the next nested level up
                declared = unit["Oberebene"] or NESTED[NESTED.index(unit["Ebene"]) + 1]
                assert parent_level == declared, (code, parent, parent_level, declared)
                chain.append(parent_level)
                code = parent
            assert gemeinde == gemeinde_of_prefix[block[:3]], block
            assert chain == expected_levels[gemeinde], (block, chain)


def test_levels_per_stadt(areas, membership):
    first_level = membership[membership["Ebene"] != "sozialraum"].groupby(membership["Baublock"].str[:3])["Ebene"]
    for stadt in CONFIG.staedte:
        prefix = stadt.ags[5:]
        own = areas[areas["Schluessel"].str.startswith(prefix) & (areas["Ebene"] != "gemeinde")]
        assert set(own["Ebene"]) == set(stadt.levels) - {"gemeinde"}, stadt.name
        assert set(first_level.get_group(prefix)) == {"stadtviertel" if stadt.stadtviertel else "stadtteil"}
        stadtteile = own[own["Ebene"] == "stadtteil"]
        if stadt.stadtbezirke:
            assert (stadtteile["Oberebene"] == "").all() and stadtteile["Oberbezirk"].str.len().eq(5).all()
        else:
            assert (stadtteile["Oberebene"] == "gemeinde").all() and (stadtteile["Oberbezirk"] == stadt.ags).all()
    gemeinden = areas[areas["Ebene"] == "gemeinde"]
    assert (gemeinden["Oberbezirk"] == "05999").all() and (gemeinden["Oberebene"] == "").all()


def test_sozialraeume_are_kreis_wide_and_one_crosses_a_gemeinde_border(areas, membership):
    sozialraeume = areas[areas["Ebene"] == "sozialraum"]
    assert (sozialraeume["Oberbezirk"] == "05999").all() and (sozialraeume["Oberebene"] == "kreis").all()
    rows = membership[membership["Ebene"] == "sozialraum"]
    assert rows["Baublock"].is_unique and set(rows["Schluessel"]) == set(sozialraeume["Schluessel"])
    gemeinden = rows.groupby("Schluessel")["Baublock"].agg(lambda b: sorted(set(b.str[:3])))
    crossing = gemeinden[gemeinden.map(len) > 1]
    assert len(crossing) == 1
    assert crossing.iloc[0] == [AGS[0][5:], AGS[1][5:]]  # the two western neighbours


# --------------------------------------------------------------------------------------------------
# files and contracts


def test_contracts_parse_and_their_patterns_match_the_files(raw, contracts):
    assert len(contracts) == 15 + len(OTHER_SOFTWARE)
    matched: dict[Path, list[str]] = {}
    for name, contract in contracts.items():
        source = contract["source"]
        found = files_of(raw, contract)
        if source == "planung_wohnen":
            delivering = [s.ags for s in CONFIG.staedte if s.stadtviertel]
            assert len(found) == len(delivering) * len(STICHTAGE)
        else:
            assert found, name
        for path, _match in found:
            matched.setdefault(path, []).append(name)
        assert ("delivered_per" in contract) == (source in PER_STADT_PATTERNS), source
        if source in PER_STADT_PATTERNS:
            assert contract["delivered_per"] == "gemeinde"
            groups = {m["gemeinde"] for _p, m in found}
            delivering = {s.ags for s in CONFIG.staedte if s.stadtviertel or source != "planung_wohnen"}
            if "@" in name:  # the Stadt with its own software
                delivering = {OTHER_SOFTWARE_AGS}
            elif source in OTHER_SOFTWARE:
                delivering -= {OTHER_SOFTWARE_AGS}
            assert groups == delivering, name
    extracts = [p for p in raw.rglob("*") if p.is_file() and p.name != DEMO_MARKER]
    assert sorted(matched) == sorted(extracts)
    assert all(len(sources) == 1 for sources in matched.values())


def test_every_value_follows_the_kreis_contracts(raw, contracts):
    checked = 0
    for contract in contracts.values():
        if contract["format"] != "geojson":
            checked += sum(1 for _ in checked_tables(raw, contract))
    # every table the generator wrote was checked (none matched no contract)
    assert checked == sum(1 for p in raw.rglob("*") if p.suffix in (".csv", ".xlsx"))


def test_kreis_wide_files_hold_every_stadt_with_its_gemeinde(raw, contracts, kreis):
    frames = {
        "jobcenter_sgb2": "sgb2",
        "sozialamt_sgb12": "sgb12",
        "gesundheitsamt_seu": "school_entry",
        "jugendamt_kita": "daycare",
        "schulamt_uebergaenge": "school_transitions",
    }
    assert set(frames) == set(KREIS_WIDE_WITH_GEMEINDE)
    for source, name in frames.items():
        contract = contracts[source]
        assert contract["columns"][0] == {
            "name": "gemeinde",
            "header": "Gemeinde",
            "type": "code",
            "required": True,
            "pattern": r"^\d{8}$",
        }
        truth = kreis.combined(name)
        for path, match in files_of(raw, contract):
            stichtag = stichtag_of(contract, match)
            header, body = read_table(path, contract)
            assert header[0] == "Gemeinde"
            counts = pd.Series([row[0] for row in body]).value_counts().sort_index()
            expected = truth[truth["stichtag"] == pd.Timestamp(stichtag)]["gemeinde"].value_counts().sort_index()
            assert counts.to_dict() == expected.to_dict(), path.name
            assert set(counts.index) == set(AGS)
    # per Stadt: no Gemeinde column, the AGS is in the name
    for source in PER_STADT_PATTERNS:
        assert all(c["name"] != "gemeinde" for c in contracts[source]["columns"])


def test_per_stadt_files_hold_that_stadts_records(raw, contracts, kreis):
    for name in ("register_persons", f"register_persons@{OTHER_SOFTWARE_AGS}"):
        contract = contracts[name]
        for path, match in files_of(raw, contract):
            sim = kreis.staedte[match["gemeinde"]]
            stichtag = stichtag_of(contract, match)
            _header, body = read_table(path, contract)
            assert len(body) == (sim.persons["stichtag"] == pd.Timestamp(stichtag)).sum()
    contract = contracts["ba_labour_market"]
    for path, match in files_of(raw, contract):
        header, body = read_table(path, contract)
        codes = {str(row[header.index("Baublock")]).zfill(8) for row in body}
        assert {c[:3] for c in codes} == {match["gemeinde"][5:]}
    contract = contracts["planung_wohnen"]
    for path, match in files_of(raw, contract):
        header, body = read_table(path, contract)
        assert all(str(row[0]).zfill(7)[:3] == match["gemeinde"][5:] for row in body)


def test_bergheide_delivers_the_same_records_in_its_own_softwares_format(raw, folder, contracts, kreis, tmp_path):
    """Bergheide's register and movements are the records the Musterstadt format would hold, written
    as its software writes them: its headers, UTF-8 with commas, ISO dates, its own codes. The
    variants written beside the Kreis's contracts say so, and nothing else about the source."""
    assert OTHER_SOFTWARE_AGS in AGS
    sim = kreis.staedte[OTHER_SOFTWARE_AGS]
    con = duckdb.connect()
    writers = {"register_persons": register.write_register, "register_movements": register.write_movements}
    try:
        for source, writer in writers.items():
            variant = yaml.safe_load((folder / "contracts" / f"{source}@{OTHER_SOFTWARE_AGS}.yml").read_text("utf-8"))
            assert variant == OTHER_SOFTWARE[source]
            assert {"encoding": "utf-8", "delimiter": ","}.items() <= variant.items()
            common, own = contracts[source], contracts[f"{source}@{OTHER_SOFTWARE_AGS}"]
            files = files_of(raw, own)
            assert len(files) == len(STICHTAGE)
            for path, match in files:
                stichtag = stichtag_of(own, match)
                data = path.read_bytes()
                assert not data.isascii() and b"\r" not in data  # umlauts in the headers, UTF-8, LF
                header, body = read_table(path, own)
                assert header == [c["header"] for c in own["columns"] if c["header"] in header]
                assert "Personennummer" in header and "Personen_ID" not in header
                musterstadt = writer(con, tmp_path / f"{source}_{stichtag.year}.csv", sim, stichtag.year)
                expected_header, expected = read_table(musterstadt, common)
                assert len(header) == len(expected_header) and len(body) == len(expected)
                # back to the Musterstadt format, column by column: the same records
                for i, column in enumerate(c for c in own["columns"] if c["header"] in header):
                    change = next((c for c in variant["columns"] if c["name"] == column["name"]), {})
                    values = [row[i] for row in body]
                    if "recode" in change:
                        values = [change["recode"].get(v, v) for v in values]
                    if "date_format" in change:
                        common_format = next(c for c in common["columns"] if c["name"] == column["name"])["date_format"]
                        values = [
                            datetime.strptime(v, change["date_format"]).strftime(common_format) if v else v
                            for v in values
                        ]
                    assert values == [row[i] for row in expected], (path.name, column["name"])
    finally:
        con.close()


def test_the_warehouse_reads_the_kreis_contracts_with_bergheides_variants(folder):
    from orchestration.ingest.contracts import load_contracts
    from orchestration.ingest.loader import _table_columns
    from orchestration.settings import read_project_vars

    project = read_project_vars(Path(__file__).resolve().parents[2] / "dbt_project", folder / "vars.yml")
    contracts = load_contracts(folder / "contracts", project)
    for source in OTHER_SOFTWARE:
        common = contracts[source]
        own = common.for_gemeinde(OTHER_SOFTWARE_AGS)
        assert set(common.variants) == {OTHER_SOFTWARE_AGS}
        assert own.location.endswith(f"{source}@{OTHER_SOFTWARE_AGS}.yml")
        assert _table_columns(own) == _table_columns(common)
        assert all(common.for_gemeinde(ags) is common for ags in AGS if ags != OTHER_SOFTWARE_AGS)
    assert not any(c.variants for s, c in contracts.items() if s not in OTHER_SOFTWARE)


# --------------------------------------------------------------------------------------------------
# the truth per Gemeinde and for the Kreis


def test_truth_per_gemeinde_sums_to_the_kreis(kreis):
    persons = kreis.combined("persons")
    residents = persons[persons["residence_status"].astype(str) == "H"]
    assert set(kreis.staedte) == set(AGS)
    for day in STICHTAGE:
        at = residents[residents["stichtag"] == pd.Timestamp(day)]
        per_gemeinde = at.groupby("gemeinde").size()
        assert per_gemeinde.sum() == len(at)
        for ags, sim in kreis.staedte.items():
            own = sim.persons[(sim.persons["stichtag"] == pd.Timestamp(day)) & (sim.persons["residence_status"] == "H")]
            assert per_gemeinde[ags] == len(own)
        # the Kreis's Sozialräume partition the residents at known addresses, across the Gemeinden
        known = at[at["address_known"]]
        sozialraum = kreis.blocks.set_index("block_code")["sozialraum_code"]
        per_sozialraum = known["block_code"].astype(str).map(sozialraum).value_counts()
        assert per_sozialraum.sum() == len(known)
        by_gemeinde_and_sozialraum = known.groupby(["gemeinde", known["block_code"].astype(str).map(sozialraum)]).size()
        assert by_gemeinde_and_sozialraum.groupby(level=1).sum().to_dict() == per_sozialraum.to_dict()
    sgb2 = kreis.combined("sgb2")
    assert sgb2.groupby("gemeinde").size().sum() == sum(len(s.sgb2) for s in kreis.staedte.values())
    assert sgb2.groupby(["stichtag", "bg_number", "member_number"]).ngroups == len(sgb2)  # numbers Kreis-unique


def test_the_kreis_truth_matches_its_gebietsgliederung(kreis, areas, membership):
    assert len(kreis.areas) == len(areas)
    assert kreis.areas["area_code"].tolist() == areas["Schluessel"].tolist()
    assert len(kreis.membership) == len(membership)
    bergheide = next(s for s in CONFIG.staedte if not s.stadtviertel).ags
    blocks = kreis.blocks[kreis.blocks["gemeinde"] == bergheide]
    assert blocks["stadtviertel_code_after"].isna().all() and blocks["stadtteil_code"].notna().all()
    assert kreis.staedte[bergheide].housing.empty


# --------------------------------------------------------------------------------------------------
# the command


def test_demo_data_kreis_writes_the_folder_and_says_how_to_run_it(tmp_path):
    from typer.testing import CliRunner

    from orchestration.cli import app
    from tests.helpers import settings_for

    env = settings_for(tmp_path / "project").env()
    target = tmp_path / "mk"
    runner = CliRunner()
    result = runner.invoke(app, ["demo-data", "--kreis", "--small", "--kreis-dir", str(target)], env=env)
    assert result.exit_code == 0, result.output
    flat = "".join(result.output.split())
    assert f"SOZIALMONITOR_DEPLOYMENT_DIR={target.resolve()}sozialmonitorrun" in flat
    # warehouse/: the Kreis's run lock was held while the folder was written
    assert sorted(p.name for p in target.iterdir()) == ["contracts", "gates.yml", "raw", "vars.yml", "warehouse"]
    assert (target / "raw" / "gebiete" / "adressen_05999004.csv").is_file()
    again = runner.invoke(app, ["demo-data", "--kreis", "--small", "--kreis-dir", str(target)], env=env)
    assert again.exit_code == 1 and "--force" in again.output
    refused = runner.invoke(app, ["demo-data", "--kreis", "--out", str(tmp_path / "x")], env=env)
    assert refused.exit_code == 2 and not (tmp_path / "x").exists()
    # a Kreis of many Gemeinden (KreisConfig.uniform), as a Land runs them: refused where it cannot be
    for args, says in (
        (["--gemeinden", "601"], "4 to 600"),
        (["--gemeinden", "101", "--gemeinde-residents", "7000"], "at most 6,000 residents"),
        (["--gemeinden", "12", "--small"], "--gemeinden makes others"),
        (["--gemeinden", "12", "--gemeinde-residents", "500"], "at least 1,000 residents"),
        (["--gemeinde-residents", "2000"], "--gemeinde-residents needs --gemeinden"),
    ):
        refused = runner.invoke(app, ["demo-data", "--kreis", "--kreis-dir", str(tmp_path / "x"), *args], env=env)
        assert refused.exit_code == 2 and says in " ".join(refused.output.replace("│", " ").split()), args
        assert not (tmp_path / "x").exists()
    for args in (["--gemeinden", "12"], ["--gemeinde-residents", "2000"]):  # without --kreis
        assert runner.invoke(app, ["demo-data", *args], env=env).exit_code == 2
    by_hand = target / "raw" / "gebiete" / "notiz.csv"
    by_hand.write_text("an extract put here by hand\n", encoding="utf-8")
    outside = tmp_path / "outside.csv"
    outside.write_text("not the generator's\n", encoding="utf-8")
    # a listed file changed by hand since, and a link listed with its target's checksum
    changed = target / "raw" / "einwohner" / "EWR_Bestand_05999016_20241231.csv"
    changed.write_bytes(changed.read_bytes() + b"\n")
    link = target / "raw" / "gebiete" / "verweis.csv"
    link.symlink_to(by_hand)
    marker = target / "raw" / DEMO_MARKER
    digest = hashlib.sha256(by_hand.read_bytes()).hexdigest()
    marker.write_text(
        marker.read_text(encoding="utf-8") + f"{'0' * 64}  ../../outside.csv\n{digest}  gebiete/verweis.csv\n"
        f"{digest}  .demo-generating\n",
        encoding="utf-8",
    )
    made = runner.invoke(
        app, ["demo-data", "--kreis", "--gemeinden", "4", "--gemeinde-residents", "1000", "--kreis-dir", str(target),
              "--force"], env=env,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "Gemeinde 1 (05999001, 1,000)" in " ".join(made.output.split())
    assert (target / "raw" / "gebiete" / "adressen_05999004.csv").is_file()
    # the Musterkreis's files that this Kreis does not have are gone; what the marker did not list
    # stays, and so does a file outside the folder that a tampered marker names
    assert not (target / "raw" / "gebiete" / "adressen_05999008.csv").exists()
    assert sorted((target / "raw" / "einwohner").glob("EWR_Bestand_05999016_*.csv")) == [changed]
    assert by_hand.is_file() and outside.is_file() and link.is_symlink()


def _numbers_led_by_slots(simulated: dict[str, Simulation], slots: dict[str, int], digits_of_slot: int) -> None:
    """Every Kreis-wide department's numbers are led by the Stadt's slot (its place in the Kreis,
    `slots`: AGS → place), with `digits_of_slot` digits, so no number is another Stadt's; every
    Stadt has postcodes of its own, five digits each. `simulated`: AGS → the Stadt's simulation."""
    widths = {"bg_number": 7, "case_number": 6, "exam_number": 5, "child_number": 7, "pupil_number": 6}
    frames = {"sgb2": "bg_number", "sgb12": "case_number", "school_entry": "exam_number",
              "daycare": "child_number", "school_transitions": "pupil_number"}  # fmt: skip
    for name, column in frames.items():
        frame = pd.concat([getattr(sim, name).assign(gemeinde=ags) for ags, sim in simulated.items()])
        digits = frame[column].astype(str).str[-widths[column] :]  # 'BG0100063': the number after its prefix
        assert digits.str.fullmatch(r"\d+").all(), name
        numbers = digits.astype("int64")
        assert (numbers // 10 ** (widths[column] - digits_of_slot) == frame["gemeinde"].map(slots)).all(), name
        assert numbers.groupby(frame["gemeinde"]).apply(set).map(len).sum() == numbers.nunique(), name
    postcodes = [set(sim.blocks["postcode"].astype(int)) for sim in simulated.values()]
    assert all(10_000 <= code <= 99_999 for codes in postcodes for code in codes)
    assert sum(map(len, postcodes)) == len(set().union(*postcodes))  # each Stadt its own


def test_a_kreis_of_more_than_ten_staedte_numbers_its_cases_with_two_digits():
    """Beyond ten Städte one leading digit per Stadt no longer keeps a Kreis-wide department's
    numbers apart: each Stadt then gets a hundredth of every number range, led by two digits, which
    holds a Stadt of up to 60,000 residents."""
    staedte = tuple(Stadt(f"Stadt{k + 1}", f"05999{100 + 4 * k:03d}", 10_000, 5_999_100 + k) for k in range(12))
    config = KreisConfig(staedte=staedte, stichtage=("2022-12-31",))
    assert {c.gemeinde.numbering for c in config.demo_configs()} == {(k, 100) for k in range(12)}
    assert {c.gemeinde.numbering[1] for c in CONFIG.demo_configs()} == {10}  # four Städte: as before
    _numbers_led_by_slots(simulate_kreis(config).staedte, {s.ags: k for k, s in enumerate(staedte)}, 2)
    many = tuple(Stadt(f"S{k}", f"05999{k:03d}", 10_000, k) for k in range(101))
    # ten Städte still have a tenth each; from eleven on a hundredth, too little for a large Stadt
    assert {c.gemeinde.numbering[1] for c in KreisConfig(staedte=many[:10]).demo_configs()} == {10}
    assert {c.gemeinde.numbering[1] for c in KreisConfig(staedte=many[:11]).demo_configs()} == {100}
    large = (*many[:10], Stadt("Großstadt", "05999990", 80_000, 1))
    with pytest.raises(ValueError, match=r"Großstadt \(80,000\): .* at most 60,000 residents per Stadt"):
        KreisConfig(staedte=large)
    # up to 40 Städte in one row west to east with postcodes 1,000 apart, as always
    forty = KreisConfig(staedte=many[:40])
    assert [north for _, north in forty.offsets()] == [0.0] * 40
    assert forty.postcode_bases == [57_000 + 1_000 * k for k in range(40)]
    # from 101 Städte on a thousandth each (three leading digits), for Städte of up to 6,000
    with pytest.raises(ValueError, match=r"S0 \(10,000\), .* a thousandth .* at most 6,000 residents per Stadt"):
        KreisConfig(staedte=many)


def test_a_kreis_of_hundreds_of_gemeinden_lies_in_rows_and_numbers_with_three_digits():
    """A Land's statistics office runs hundreds of Gemeinden in one warehouse (issue 19):
    `KreisConfig.uniform` makes such a Kreis. Beyond 40 Städte they lie in rows of 20, north to
    south, without overlapping; beyond 100 each numbers its cases with three leading digits; the
    postcodes follow one another from 10000 on and run out at about 600 small Städte (refused)."""
    uniform = KreisConfig.uniform(120, 2_000, stichtage=("2022-12-31",))
    staedte = uniform.staedte
    assert len({s.ags for s in staedte}) == 120 and staedte[-1].ags == "05999120"
    assert {(s.stadtbezirke, s.stadtviertel) for s in staedte} == {(a, b) for a in (True, False) for b in (True, False)}
    # the Städte this test simulates as they are, the others without Stadtbezirke: a small Stadt
    # with them tries its Sozialräume in three columns many times before it takes two (0.1 s each)
    picked = (0, 1, 19, 20, 21, 40, 119)
    config = replace(
        uniform, staedte=tuple(s if k in picked else replace(s, stadtbezirke=False) for k, s in enumerate(staedte))
    )
    configs = config.demo_configs()
    assert {c.gemeinde.numbering for c in configs} == {(k, 1_000) for k in range(120)}
    offsets = config.offsets()
    assert len({north for _, north in offsets}) == 6  # six rows of 20
    assert [north for _, north in offsets] == sorted((north for _, north in offsets), reverse=True)
    # neighbours in a row and across rows, the first and the last: their own numbers and postcodes,
    # and their Baublöcke apart (the bounding boxes of their centres do not meet)
    simulated = {configs[k].gemeinde.ags: simulate(configs[k]) for k in picked}
    _numbers_led_by_slots(simulated, {configs[k].gemeinde.ags: k for k in picked}, 3)
    boxes = np.array(
        [[b["x"].min(), b["x"].max(), b["y"].min(), b["y"].max()] for b in (s.blocks for s in simulated.values())]
    )
    for k in range(len(boxes)):
        others = np.delete(boxes, k, axis=0)
        apart = (others[:, 0] > boxes[k, 1]) | (others[:, 1] < boxes[k, 0]) | (others[:, 2] > boxes[k, 3])
        assert (apart | (others[:, 3] < boxes[k, 2])).all(), picked[k]
    # the largest Stadt a thousandth of the numbers holds, over six Stichtage: still its own numbers
    largest = replace(configs[119], residents=6_000, stichtage=DEFAULT_STICHTAGE)
    _numbers_led_by_slots({largest.gemeinde.ags: simulate(largest)}, {largest.gemeinde.ags: 119}, 3)
    # the largest Kreise there are room for: 600 Städte of 6,000 (two Stadtbezirke or halves each),
    # 100 of 60,000 (six Stadtbezirke each); their highest postcode is base + 100 × groups + 40
    for n, residents in ((600, 6_000), (100, 60_000)):
        largest = KreisConfig.uniform(n, residents)
        groups = max(len(stadtteile_for(s.residents, s.stadtbezirke)) for s in largest.staedte)
        assert largest.postcode_bases[-1] + 100 * groups + 40 <= 99_999, (n, residents)
    with pytest.raises(ValueError, match="4 to 600"):
        KreisConfig.uniform(601, 2_000)


def test_small_staedte_with_stadtbezirke_get_as_many_sozialraum_columns_as_their_stadtteile_allow():
    """A Sozialraum crosses a Stadtteil border. A Stadt of 6,000 residents with Stadtbezirke has two
    Stadtteile side by side in each, too few for the three columns of Sozialräume a Stadt of its
    kind has, and could not be generated at all; it now gets fewer columns, chosen before the
    Kreis-wide codes are numbered through. A Stadt whose three columns fit keeps them (the test
    Kreis: as before)."""
    assert [c.gemeinde.sozialraum_columns for c in CONFIG.demo_configs()] == [3, 3, 3, 1]
    staedte = tuple(Stadt(f"Kleinstadt{k + 1}", f"05999{100 + 4 * k:03d}", 6_000, 5_999_100 + k) for k in range(4))
    config = KreisConfig(staedte=staedte, stichtage=("2022-12-31",))
    columns = [c.gemeinde.sozialraum_columns for c in config.demo_configs()]
    assert columns == [1, 1, 2, 2]  # as many as each Stadt's seeded Stadtteile allow: two where they fit
    truth = simulate_kreis(config)
    areas = truth.areas
    stadtteil_of = areas[areas["level"] == "stadtviertel"].set_index("area_code")["parent_code"]
    blocks = truth.membership.pivot_table(index="block_code", columns="level", values="area_code", aggfunc="first")
    blocks["stadtteil"] = blocks["stadtviertel"].map(stadtteil_of)
    assert blocks["stadtteil"].notna().all()
    # every Sozialraum spans at least two Stadtteile, and they are numbered through the Kreis (the
    # second Stadt's north-west one is the first's north-east one)
    assert (blocks.groupby("sozialraum")["stadtteil"].nunique() >= 2).all()
    assert blocks["sozialraum"].nunique() == 2 * sum(columns) - 1
    # the one across a Gemeinde border: the first Stadt's north-east (with one column its whole
    # north) and the second's north-west, as in every Musterkreis
    gemeinden = blocks.groupby("sozialraum").apply(lambda b: sorted({code[:3] for code in b.index}))
    crossing = gemeinden[gemeinden.map(len) > 1]
    assert list(crossing.index) == ["SR01"] and crossing.iloc[0] == [staedte[0].ags[5:], staedte[1].ags[5:]]
    # and a larger Stadt without Stadtbezirke: at most nine Gemeindeteile in each half (30,000
    # residents asked for ten and was refused)
    large = (*staedte[:3], Stadt("Weitenau", "05999112", 30_000, 5_999_112, stadtbezirke=False))
    [*_, weitenau] = KreisConfig(staedte=large, stichtage=("2022-12-31",)).demo_configs()
    assert weitenau.gemeinde.stadtteile == (9, 9)
    assert (simulate(weitenau).areas["level"] == "stadtteil").sum() == 18
