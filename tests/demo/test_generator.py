"""The Musterstadt generator: reproducible, faithful to every source contract, structurally sound,
and as messy as real extracts in exactly the agreed ways."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from python_calamine import CalamineWorkbook
from scipy import ndimage

from orchestration.demo import DemoConfig, contracts_for, generate, names, simulate, viertel_code_digits
from orchestration.demo.addresses import build_streets
from orchestration.demo.config import RECUT_DATE, sizes_for
from orchestration.demo.extracts import DEMO_MARKER
from orchestration.demo.geography import build_geography
from orchestration.demo.housing import block_areas
from orchestration.demo.sources.arbeitsagentur import write_labour_market
from orchestration.demo.streams import Streams
from orchestration.ingest.contracts import load_contracts
from orchestration.settings import read_project_vars

CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "orchestration" / "contracts"
PROJECT = read_project_vars(Path(__file__).resolve().parents[2] / "dbt_project")
CONFIG = DemoConfig(residents=10_000, seed=20241231)
YEARS = [d.year for d in CONFIG.stichtag_dates]
CP1252_SOURCES = {
    "register_persons",
    "register_movements",
    "wohngeld",
    "gesundheitsamt_seu",
    "schulamt_uebergaenge",
    "planung_wohnen",
}
NEW_SOURCES = {"gesundheitsamt_seu", "jugendamt_kita", "schulamt_uebergaenge", "planung_wohnen", "umwelt_baublock"}


# --------------------------------------------------------------------------------------------------
# fixtures and readers


@pytest.fixture(scope="module")
def contracts() -> dict[str, dict]:
    out = {}
    for path in sorted(CONTRACTS_DIR.glob("*.yml")):
        contract = yaml.safe_load(path.read_text(encoding="utf-8"))
        out[contract["source"]] = contract
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("musterstadt") / "raw"
    return out, generate(out, CONFIG)


@pytest.fixture(scope="module")
def raw_dir(generated) -> Path:
    return generated[0]


@pytest.fixture(scope="module")
def sim():
    return simulate(CONFIG)


def files_of(raw_dir: Path, contract: dict) -> list[tuple[Path, re.Match]]:
    pattern = re.compile(contract["file_pattern"])
    folder = raw_dir / contract["directory"]
    found = [(p, pattern.fullmatch(p.name)) for p in sorted(folder.iterdir())]
    return [(p, m) for p, m in found if m]


def stichtag_of(contract: dict, match: re.Match) -> date | None:
    groups = match.groupdict()
    if "stichtag" in groups:
        return datetime.strptime(groups["stichtag"], contract["stichtag_format"]).date()
    if "year" in groups:
        return date(int(groups["year"]), 12, 31)
    return None


def cell_text(value: object) -> object:
    """Calamine cell → text as a clerk would read it (dates stay dates)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (date, datetime)):
        return value
    return "" if value is None else str(value)


def read_table(path: Path, contract: dict) -> tuple[list[str], list[list[object]]]:
    """Header and data rows of an extract (footer rows removed), as the contract describes it."""
    if contract["format"] == "csv":
        text = path.read_bytes().decode(contract["encoding"])
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=contract["delimiter"]))
        header, body = rows[0], rows[1:]
    else:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(contract["sheet"]).to_python()
        rows = [[cell_text(v) for v in row] for row in sheet]
        wanted = {c["header"] for c in contract["columns"]}
        if contract["header_row"] == "auto":
            index = next(i for i, row in enumerate(rows) if wanted <= {str(v).strip() for v in row})
        else:
            index = contract["header_row"] - 1
        header, body = [str(v) for v in rows[index]], rows[index + 1 :]
    footer = contract.get("footer")
    if footer:
        column = next(c for c in contract["columns"] if c["name"] == footer["column"])
        position = header.index(column["header"])
        pattern = re.compile(footer["pattern"])
        first = next((i for i, row in enumerate(body) if pattern.match(str(row[position]))), len(body))
        body = body[:first]
    return header, body


def column_positions(contract: dict, header: list[str]) -> dict[str, int]:
    """Where each column of the contract is in the header; a column that may be absent (added by
    the department later, or optional like Oberebene) and is, has none."""
    out = {}
    for column in contract["columns"]:
        names = [column["header"], *column.get("aliases", [])]
        found = [header.index(n) for n in names if n in header]
        if found or not column.get("may_be_absent"):
            out[column["name"]] = found[0]
    return out


def parse_decimal(text: str, contract: dict) -> float:
    thousands = contract.get("thousands")
    if thousands:
        text = text.replace(thousands, "")
    return float(text.replace(contract.get("decimal", "."), "."))


def problems_of(value: object, column: dict, contract: dict, stichtag: date | None) -> str | None:
    """What is wrong with one cell under the contract, or None."""
    text = value if isinstance(value, (date, datetime)) else str(value)
    if isinstance(text, str) and not text.strip():
        return "required value missing" if column.get("required") else None
    if isinstance(text, str) and text in column.get("suppressed", []) + column.get("zero", []):
        return None
    kind = column["type"]
    if kind in ("code", "varchar"):
        if column.get("pad") and text.isdigit():
            text = text.zfill(column["pad"])
        if "pattern" in column and not re.fullmatch(column["pattern"], text):
            return f"{text!r} does not match {column['pattern']}"
        if "values" in column and text not in column["values"]:
            return f"{text!r} not in {column['values']}"
        return None
    if kind in ("integer", "count"):
        if not re.fullmatch(r"\d+", text):
            return f"{text!r} is not an integer"
        number = int(text)
        if "min" in column and number < column["min"]:
            return f"{number} < {column['min']}"
        if "max" in column and number > column["max"]:
            return f"{number} > {column['max']}"
        if column.get("max_from_stichtag") == "year" and number > stichtag.year:
            return f"{number} after the Stichtag year"
        return None
    if kind == "decimal":
        number = parse_decimal(text, contract)
        if "min" in column and number < column["min"]:
            return f"{number} < {column['min']}"
        if "max" in column and number > column["max"]:
            return f"{number} > {column['max']}"
        return None
    if kind == "date":
        if isinstance(text, datetime):
            day = text.date()
        elif isinstance(text, date):
            day = text
        else:
            day = datetime.strptime(text, column["date_format"]).date()
        if "min" in column and day < date.fromisoformat(str(column["min"])):
            return f"{day} before {column['min']}"
        if column.get("max_from_stichtag") == "date" and day > stichtag:
            return f"{day} after the Stichtag"
        if column.get("min_from_stichtag") == "year_start" and day < date(stichtag.year, 1, 1):
            return f"{day} before the reporting year"
        return None
    raise AssertionError(f"unknown column type {kind}")


def table(raw_dir: Path, contract: dict, stichtag: date) -> pd.DataFrame:
    """One extract of a Stichtag as a frame of texts with the contract's column names."""
    for path, match in files_of(raw_dir, contract):
        if stichtag_of(contract, match) == stichtag:
            header, body = read_table(path, contract)
            positions = column_positions(contract, header)
            return pd.DataFrame({name: [row[i] for row in body] for name, i in positions.items()}, dtype=object)
    raise AssertionError(f"no {contract['source']} file for {stichtag}")


def unique_key(row: list[object], contract: dict, positions: dict[str, int]) -> tuple[str, ...]:
    columns = {c["name"]: c for c in contract["columns"]}
    out = []
    for name in contract["unique_key"]:
        value = str(row[positions[name]])
        pad = columns[name].get("pad")
        out.append(value.zfill(pad) if pad and value.isdigit() else value)
    return tuple(out)


def sha256s(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------------------------------
# configuration and reproducibility


def test_config_defaults_and_validation():
    cfg = DemoConfig()
    assert (cfg.residents, cfg.seed) == (100_000, 20241231)
    assert cfg.stichtage == tuple(f"{y}-12-31" for y in range(2019, 2025))
    with pytest.raises(AttributeError):
        cfg.seed = 1  # frozen
    with pytest.raises(ValueError, match="31 December"):
        DemoConfig(stichtage=("2020-06-30",))
    with pytest.raises(ValueError, match="ascending"):
        DemoConfig(stichtage=("2021-12-31", "2020-12-31"))


def test_sizes_scale_with_residents():
    small, default, large = sizes_for(10_000), sizes_for(100_000), sizes_for(1_000_000)
    assert 900 <= default.n_blocks <= 1_100
    assert 14_000 <= default.n_addresses <= 16_500
    assert 9_000 <= large.n_blocks <= 11_000
    assert 140_000 <= large.n_addresses <= 165_000
    assert small.viertel_per_stadtteil <= default.viertel_per_stadtteil <= large.viertel_per_stadtteil


def test_stadtviertel_of_a_given_size_at_any_granularity():
    # Berlin's 542 Planungsräume hold about 7,200 residents each; the demo's structure caps a
    # Stadtteil at 7 Stadtviertel. Here 200,000 residents in Stadtviertel of about 1,000: ten per
    # Stadtteil, so the codes need two digits.
    sizes = sizes_for(200_000, viertel_residents=1_000)
    assert sizes.viertel_per_stadtteil == 10
    assert sizes_for(200_000) == replace(sizes, viertel_per_stadtteil=sizes_for(200_000).viertel_per_stadtteil,
                                         max_viertel_per_stadtteil=7)  # fmt: skip
    geo = build_geography(sizes, Streams(CONFIG.seed))
    n = len(geo.viertel_codes)
    assert 180 <= n - 2 <= 220  # the recut adds two
    assert len(set(geo.viertel_codes)) == n and len(set(geo.viertel_names)) == n
    for code, name, s in zip(geo.viertel_codes, geo.viertel_names, geo.viertel_stadtteil, strict=True):
        assert code.startswith(geo.stadtteil_codes[s]) and len(code) == len(geo.stadtteil_codes[s]) + 2
        assert re.fullmatch(r"[0-9A-Z]{2,8}", code)  # the contract's pattern for area codes
        assert name.startswith(geo.stadtteil_names[s] + " ")
    # numbered 01, 02, … within each Stadtteil, the recut's two after the last
    recut_stadtteil = geo.viertel_stadtteil[geo.recut_viertel]
    codes = zip(geo.viertel_codes, geo.viertel_stadtteil, strict=True)
    numbers = [int(c[-2:]) for c, s in codes if s == recut_stadtteil]
    assert numbers == list(range(1, len(numbers) + 1))
    blocks = np.bincount(geo.viertel_before, minlength=n)[: n - 2]
    assert blocks.min() >= 2 and 8 <= np.median(blocks) <= 12  # about 1,000 residents of 100 per block
    for assignment in (geo.viertel_before, geo.viertel_after):
        grid = assignment.reshape(geo.ny, geo.nx)
        for unit in np.unique(grid):
            assert ndimage.label(grid == unit)[1] == 1
    # the demo's structure is unchanged: one digit
    default = build_geography(sizes_for(200_000), Streams(CONFIG.seed))
    assert {len(c) for c in default.viertel_codes} == {4}
    with pytest.raises(ValueError, match="at least 1,000 residents"):
        DemoConfig(viertel_residents=500)


def test_roman_numerals_name_the_stadtviertel():
    assert [names.roman(i) for i in (1, 4, 9, 14, 27, 40, 49, 99, 399)] == [
        "I", "IV", "IX", "XIV", "XXVII", "XL", "XLIX", "XCIX", "CCCXCIX"
    ]  # fmt: skip
    with pytest.raises(ValueError):
        names.roman(0)


def test_a_berlin_size_city_gets_a_unique_name_for_every_street():
    # 3.9M residents: the street grid of a Berlin-size city (the first name set held 9,870 names,
    # and generation stopped with "11691 streets need more names than the pool holds")
    sizes = sizes_for(3_900_000)
    rng = np.random.default_rng(1)
    col_edges, row_edges = np.arange(sizes.nx + 1) * 100.0, np.arange(sizes.ny + 1) * 100.0
    streets = build_streets(sizes.nx, sizes.ny, col_edges, row_edges, rng)
    assert len(streets["names"]) > len(names.CLASSIC_STREETS) + len(names.street_name_pool())
    assert len(set(streets["names"])) == len(streets["names"])
    # the extra names come only when needed: a city that fits the first set draws as it always did
    assert names.street_name_pool(needed=5_000) == names.street_name_pool()
    assert names.street_name_pool(needed=12_000)[: len(names.street_name_pool())] == names.street_name_pool()


def test_same_seed_gives_identical_bytes_other_seed_differs(tmp_path, raw_dir):
    first = sha256s(raw_dir)
    again = tmp_path / "again"
    generate(again, CONFIG)
    assert sha256s(again) == first
    other = tmp_path / "other"
    generate(other, replace(CONFIG, seed=CONFIG.seed + 1))
    differing = {name for name, digest in sha256s(other).items() if first.get(name) != digest}
    # every extract differs, and so does the demo marker (raw/.demo-city), which lists them with
    # their SHA-256 (the demo key pseudonymises only those files)
    assert differing == set(first)
    assert (other / DEMO_MARKER).is_file()


def test_xlsx_files_carry_no_timestamps(raw_dir):
    for path in sorted(raw_dir.rglob("*.xlsx")):
        with zipfile.ZipFile(path) as archive:
            assert {info.date_time for info in archive.infolist()} == {(2000, 1, 1, 0, 0, 0)}
            core = archive.read("docProps/core.xml").decode()
            assert re.findall(r"<dcterms:\w+[^>]*>([^<]*)<", core) == ["2000-01-01T00:00:00Z"] * 2


def test_generate_writes_one_file_per_contract_and_period(generated, contracts):
    raw_dir, paths = generated
    assert paths == sorted(paths)
    assert set(paths) == {p for p in raw_dir.rglob("*") if p.is_file() and p.name != DEMO_MARKER}
    for source, contract in contracts.items():
        found = files_of(raw_dir, contract)
        if contract["period"] == "reference":
            assert len(found) == 1, source
        else:
            assert sorted(stichtag_of(contract, m) for _p, m in found) == list(CONFIG.stichtag_dates), source
    assert len(paths) == 4 + 11 * len(YEARS)
    assert set(contracts) >= NEW_SOURCES


# --------------------------------------------------------------------------------------------------
# contracts


def test_headers_match_contracts(raw_dir, contracts):
    for contract in contracts.values():
        if contract["format"] == "geojson":
            continue
        for path, _match in files_of(raw_dir, contract):
            header, _body = read_table(path, contract)
            present = [c for c in contract["columns"] if c["name"] in column_positions(contract, header)]
            assert len(header) == len(present), path.name
            for found, column in zip(header, present, strict=True):
                assert found in [column["header"], *column.get("aliases", [])], (path.name, found)


def checked_tables(raw_dir, contract):
    """Every file of `contract` in `raw_dir`, each value checked against its column and the unique
    key (codes padded as the loader pads them) against duplicates: (path, positions, body) per file."""
    for path, match in files_of(raw_dir, contract):
        stichtag = stichtag_of(contract, match)
        header, body = read_table(path, contract)
        assert body, path.name
        positions = column_positions(contract, header)
        columns = {c["name"]: c for c in contract["columns"]}
        for line, row in enumerate(body, start=2):
            assert len(row) == len(header), (path.name, line)
            for name, i in positions.items():
                problem = problems_of(row[i], columns[name], contract, stichtag)
                assert problem is None, f"{path.name} line {line} column {columns[name]['header']}: {problem}"
        keys = [unique_key(row, contract, positions) for row in body]
        assert len(keys) == len(set(keys)), f"{path.name}: duplicate {contract['unique_key']}"
        yield path, positions, body


def test_every_value_follows_its_contract(raw_dir, contracts):
    addresses_blocks: set[str] = set()
    ba_files = 0
    # the address register first: the BA's Baublöcke must be among its blocks
    for source, contract in sorted(contracts.items(), key=lambda item: item[0] != "geo_addresses"):
        if contract["format"] == "geojson":
            continue
        for _path, positions, body in checked_tables(raw_dir, contract):
            if source == "geo_addresses":
                addresses_blocks |= {str(row[positions["block_code"]]) for row in body}
            if source == "ba_labour_market":
                codes = {str(row[positions["block_code"]]).zfill(5) for row in body}
                assert addresses_blocks and codes <= addresses_blocks, sorted(codes - addresses_blocks)[:5]
                ba_files += 1
    assert ba_files > 0


def test_encodings_bom_and_line_endings(raw_dir, contracts):
    for source, contract in contracts.items():
        for path, _match in files_of(raw_dir, contract):
            data = path.read_bytes()
            if contract["format"] == "xlsx":
                assert data[:2] == b"PK"
                continue
            encoding = contract["encoding"]
            data.decode(encoding)  # readable as declared
            assert data.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig"), path.name
            if source in CP1252_SOURCES | {"jobcenter_sgb2", "jugendamt_kita"}:
                assert data.count(b"\r\n") == data.count(b"\n"), f"{path.name}: not CRLF"
            if source == "umwelt_baublock":
                assert b"\r" not in data and data.isascii()  # a GIS export: LF, plain ASCII
            if encoding == "cp1252" and not data.isascii():
                with pytest.raises(UnicodeDecodeError):
                    data.decode("utf-8")
    # umlauts and ß occur where addresses are typed, so the Wohngeld files really are cp1252
    for source in ("wohngeld", "gesundheitsamt_seu", "schulamt_uebergaenge", "planung_wohnen"):
        assert all(not p.read_bytes().isascii() for p, _m in files_of(raw_dir, contracts[source])), source


def test_geojson_blocks(raw_dir, sim):
    data = json.loads((raw_dir / "gebiete" / "baubloecke.geojson").read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    assert data["crs"] == {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}}
    codes = [f["properties"]["Baublock"] for f in data["features"]]
    assert codes == sorted(sim.blocks["block_code"]) and len(set(codes)) == len(codes)
    for feature in data["features"]:
        assert feature["geometry"]["type"] == "Polygon"
        ring = np.array(feature["geometry"]["coordinates"][0])
        assert ring.shape == (5, 2) and (ring[0] == ring[-1]).all()
        assert np.allclose(ring, np.round(ring, 2))
        signed_area = 0.5 * np.sum(ring[:-1, 0] * ring[1:, 1] - ring[1:, 0] * ring[:-1, 1])
        assert signed_area > 5_000  # counter-clockwise, a city block
    centre = np.array([f["geometry"]["coordinates"][0][0] for f in data["features"]]).mean(0)
    assert abs(centre[0] - 380_000) < 1_000 and abs(centre[1] - 5_700_000) < 1_000


# --------------------------------------------------------------------------------------------------
# spatial structure


def test_spatial_hierarchy_is_nested(raw_dir, contracts, sim):
    areas = table(raw_dir, contracts["geo_areas"], None)
    levels = areas["level"].value_counts()
    assert levels["gemeinde"] == 1 and levels["stadtbezirk"] == 6 and levels["stadtteil"] == 20
    assert levels["sozialraum"] == 8
    assert 40 <= levels["stadtviertel"] <= 60
    gemeinde = areas[areas["level"] == "gemeinde"].iloc[0]
    assert (gemeinde["area_code"], gemeinde["area_name"]) == ("09999000", "Musterstadt")
    parent = dict(zip(areas["area_code"], areas["parent_code"], strict=True))
    level = dict(zip(areas["area_code"], areas["level"], strict=True))
    for code, lvl in level.items():
        expected_parent = {
            "gemeinde": "",
            "stadtbezirk": "stadtbezirk",
            "stadtteil": "stadtbezirk",
            "stadtviertel": "stadtteil",
            "sozialraum": "gemeinde",
        }[lvl]
        if lvl in ("stadtbezirk", "sozialraum"):
            assert parent[code] == "09999000"
        elif lvl != "gemeinde":
            assert level[parent[code]] == expected_parent and code.startswith(parent[code])
    # every block lies in exactly one Viertel per Gebietsstand, whose Stadtteil is the block's
    blocks = sim.blocks.set_index("block_code")
    for col in ("stadtviertel_code_before", "stadtviertel_code_after"):
        viertel_parent = blocks[col].map(parent)
        assert (viertel_parent == blocks["stadtteil_code"]).all()
        assert (blocks["stadtteil_code"].map(parent) == blocks["stadtbezirk_code"]).all()
    # Stadtviertel, Stadtteile and Stadtbezirke are contiguous tiles of the block grid
    geo = sim.raw.geo
    for assignment in (geo.viertel_before, geo.viertel_after, geo.stadtteil, geo.bezirk):
        grid = assignment.reshape(geo.ny, geo.nx)
        for unit in np.unique(grid):
            assert ndimage.label(grid == unit)[1] == 1


def test_one_stadtviertel_is_recut_in_2022(raw_dir, contracts):
    areas = table(raw_dir, contracts["geo_areas"], None)
    viertel = areas[areas["level"] == "stadtviertel"]
    ended = viertel[viertel["valid_to"] != ""]
    assert len(ended) == 1 and ended.iloc[0]["valid_to"] == "31.12.2021"
    new = viertel[viertel["valid_from"] == "01.01.2022"]
    assert len(new) == 2 and (new["valid_to"] == "").all()
    assert set(new["parent_code"]) == {ended.iloc[0]["parent_code"]}
    others = areas.drop(index=[*ended.index, *new.index])
    assert (others["valid_from"] == "01.01.2000").all() and (others["valid_to"] == "").all()

    membership = table(raw_dir, contracts["geo_block_membership"], None)
    old_code = ended.iloc[0]["area_code"]
    old_rows = membership[membership["area_code"] == old_code]
    assert len(old_rows) >= 2 and (old_rows["valid_to"] == "31.12.2021").all()
    recut_blocks = set(old_rows["block_code"])
    new_rows = membership[membership["area_code"].isin(new["area_code"])]
    assert set(new_rows["block_code"]) == recut_blocks and (new_rows["valid_from"] == "01.01.2022").all()
    assert set(new_rows["area_code"]) == set(new["area_code"])  # both new Viertel get blocks
    per_block = membership[membership["level"] == "stadtviertel"].groupby("block_code").size()
    assert set(per_block[per_block == 2].index) == recut_blocks
    assert (per_block[per_block != 2] == 1).all()
    assert (membership[membership["level"] == "sozialraum"].groupby("block_code").size() == 1).all()


def test_sozialraeume_cross_stadtteil_borders(sim):
    blocks = sim.blocks
    stadtteile_per_sr = blocks.groupby("sozialraum_code")["stadtteil_code"].nunique()
    assert list(stadtteile_per_sr.index) == [f"SR{k:02d}" for k in range(1, 9)]
    assert (stadtteile_per_sr >= 2).all()
    geo = sim.raw.geo
    grid = geo.sozialraum.reshape(geo.ny, geo.nx)
    for unit in range(8):
        assert ndimage.label(grid == unit)[1] == 1  # contiguous


def test_addresses_are_consistent(raw_dir, contracts, sim):
    addresses = table(raw_dir, contracts["geo_addresses"], None)
    assert len(addresses) == len(sim.addresses)
    assert 1_200 <= len(addresses) <= 1_900  # about 6–7 residents per address
    keys = addresses[["street_key", "house_number", "house_number_suffix"]].apply(tuple, axis=1)
    assert keys.is_unique
    assert (addresses.groupby("street_key")["street_name"].nunique() == 1).all()
    suffix_share = (addresses["house_number_suffix"] != "").mean()
    assert 0.02 <= suffix_share <= 0.09
    numbers = addresses["house_number"].astype(int)
    assert numbers.min() == 1 and numbers.max() <= 250
    names = set(addresses["street_name"])
    assert {"Hauptstraße", "Bahnhofstraße", "Am Markt", "Lindenweg"} <= names
    assert any("ß" in n for n in names) and any(re.search("[äöü]", n) for n in names)


# --------------------------------------------------------------------------------------------------
# population


def register_keys(raw_dir: Path, contracts: dict, stichtag: date) -> set[str]:
    return set(table(raw_dir, contracts["register_persons"], stichtag)["person_key"])


def test_register_balances_with_movements(raw_dir, contracts):
    persons = contracts["register_persons"]
    movements = contracts["register_movements"]
    for previous, current in zip(CONFIG.stichtag_dates, CONFIG.stichtag_dates[1:], strict=False):
        before = register_keys(raw_dir, contracts, previous)
        after = register_keys(raw_dir, contracts, current)
        events = table(raw_dir, movements, current)
        by_type = {kind: set(group["person_key"]) for kind, group in events.groupby("event_type")}
        entering = by_type["GEBURT"] | by_type["ZUZUG"]
        leaving = by_type["STERBEFALL"] | by_type["FORTZUG"]
        assert after == (before | entering) - leaving
        counts = events["event_type"].value_counts()
        assert len(after) == len(before) + counts["GEBURT"] + counts["ZUZUG"] - counts["STERBEFALL"] - counts["FORTZUG"]
        assert not (by_type["UMZUG"] - before - entering)  # movers are residents
    del persons


def test_truth_and_files_agree(raw_dir, contracts, sim):
    for stichtag in CONFIG.stichtag_dates:
        ts = pd.Timestamp(stichtag)
        register = table(raw_dir, contracts["register_persons"], stichtag)
        truth = sim.persons[sim.persons["stichtag"] == ts]
        assert sorted(register["person_key"]) == sorted(truth["person_key"].astype(str))
        assert len(table(raw_dir, contracts["jobcenter_sgb2"], stichtag)) == (sim.sgb2["stichtag"] == ts).sum()
        assert len(table(raw_dir, contracts["sozialamt_sgb12"], stichtag)) == (sim.sgb12["stichtag"] == ts).sum()
        assert len(table(raw_dir, contracts["wohngeld"], stichtag)) == (sim.wohngeld["stichtag"] == ts).sum()
        events = table(raw_dir, contracts["register_movements"], stichtag)
        assert len(events) == (sim.movements["year"] == stichtag.year).sum()
    # the 2019 movements lead from an unpublished 31.12.2018 population to the first Stichtag
    first = sim.movements[sim.movements["year"] == YEARS[0]]
    assert first["event_date"].min() >= pd.Timestamp(f"{YEARS[0]}-01-01")


def test_households_share_one_address(raw_dir, contracts, sim):
    assert (sim.persons.groupby(["stichtag", "household_key"], observed=True)["address_id"].nunique() == 1).all()
    for stichtag in (CONFIG.stichtag_dates[0], CONFIG.stichtag_dates[-1]):
        register = table(raw_dir, contracts["register_persons"], stichtag)
        register["street_key"] = register["street_key"].str.zfill(5)
        address = register[["street_key", "house_number", "house_number_suffix"]].apply(tuple, axis=1)
        assert (address.groupby(register["household_key"]).nunique() == 1).all()
        assert register["household_key"].nunique() < len(register) / 1.5


def test_person_and_household_keys_are_stable(sim):
    persons = sim.persons
    first = persons[persons["stichtag"] == persons["stichtag"].min()].set_index("person_key")
    last = persons[persons["stichtag"] == persons["stichtag"].max()].set_index("person_key")
    stayed = first.index.intersection(last.index)
    assert len(stayed) > 0.6 * len(first)
    same = first.loc[stayed]
    later = last.loc[stayed]
    assert (same["birth_year"] == later["birth_year"]).all() and (same["sex"] == later["sex"]).all()
    assert (later["age"] - same["age"] == YEARS[-1] - YEARS[0]).all()
    # households that did not move keep their key
    unmoved = same["moved_in_date"] == later["moved_in_date"]
    assert (same.loc[unmoved, "household_key"] == later.loc[unmoved, "household_key"]).mean() > 0.95


def test_dates_and_residence(sim):
    p = sim.persons
    assert (p["moved_in_date"] <= p["stichtag"]).all()
    assert (p["birth_year"] <= p["stichtag"].dt.year).all()
    assert (p["age"] == p["stichtag"].dt.year - p["birth_year"]).all()
    foreign = p["nationality_1"] != "000"
    assert (p.loc[foreign, "nationality_2"].astype(object) != "000").all()
    assert (p.loc[foreign, "migration_background"] == "j").all()
    assert (p["nationality_2"].notna() & ~foreign).any()  # Germans with a second nationality
    share_n = (p["residence_status"] == "N").mean()
    assert 0.01 <= share_n <= 0.03


def test_rates_are_realistic(sim):
    p = sim.persons
    for stichtag, group in p.groupby("stichtag"):
        age = group["age"]
        assert 0.13 <= (age < 18).mean() <= 0.20
        assert 0.17 <= (age >= 65).mean() <= 0.25
        assert 0.10 <= (group["nationality_1"] != "000").mean() <= 0.22
        sgb2 = sim.sgb2[sim.sgb2["stichtag"] == stichtag]
        assert 0.08 <= len(sgb2) / (age < 65).sum() <= 0.12
        working_age = ((age >= 15) & (age <= 64)).sum()
        labour = sim.unemployment[sim.unemployment["stichtag"] == stichtag]
        assert 0.04 <= labour["unemployed_total"].sum() / working_age <= 0.08
        assert 0.5 <= labour["employees_svb"].sum() / working_age <= 0.7
        assert (labour["long_term_unemployed"] <= labour["unemployed_total"]).all()
        sgb12 = sim.sgb12[sim.sgb12["stichtag"] == stichtag]
        assert 0.03 <= (sgb12["benefit_type"] == "GSiAE").sum() / (age >= 65).sum() <= 0.05
        households = group["household_key"].nunique()
        wohngeld = sim.wohngeld[sim.wohngeld["stichtag"] == stichtag]
        assert 0.015 <= len(wohngeld) / households <= 0.035
        assert not set(wohngeld["household_key"]) & set(sgb2["household_key"])
        assert 1.6 <= len(group) / households <= 2.1
    sizes = p.groupby("stichtag").size()
    assert sizes.between(0.95 * CONFIG.residents, 1.1 * CONFIG.residents).all()


def test_areas_differ(sim):
    p = sim.persons
    blocks = sim.blocks.set_index("block_code")["stadtteil_code"]
    under_65 = p[p["age"] < 65]
    residents = under_65.groupby(under_65["block_code"].astype(str).map(blocks)).size()
    sgb2 = sim.sgb2[sim.sgb2["address_known"]]
    recipients = sgb2.groupby(sgb2["block_code"].map(blocks)).size().reindex(residents.index, fill_value=0)
    quota = (recipients / residents).sort_values()
    assert quota.iloc[-1] >= 0.18 and quota.iloc[0] <= 0.04
    assert quota.iloc[-3:].mean() >= 3 * quota.iloc[:3].mean()
    foreign = (p["nationality_1"] != "000").groupby(p["block_code"].astype(str).map(blocks)).mean()
    assert foreign.max() >= 3 * foreign.min()
    old = (p["age"] >= 65).groupby(p["block_code"].astype(str).map(blocks)).mean()
    assert old.max() >= 2 * old.min()


# --------------------------------------------------------------------------------------------------
# benefits and the labour market


def test_sgb2_households(sim):
    s = sim.sgb2
    assert (s.groupby(["stichtag", "bg_number"])["household_key"].nunique() == 1).all()
    assert (s.groupby(["stichtag", "bg_number"])["street_name"].nunique() == 1).all()
    assert (s["age"] < 65).all()
    assert ((s["age"] < 15) == (s["employable"] == "n")).all()
    members = s.groupby(["stichtag", "bg_number"])["member_number"].agg(["min", "max", "size"])
    assert (members["min"] == 1).all() and (members["max"] == members["size"]).all()
    # whole households: every member of the household at that Stichtag is in the BG
    persons = sim.persons.set_index(["stichtag", "household_key"])
    sizes = persons.groupby(level=[0, 1], observed=True).size()
    bg_sizes = s.groupby(["stichtag", "household_key"]).size()
    assert (sizes.loc[bg_sizes.index].to_numpy() == bg_sizes.to_numpy()).all()
    # receipt persists: most BGs of one year are BGs the year before
    years = sorted(s["stichtag"].unique())
    for before, after in zip(years, years[1:], strict=False):
        old = set(s.loc[s["stichtag"] == before, "bg_number"])
        new = set(s.loc[s["stichtag"] == after, "bg_number"])
        assert len(old & new) > 0.55 * len(new)
    assert s["months_in_receipt"].between(1, 240).all()


def test_ba_file_matches_truth_with_suppression(raw_dir, contracts, sim):
    contract = contracts["ba_labour_market"]
    columns = [
        "unemployed_total",
        "unemployed_sgb3",
        "unemployed_sgb2",
        "long_term_unemployed",
        "employees_svb",
        "low_earners",
    ]
    for path, match in files_of(raw_dir, contract):
        stichtag = stichtag_of(contract, match)
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Arbeitsmarkt").to_python()
        assert sheet[0][0] == "Arbeitsmarktstatistik nach Baublöcken"
        assert sheet[1][0] == f"Musterstadt, Dezember {stichtag.year}"
        assert all(v == "" for v in sheet[2])
        assert sheet[3] == [c["header"] for c in contract["columns"]]
        assert sheet[-2][0] == "*) Aus Datenschutzgründen werden Werte von 1 und 2 anonymisiert."
        assert sheet[-1][0] == "Quelle: Statistik der Bundesagentur für Arbeit"
        total_row = sheet[-3]
        assert total_row[0] == "Insgesamt"
        truth = sim.unemployment[sim.unemployment["stichtag"] == pd.Timestamp(stichtag)]
        assert [int(v) for v in total_row[1:]] == [int(truth[c].sum()) for c in columns]
        body = sheet[4:-3]
        assert len(body) == len(truth)
        for row, (_i, expected) in zip(body, truth.iterrows(), strict=True):
            for cell, column in zip(row[1:], columns, strict=True):
                value = int(expected[column])
                assert cell == ("-" if value == 0 else "*" if value <= 2 else float(value))


def test_jobcenter_total_row_and_numbers(raw_dir):
    for path in sorted((raw_dir / "jobcenter").glob("*.csv")):
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline=""), delimiter=";"))
        assert rows[-1] == ["Summe", str(len(rows) - 2)] + [""] * 8
        amounts = [r[9] for r in rows[1:-1]]
        assert all(re.fullmatch(r"\d{1,3}(\.\d{3})*,\d{2}", a) for a in amounts)
        assert any("." in a for a in amounts)  # some amounts above 1.000 EUR


def test_sozialamt_dates_are_excel_dates(raw_dir, sim):
    for path in sorted((raw_dir / "sozialamt").glob("*.xlsx")):
        workbook = CalamineWorkbook.from_path(str(path))
        assert workbook.sheet_names == ["Fallliste"]
        rows = workbook.get_sheet_by_name("Fallliste").to_python()
        assert all(isinstance(r[6], date) for r in rows[1:])
        assert all(isinstance(r[5], str) for r in rows[1:])  # house numbers as typed text
    gsiae = sim.sgb12[sim.sgb12["benefit_type"] == "GSiAE"]
    assert (gsiae["stichtag"].dt.year - gsiae["birth_year"] >= 65).all()
    hlu = sim.sgb12[sim.sgb12["benefit_type"] == "HLU"]
    assert (hlu["stichtag"].dt.year - hlu["birth_year"]).between(18, 64).all()
    assert (sim.sgb12["benefit_start"] <= sim.sgb12["stichtag"]).all()


def test_ba_low_earners(tmp_path, contracts, sim):
    u = sim.unemployment
    assert (u["low_earners"] <= u["employees_svb"]).all() and (u["low_earners"] >= 0).all()
    share = u.groupby("stichtag")["low_earners"].sum() / u.groupby("stichtag")["employees_svb"].sum()
    assert share.between(0.15, 0.30).all()
    poverty = u["block_code"].map(sim.blocks.set_index("block_code")["poverty"])
    poor = poverty >= poverty.median()
    assert u.loc[poor, "low_earners"].sum() / u.loc[poor, "employees_svb"].sum() > (
        u.loc[~poor, "low_earners"].sum() / u.loc[~poor, "employees_svb"].sum()
    )
    # a column added later: the contract lets older files without it load, and the writer can still write them
    column = next(c for c in contracts["ba_labour_market"]["columns"] if c["name"] == "low_earners")
    assert column["may_be_absent"] and not column.get("required")
    assert (column["header"], column["suppressed"], column["zero"]) == ("Geringverdiener am Wohnort", ["*"], ["-"])
    stichtag = CONFIG.stichtag_dates[0]
    path = write_labour_market(tmp_path / f"BA_Arbeitsmarkt_Baublock_{stichtag.year}12.xlsx", sim, stichtag, False)
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Arbeitsmarkt").to_python()
    assert sheet[3][-1] == "SV-Beschäftigte am Wohnort" and len(sheet[3]) == 6


# --------------------------------------------------------------------------------------------------
# children: Gesundheitsamt, Jugendamt, Schulamt


def _main_residents(sim, stichtag: pd.Timestamp) -> pd.DataFrame:
    p = sim.persons
    return p[(p["stichtag"] == stichtag) & (p["residence_status"] == "H")]


def test_children_files_match_their_truth(raw_dir, contracts, sim):
    for stichtag in CONFIG.stichtag_dates:
        ts = pd.Timestamp(stichtag)
        seu = table(raw_dir, contracts["gesundheitsamt_seu"], stichtag)
        truth = sim.school_entry[sim.school_entry["stichtag"] == ts]
        assert len(seu) == len(truth) > 0
        assert seu["exam_number"].tolist() == truth["exam_number"].tolist()
        assert seu["exam_number"].str.startswith(f"SEU{stichtag.year % 100:02d}-").all()
        months = truth["birth_month"].map("{:02d}".format) + "." + truth["birth_year"].astype(str)
        assert seu["birth_month"].tolist() == months.tolist()
        for column in ("sex", "street_name", "house_number_text", "language_support", "weight_status"):
            assert seu[column].tolist() == truth[column].astype(str).tolist(), column
        for column in ("motor_findings", "checkup_booklet", "family_language"):
            assert seu[column].tolist() == truth[column].astype(str).tolist(), column

        kita = table(raw_dir, contracts["jugendamt_kita"], stichtag)
        truth = sim.daycare[sim.daycare["stichtag"] == ts]
        assert len(kita) == len(truth) > 0
        assert kita["child_number"].tolist() == truth["child_number"].tolist()
        assert kita["birth_date"].tolist() == truth["birth_date"].dt.strftime("%d.%m.%Y").tolist()
        assert kita["care_hours"].astype(int).tolist() == truth["care_hours"].tolist()
        assert kita["facility"].tolist() == truth["facility"].tolist()
        assert kita["street_name"].tolist() == truth["street_name"].tolist()

        path = raw_dir / "schulamt" / f"Uebergaenge_Sek1_{stichtag.year}.csv"
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode("cp1252"), newline=""), delimiter=";"))
        truth = sim.school_transitions[sim.school_transitions["stichtag"] == ts]
        assert rows[-1] == ["Summe", "", "", str(len(truth))]
        assert len(rows) - 2 == len(truth) > 0
        assert [r[0] for r in rows[1:-1]] == truth["pupil_number"].tolist()
        assert [r[3] for r in rows[1:-1]] == truth["school_type"].tolist()


def test_children_are_the_right_residents(sim):
    persons = sim.persons.set_index(["stichtag", "person_key"])
    for frame, ages in ((sim.school_entry, {6}), (sim.daycare, set(range(6))), (sim.school_transitions, {10})):
        index = pd.MultiIndex.from_arrays([frame["stichtag"], frame["person_key"]])
        who = persons.loc[index]
        assert set(who["age"]) == ages
        assert (who["residence_status"] == "H").all()
        assert (who["address_id"].astype(str).to_numpy() == frame["address_id"].astype(str).to_numpy()).all()
        assert not frame.duplicated(["stichtag", "person_key"]).any()
    entry = sim.school_entry
    assert (entry["age"] == 6).all() and (entry["stichtag"].dt.year - entry["birth_year"] == 6).all()
    # birth dates of the day-care file lie in the true birth month
    d = sim.daycare
    born = persons.loc[pd.MultiIndex.from_arrays([d["stichtag"], d["person_key"]])]
    assert (d["birth_date"].dt.year.to_numpy() == born["birth_year"].to_numpy()).all()
    assert (d["birth_date"].dt.month.to_numpy() == born["birth_month"].to_numpy()).all()
    # a child keeps its number (and mostly its facility) from year to year
    first, second = (d[d["stichtag"] == pd.Timestamp(s)].set_index("person_key") for s in CONFIG.stichtag_dates[-2:])
    both = first.index.intersection(second.index)
    assert len(both) > 0.5 * len(second)
    assert (first.loc[both, "child_number"] == second.loc[both, "child_number"]).all()
    assert (first.loc[both, "facility"] == second.loc[both, "facility"]).mean() > 0.8
    assert d["care_hours"].isin([25, 35, 45]).all() and d["facility"].str.fullmatch(r"Kita \d{3,}").all()
    # numbers are never given to two children
    assert sim.daycare.groupby("child_number")["person_key"].nunique().max() == 1
    assert sim.school_transitions["pupil_number"].is_unique


def test_children_rates_are_plausible(sim):
    for stichtag in sorted(sim.school_entry["stichtag"].unique()):
        residents = _main_residents(sim, stichtag)
        age = residents["age"]
        entry = sim.school_entry[sim.school_entry["stichtag"] == stichtag]
        assert 0.88 <= len(entry) / (age == 6).sum() <= 0.99
        care = sim.daycare[sim.daycare["stichtag"] == stichtag]
        assert 0.25 <= (care["age"] < 3).sum() / (age < 3).sum() <= 0.45
        assert 0.85 <= (care["age"] >= 3).sum() / age.between(3, 5).sum() <= 0.97
        moves = sim.school_transitions[sim.school_transitions["stichtag"] == stichtag]
        assert 0.94 <= len(moves) / (age == 10).sum() <= 1.0
    e = sim.school_entry
    assert 0.15 <= (e["language_support"] == "ja").mean() <= 0.45
    assert 0.08 <= e["weight_status"].isin(["uebergewichtig", "adipoes"]).mean() <= 0.20
    assert 0.10 <= (e["motor_findings"] == "auffaellig").mean() <= 0.25
    assert 0.10 <= (e["checkup_booklet"] == "unvollstaendig").mean() <= 0.25
    assert 0.03 <= (e["checkup_booklet"] == "nicht_vorgelegt").mean() <= 0.08
    # another family language goes with a migration background, and with more need of language support
    persons = sim.persons.set_index(["stichtag", "person_key"])
    migbg = persons.loc[pd.MultiIndex.from_arrays([e["stichtag"], e["person_key"]]), "migration_background"]
    other = (e["family_language"] == "nicht_deutsch").to_numpy()
    assert (migbg.to_numpy()[other] == "j").mean() > 0.9
    support = (e["language_support"] == "ja").to_numpy()
    assert support[other].mean() > 2 * support[~other].mean()
    # poorer blocks: more language support, overweight, motor findings; fewer Gymnasium transitions
    poverty = sim.blocks.set_index("block_code")["poverty"]
    known = e[e["address_known"]]
    poor = known["block_code"].map(poverty) >= poverty.median()
    for column, finding in (("language_support", ["ja"]), ("weight_status", ["uebergewichtig", "adipoes"])):
        flag = known[column].isin(finding)
        assert flag[poor].mean() > flag[~poor].mean(), column
    t = sim.school_transitions[sim.school_transitions["address_known"]]
    gymnasium = t["school_type"] == "GY"
    assert 0.3 <= gymnasium.mean() <= 0.6
    tercile = pd.qcut(t["block_code"].map(poverty), 3, labels=False)
    by_tercile = gymnasium.groupby(tercile).mean()
    assert by_tercile[0] - by_tercile[2] >= 0.12 and by_tercile[0] <= 0.75 and by_tercile[2] >= 0.15
    assert set(t["school_type"]) <= {"GY", "GE", "RS", "HS", "SK", "FS", "SO"}
    assert t["school_type"].nunique() >= 6


# --------------------------------------------------------------------------------------------------
# housing (Stadtplanungsamt) and environment (Umweltamt)


def test_housing_files_follow_the_recut_and_sum_the_blocks(raw_dir, contracts, sim):
    contract = contracts["planung_wohnen"]
    blocks = sim.blocks.set_index("block_code")
    counts = ["dwellings", "social_dwellings", "completions"]
    for stichtag in CONFIG.stichtag_dates:
        ts = pd.Timestamp(stichtag)
        column = "stadtviertel_code_after" if stichtag >= RECUT_DATE else "stadtviertel_code_before"
        path = raw_dir / "planung" / f"Wohnungsbestand_Stadtviertel_{stichtag.year}.csv"
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode("cp1252"), newline=""), delimiter=";"))
        header, body = rows[0], rows[1:-2]
        assert header == [c["header"] for c in contract["columns"]]
        assert rows[-2][0] == "Gesamt" and rows[-1][0].startswith("Quelle:")
        codes = [r[0] for r in body]
        if stichtag.year <= 2020:
            assert not any(c.startswith("0") for c in codes) and all(len(c) == 3 for c in codes)
        else:
            assert all(re.fullmatch(r"\d{4}", c) for c in codes)
        file = table(raw_dir, contract, stichtag)
        file["area_code"] = file["area_code"].str.zfill(4)
        assert sorted(file["area_code"]) == sorted(set(blocks[column]))  # the Gebietsstand of the Stichtag
        truth = sim.housing[sim.housing["stichtag"] == ts]
        assert file["area_code"].tolist() == truth["area_code"].tolist()
        for name in counts:
            values = file[name].replace("-", "0").astype(int)
            assert values.tolist() == truth[name].tolist(), name
        space = file["living_space_m2"].map(lambda v: parse_decimal(v, contract))
        assert np.allclose(space, truth["living_space_m2"], atol=0.005)
        # the file is the block truth summed per Stadtviertel; the total row sums the file
        housing = sim.housing_blocks[sim.housing_blocks["stichtag"] == ts]
        summed = housing.groupby(housing["block_code"].map(blocks[column]))[[*counts, "living_space_m2"]].sum()
        summed = summed.loc[truth["area_code"]]
        for name in counts:
            assert summed[name].tolist() == truth[name].tolist(), name
        assert np.allclose(summed["living_space_m2"], truth["living_space_m2"], atol=0.01)
        assert [int(v) for v in (rows[-2][1], rows[-2][3], rows[-2][4])] == [int(truth[n].sum()) for n in counts]
        assert abs(parse_decimal(rows[-2][2], contract) - truth["living_space_m2"].sum()) < 0.01
    assert any("." in r for r in sim.housing["living_space_m2"].map(lambda v: f"{v:,.2f}"))  # thousands occur


def test_housing_stock_is_plausible(sim):
    h = sim.housing_blocks.merge(sim.blocks[["block_code", "residential", "poverty"]], on="block_code")
    counts = ["dwellings", "social_dwellings", "completions"]
    assert (h.loc[~h["residential"], counts] == 0).all().all()
    assert (h[counts] >= 0).all().all() and (h["social_dwellings"] <= h["dwellings"]).all()
    first = h[h["stichtag"] == h["stichtag"].min()]
    residents = _main_residents(sim, first["stichtag"].iloc[0])
    assert 1.7 <= len(residents) / first["dwellings"].sum() <= 2.3
    size = first["living_space_m2"].sum() / first["dwellings"].sum()
    assert 60 <= size <= 90
    lived_in = first[first["dwellings"] > 20]
    per_dwelling = lived_in["living_space_m2"] / lived_in["dwellings"]
    assert per_dwelling.between(50, 100).all()
    assert np.corrcoef(per_dwelling, lived_in["poverty"])[0, 1] < -0.5
    social_share = lived_in["social_dwellings"] / lived_in["dwellings"]
    assert social_share.max() <= 0.45 and np.corrcoef(social_share, lived_in["poverty"])[0, 1] > 0.5
    # the stock grows by the completions of the year
    wide = h.pivot(index="block_code", columns="stichtag", values="dwellings")
    done = h.pivot(index="block_code", columns="stichtag", values="completions")
    assert (wide.diff(axis=1).iloc[:, 1:] == done.iloc[:, 1:]).all().all()
    per_year = done.sum() / wide.sum()
    assert per_year.between(0.001, 0.02).all()


def test_environment_covers_every_block_every_year(raw_dir, contracts, sim):
    contract = contracts["umwelt_baublock"]
    areas = pd.Series(block_areas(sim.raw.geo), index=sim.raw.geo.block_codes)
    geojson = json.loads((raw_dir / "gebiete" / "baubloecke.geojson").read_text(encoding="utf-8"))
    ring = np.array(geojson["features"][0]["geometry"]["coordinates"][0])
    shoelace = 0.5 * abs(np.sum(ring[:-1, 0] * ring[1:, 1] - ring[1:, 0] * ring[:-1, 1]))
    assert abs(areas[geojson["features"][0]["properties"]["Baublock"]] - shoelace) <= 0.05
    for stichtag in CONFIG.stichtag_dates:
        file = table(raw_dir, contract, stichtag)
        truth = sim.environment[sim.environment["stichtag"] == pd.Timestamp(stichtag)]
        assert file["block_code"].tolist() == truth["block_code"].tolist() == sorted(sim.blocks["block_code"])
        for name in ("area_m2", "green_m2", "noise_m2"):
            assert np.allclose(file[name].astype(float), truth[name]), name
    e = sim.environment.merge(sim.blocks[["block_code", "residential", "density"]], on="block_code")
    assert (e["green_m2"] <= e["area_m2"]).all() and (e["noise_m2"] <= e["area_m2"]).all()
    assert np.allclose(e["area_m2"], e["block_code"].map(areas))
    green = e["green_m2"] / e["area_m2"]
    noise = e["noise_m2"] / e["area_m2"]
    open_space = ~e["residential"]
    assert ((green[open_space] > 0.6) | (noise[open_space] > 0.35)).all()  # parks or industrial estates
    assert green[e["residential"]].between(0.0, 0.7).all() and 0.1 <= green[e["residential"]].mean() <= 0.35
    assert np.corrcoef(noise[e["residential"]], e.loc[e["residential"], "density"])[0, 1] > 0.3
    # nearly constant: green changes a little every year, noise only with the 2022 noise mapping
    wide_green = e.pivot(index="block_code", columns="stichtag", values="green_m2")
    assert (wide_green.pct_change(axis=1).iloc[:, 1:].abs().fillna(0) < 0.05).all().all()
    wide_noise = e.pivot(index="block_code", columns="stichtag", values="noise_m2")
    years = [d.year for d in wide_noise.columns]
    same_round = [(a, b) for a, b in zip(years, years[1:], strict=False) if (a < 2022) == (b < 2022)]
    for a, b in same_round:
        assert (wide_noise[pd.Timestamp(f"{a}-12-31")] == wide_noise[pd.Timestamp(f"{b}-12-31")]).all()
    assert (wide_noise[pd.Timestamp("2021-12-31")] != wide_noise[pd.Timestamp("2022-12-31")]).any()


# --------------------------------------------------------------------------------------------------
# the deliberate mess


def test_renamed_headers_in_the_right_years(raw_dir):
    for year in YEARS:
        register = (raw_dir / "einwohner" / f"EWR_Bestand_{year}1231.csv").read_bytes().decode("cp1252")
        header = register.splitlines()[0].split(";")
        assert ("Haushaltsnummer" in header) == (year >= 2022)
        assert ("Haushalts_ID" in header) == (year < 2022)
        wohngeld = (raw_dir / "wohngeld" / f"Wohngeld_{year}1231.csv").read_bytes().decode("cp1252")
        header = wohngeld.splitlines()[0].split(";")
        assert ("Anzahl_Haushaltsmitglieder" in header) == (year >= 2023)
        assert ("Haushaltsgroesse" in header) == (year < 2023)
        seu = (raw_dir / "gesundheitsamt" / f"SEU_Einschulung_{year}.csv").read_bytes().decode("cp1252")
        header = seu.splitlines()[0].split(";")
        assert ("Erstsprache" in header) == (year >= 2022)
        assert ("Familiensprache" in header) == (year < 2022)


def test_street_keys_without_leading_zeros_in_2019_and_2020(raw_dir, contracts):
    for stichtag in CONFIG.stichtag_dates:
        keys = table(raw_dir, contracts["register_persons"], stichtag)["street_key"]
        if stichtag.year <= 2020:
            assert (keys.str.len() < 5).any() and not keys.str.startswith("0").any()
        else:
            assert (keys.str.len() == 5).all() and keys.str.startswith("0").any()


def test_ba_block_codes_numeric_until_2021(raw_dir):
    for year in YEARS:
        path = raw_dir / "arbeitsagentur" / f"BA_Arbeitsmarkt_Baublock_{year}12.xlsx"
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Arbeitsmarkt").to_python()
        codes = [r[0] for r in rows[4:-3]]
        if year <= 2021:
            assert all(isinstance(c, float) for c in codes) and min(codes) == 1.0
        else:
            assert all(isinstance(c, str) and re.fullmatch(r"\d{5}", c) for c in codes)


def test_typed_addresses_vary_in_spelling(sim):
    typed = pd.concat([sim.sgb2, sim.sgb12, sim.wohngeld, sim.school_entry, sim.daycare, sim.school_transitions])
    streets = typed["street_name"]
    assert streets.str.contains("straße").any()
    assert streets.str.contains(r"str\.$").any()
    assert streets.str.contains("strasse").any()
    assert (streets.str.slice(0, 1).str.islower()).any()
    assert streets.str.contains("  ").any()
    numbers = typed["house_number_text"]
    assert numbers.str.fullmatch(r"\d+[a-z]").any()
    assert numbers.str.fullmatch(r"\d+ [A-Z]").any()
    assert numbers.str.fullmatch(r"\d+[A-Z]").any()
    # every known typed address resolves, after normalising, to the register address
    register = sim.addresses.set_index("address_id")
    known = typed[typed["address_known"]]
    canonical = register.loc[known["address_id"], "street_name"].to_numpy()

    def normal(values):
        s = pd.Series(values, dtype=object).str.lower().str.replace("ß", "ss").str.replace(r"\s+", " ", regex=True)
        return s.str.strip().str.replace(r"str\.$", "strasse", regex=True).str.replace(r"pl\.$", "platz", regex=True)

    assert (normal(known["street_name"].to_numpy()).to_numpy() == normal(canonical).to_numpy()).all()


def test_unknown_addresses_are_rare_but_present(raw_dir, contracts, sim):
    register_addresses = set(
        sim.addresses[["street_key", "house_number", "house_number_suffix"]]
        .fillna("")
        .astype(str)
        .apply("|".join, axis=1)
    )
    unknown = 0
    total = 0
    for stichtag in CONFIG.stichtag_dates:
        register = table(raw_dir, contracts["register_persons"], stichtag)
        street_key = register["street_key"].str.zfill(5)
        key = street_key + "|" + register["house_number"] + "|" + register["house_number_suffix"]
        missing = ~key.isin(register_addresses)
        truth = sim.persons[sim.persons["stichtag"] == pd.Timestamp(stichtag)]
        assert missing.sum() == (~truth["address_known"]).sum()
        unknown += missing.sum()
        total += len(register)
    assert 0.002 <= unknown / total <= 0.008
    assert sim.persons.loc[~sim.persons["address_known"], "block_code"].isna().all()
    for frame in (sim.sgb2, sim.sgb12, sim.wohngeld):
        share = (~frame["address_known"]).mean()
        assert 0.001 <= share <= 0.012
        assert frame.loc[~frame["address_known"], "block_code"].isna().all()
        assert frame.loc[frame["address_known"], "block_code"].notna().all()
    children = pd.concat([sim.school_entry, sim.daycare, sim.school_transitions])
    assert 0.001 <= (~children["address_known"]).mean() <= 0.012
    assert children.loc[~children["address_known"], "block_code"].isna().all()
    assert children.loc[children["address_known"], "block_code"].notna().all()
    moves = sim.movements
    to_unknown = moves["to_address_id"].notna() & moves["to_block_code"].isna()
    assert 0 < to_unknown.mean() < 0.02


def test_simulation_frames_have_documented_columns(sim):
    expected = {
        "persons": [
            "stichtag",
            "person_key",
            "birth_year",
            "birth_month",
            "sex",
            "nationality_1",
            "nationality_2",
            "migration_background",
            "address_id",
            "block_code",
            "street_key",
            "house_number",
            "house_number_suffix",
            "household_key",
            "moved_in_date",
            "residence_status",
            "address_known",
        ],
        "movements": ["year", "person_key", "event_type", "event_date", "from_block_code", "to_block_code"],
        "sgb2": ["stichtag", "bg_number", "member_number", "age", "sex", "employable", "block_code", "address_known"],
        "sgb12": ["stichtag", "block_code", "address_known"],
        "wohngeld": ["stichtag", "block_code", "address_known"],
        "unemployment": [
            "stichtag",
            "block_code",
            "unemployed_total",
            "long_term_unemployed",
            "employees_svb",
            "low_earners",
        ],
        "school_entry": [
            "stichtag",
            "exam_number",
            "person_key",
            "birth_year",
            "birth_month",
            "age",
            "sex",
            "language_support",
            "weight_status",
            "motor_findings",
            "checkup_booklet",
            "family_language",
            "street_name",
            "house_number_text",
            "address_id",
            "block_code",
            "address_known",
        ],
        "daycare": [
            "stichtag",
            "child_number",
            "person_key",
            "birth_date",
            "age",
            "care_hours",
            "facility",
            "street_name",
            "house_number_text",
            "address_id",
            "block_code",
            "address_known",
        ],
        "school_transitions": [
            "stichtag",
            "pupil_number",
            "person_key",
            "school_type",
            "street_name",
            "house_number_text",
            "address_id",
            "block_code",
            "address_known",
        ],
        "housing_blocks": ["stichtag", "block_code", "dwellings", "living_space_m2", "social_dwellings", "completions"],
        "housing": ["stichtag", "area_code", "dwellings", "living_space_m2", "social_dwellings", "completions"],
        "environment": ["stichtag", "block_code", "area_m2", "green_m2", "noise_m2"],
        "membership": ["block_code", "level", "area_code", "valid_from", "valid_to"],
        "areas": ["level", "area_code", "area_name", "parent_code", "valid_from", "valid_to"],
        "addresses": ["address_id", "street_key", "street_name", "house_number", "house_number_suffix", "block_code"],
    }
    for name, columns in expected.items():
        assert set(columns) <= set(getattr(sim, name).columns), name
    assert sim.persons["stichtag"].dt.year.unique().tolist() == YEARS
    assert (sim.persons["person_key"].astype(str).str.fullmatch(r"[0-9a-f]{16}")).all()
    assert (sim.persons["household_key"].astype(str).str.fullmatch(r"H\d{8}")).all()
    assert sim.blocks["block_code"].str.fullmatch(r"\d{5}").all()
    last_day = pd.Timestamp(date(YEARS[-1], 12, 31))
    assert last_day - pd.Timedelta(days=10) < sim.movements["event_date"].max() <= last_day


@pytest.mark.parametrize(("residents", "seed"), [(1_000, 20241231), (1_000, 2), (1_500, 3)])
def test_the_smallest_cities_generate(tmp_path, residents, seed):
    """DemoConfig accepts 1,000 residents, so such a city must come out: its 12 x 10 grid has
    Stadtbezirke of 3 x 3 blocks that no straight cut splits into two parts of 4, and several
    streets without addresses (all with street key 0)."""
    generate(tmp_path, DemoConfig(residents=residents, seed=seed))
    areas = pd.read_csv(tmp_path / "gebiete" / "gebietsgliederung.csv", sep=";", dtype=str)
    per_level = areas["Ebene"].value_counts()
    assert per_level["gemeinde"] == 1
    assert per_level["stadtviertel"] > per_level["stadtteil"] > per_level["stadtbezirk"] > 1
    assert areas["Schluessel"].is_unique


def test_a_city_with_longer_stadtviertel_codes_gets_contracts_of_its_own(tmp_path, raw_dir):
    # the demo's four-digit codes: the contracts as they are
    assert contracts_for(raw_dir, CONTRACTS_DIR, tmp_path / "unused") == CONTRACTS_DIR
    assert not (tmp_path / "unused").exists()
    # five digits (more than nine Stadtviertel in a Stadtteil): a copy whose housing file is read
    # with codes padded to five, all other contracts unchanged
    city = tmp_path / "raw"
    (city / "gebiete").mkdir(parents=True)
    (city / "gebiete" / "gebietsgliederung.csv").write_text(
        "Ebene;Schluessel;Name;Oberbezirk;Gueltig_ab;Gueltig_bis\n"
        "stadtteil;011;A;01;01.01.2000;\nstadtviertel;01101;A I;011;01.01.2000;\n"
        "stadtviertel;01112;A XII;011;01.01.2000;\n",
        encoding="utf-8",
    )
    own = contracts_for(city, CONTRACTS_DIR, tmp_path / "contracts")
    assert own == tmp_path / "contracts" and viertel_code_digits(city) == 5
    [area_code] = [c for c in load_contracts(own, PROJECT)["planung_wohnen"].columns if c.name == "area_code"]
    assert (area_code.pad, area_code.pattern) == (5, r"^\d{5}$")
    unchanged = sorted(p.name for p in CONTRACTS_DIR.glob("*.yml") if p.name != "planung_wohnen.yml")
    for name in unchanged:
        assert (own / name).read_bytes() == (CONTRACTS_DIR / name).read_bytes()
    default = load_contracts(CONTRACTS_DIR, PROJECT)["planung_wohnen"]
    mine = load_contracts(own, PROJECT)["planung_wohnen"].model_copy(update={"columns": default.columns})
    assert mine.model_dump() == default.model_dump()  # the contracts' files differ: compare their content
