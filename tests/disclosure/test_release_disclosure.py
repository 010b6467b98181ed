"""Disclosure control on real releases of the test city: what leaves is scanned, audited and
attacked."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from openpyxl import load_workbook

from orchestration.pipeline import run_pipeline
from orchestration.release import list_releases
from orchestration.release.disclosure_audit import DisclosureAuditFailed
from tests.helpers import json_keys, read_parquet

# Columns of microdata: keys and the attributes that identify a person or an address. Indicator
# columns named after what they count (births_per_1000, households, share_households_size_1) are
# aggregates and allowed.
FORBIDDEN_COLUMN = re.compile(
    r"person_(key|id|nr|number)|^person$|personen|birth_(year|month|date)|geburts(jahr|monat|datum)|address|adress|street|strasse|straße|"
    r"house_number|hausn|household_key|haushalts_?(id|nummer)|"
    r"bg_number|case_number|aktenzeichen|application|antrag|_record_key|record_key",
    re.IGNORECASE,
)


def _latest(settings) -> Path:
    return list_releases(settings.releases_dir)[-1].path


def _delivered_keys(raw: Path) -> set[str]:
    """A sample of the keys the departments delivered (person, household)."""
    out: set[str] = set()
    for path in sorted((raw / "einwohner").glob("*.csv"))[-1:]:
        with path.open(encoding="cp1252") as fh:
            for i, row in enumerate(csv.DictReader(fh, delimiter=";")):
                out.add(row["Personen_ID"])
                out.add(row.get("Haushalts_ID") or row["Haushaltsnummer"])
                if i > 300:
                    break
    return out


def _pseudonyms(warehouse: Path) -> set[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select person_key, household_key from raw.register_persons using sample 300 rows (reservoir, 7)"
        ).fetchall()
    finally:
        con.close()
    return {v for row in rows for v in row}


def _finder(wanted: dict[str, str]) -> Callable[[bytes], dict[str, list[str]]]:
    """A function that finds every string of `wanted` (ASCII; string -> what it is) anywhere in a
    blob: the strings found, sorted, by what they are. One pass over the bytes for all strings
    (Aho-Corasick): a search per string read the release's 20 MB some 1,600 times (17 s on the test
    city)."""
    import ahocorasick

    assert wanted and all(text.isascii() for text in wanted)
    automaton = ahocorasick.Automaton()
    for text in wanted:
        automaton.add_word(text, text)
    automaton.make_automaton()

    def find(blob: bytes) -> dict[str, list[str]]:
        found: dict[str, set[str]] = {}
        # latin-1 maps each byte to the character of the same number: an ASCII string occurs in
        # the text exactly where its bytes occur in the blob
        for _end, text in automaton.iter(blob.decode("latin-1")):
            found.setdefault(wanted[text], set()).add(text)
        return {what: sorted(hits) for what, hits in found.items()}

    return find


def _count_violations(values: pd.DataFrame, catalogue: pd.DataFrame) -> pd.DataFrame:
    merged = values.merge(catalogue[["indicator_id", "disclosure_rule", "disclosure_min_count"]], on="indicator_id")
    low = merged["disclosure_min_count"].fillna(3)
    bad_num = (merged["disclosure_rule"] == "count") & merged["numerator"].between(1, low - 1)
    bad_den = merged["denominator"].between(1, low - 1)
    return merged[bad_num | bad_den]


def _baublocks(settings) -> tuple[set[str], list[list[tuple[str, str]]], set[str], list[list[tuple[str, str]]]]:
    """The Baublöcke of the warehouse: their ids, each one's corners in WGS84 as a published GeoJSON
    would write them (6 decimals), their delivered coordinates as text (EPSG:25832), and each one's
    delivered corners (EPSG:25832, 2 decimals) as a GeoPackage in that CRS would hold them."""
    from orchestration.warehouse import extension_path

    con = duckdb.connect()
    try:
        con.execute(f"load '{extension_path('spatial')}'")
        con.execute(f"attach '{settings.warehouse_path}' as wh (read_only)")
        rows = con.execute(
            """select block_code, geometry_geojson, ST_AsGeoJSON(ST_Transform(ST_GeomFromGeoJSON(geometry_geojson),
                   'EPSG:25832', 'EPSG:4326', always_xy := true))
               from wh.raw.geo_block_polygons order by block_code"""
        ).fetchall()
    finally:
        con.close()
    ids = {code for code, _, _ in rows}
    corners = [
        sorted({(f"{x:.6f}", f"{y:.6f}") for x, y in json.loads(wgs84)["coordinates"][0]}) for _, _, wgs84 in rows
    ]
    delivered = {
        f"{c:.2f}".rstrip("0").rstrip(".")
        for _, g, _ in rows
        for point in json.loads(g)["coordinates"][0]
        for c in point
    }
    utm = [sorted({(f"{x:.2f}", f"{y:.2f}") for x, y in json.loads(g)["coordinates"][0]}) for _, g, _ in rows]
    return ids, corners, delivered, utm


def _geojson_vertices(node) -> set[tuple[str, str]]:
    if isinstance(node, list) and len(node) == 2 and all(isinstance(c, int | float) for c in node):
        return {(f"{node[0]:.6f}", f"{node[1]:.6f}")}
    if isinstance(node, list):
        return set().union(*(_geojson_vertices(n) for n in node)) if node else set()
    return set()


def test_no_public_artefact_holds_microdata_or_small_counts(built_city):
    release = _latest(built_city)
    secrets = _delivered_keys(built_city.raw_dir) | _pseudonyms(built_city.warehouse_path)
    assert len(secrets) > 500
    block_ids, block_corners, block_coordinates, block_corners_utm = _baublocks(built_city)
    assert len(block_ids) > 100 and len(block_coordinates) > 400
    findings: list[str] = []

    con = duckdb.connect(str(release / "sozialmonitor.duckdb"), read_only=True)
    try:
        relations = con.execute("select table_name, column_name, data_type from information_schema.columns").fetchall()
        for table, column, _type in relations:
            if FORBIDDEN_COLUMN.search(column):
                findings.append(f"sozialmonitor.duckdb {table}.{column}")
            geometry_like = re.search(r"geom|wkt|wkb|polygon|baublock|block_(id|code)", column, re.IGNORECASE)
            if geometry_like or _type in ("GEOMETRY", "BLOB"):
                findings.append(f"sozialmonitor.duckdb {table}.{column}: geometry or Baublock column")
        tables = {t for t, _c, _d in relations}
        for table in tables:
            frame = con.execute(f'select * from "{table}"').df()
            text = set(frame.select_dtypes(include=["object", "string"]).astype(str).stack().tolist())
            if text & secrets:
                findings.append(f"sozialmonitor.duckdb {table}: holds a person or household key")
            if text & block_ids:
                findings.append(f"sozialmonitor.duckdb {table}: holds Baublock ids {sorted(text & block_ids)[:3]}")
        values = con.execute("select * from indicator_values").df()
        catalogue = con.execute("select * from indicator_catalogue").df()
    finally:
        con.close()
    small = _count_violations(values, catalogue)
    assert small.empty, small.head().to_string()

    parquets, geojsons = sorted((release / "data").glob("*.parquet")), sorted(release.rglob("*.geojson"))
    assert "indicator_values.parquet" in {p.name for p in parquets} and geojsons
    for parquet in parquets:
        frame = read_parquet(parquet)
        findings += [f"{parquet.name}: column {c}" for c in frame.columns if FORBIDDEN_COLUMN.search(c)]
        text = set(frame.select_dtypes(include=["object", "string"]).astype(str).stack().tolist())
        if text & block_ids:
            findings.append(f"{parquet.name}: holds Baublock ids {sorted(text & block_ids)[:3]}")
        if name_small := parquet.stem == "indicator_values":
            assert _count_violations(frame, catalogue).empty and name_small
    for geojson in geojsons:
        data = json.loads(geojson.read_text(encoding="utf-8"))
        keys = {k for f in data["features"] for k in f["properties"]}
        findings += [f"{geojson.name}: property {k}" for k in keys if FORBIDDEN_COLUMN.search(k)]
        ids = {str(v) for f in data["features"] for v in f["properties"].values()} & block_ids
        findings += [f"{geojson.name}: Baublock id {i}" for i in sorted(ids)]
        # no Baublock's outline: a block whose corners (3 or more) are all vertices of a public polygon
        vertices = _geojson_vertices([f["geometry"]["coordinates"] for f in data["features"]])
        outlined = sum(len(set(c) & vertices) >= min(3, len(c)) for c in block_corners)
        if outlined:
            findings.append(f"{geojson.name}: the corners of {outlined} Baublöcke")
    # the GeoPackage, read through GDAL as a GIS user reads it: its attribute columns and values
    count_minimum = {
        row.indicator_id: (3 if pd.isna(row.disclosure_min_count) else int(row.disclosure_min_count))
        for row in catalogue.itertuples()
        if row.disclosure_rule == "count" and row.unit == "Anzahl"  # the value is the count itself
    }
    assert count_minimum
    geopackages = sorted(release.rglob("*.gpkg"))
    assert geopackages
    from orchestration.warehouse import extension_path

    gis = duckdb.connect()
    try:
        gis.execute(f"load '{extension_path('spatial')}'")
        for gpkg in geopackages:
            meta = gis.execute(f"select layers from ST_Read_Meta('{gpkg}')").fetchone()[0]
            layers = [layer["name"] for layer in meta]
            assert layers
            for layer in layers:
                where = f"{gpkg.name} layer {layer}"
                frame = gis.execute(f"select * exclude (geom) from ST_Read('{gpkg}', layer = '{layer}')").df()
                assert len(frame) > 0 and "area_id" in frame.columns
                for column in frame.columns:
                    if FORBIDDEN_COLUMN.search(column) or re.search(r"baublock|block_(id|code)", column, re.I):
                        findings.append(f"{where}: column {column}")
                text = set(frame.select_dtypes(include=["object", "string"]).astype(str).stack().tolist())
                if text & secrets:
                    findings.append(f"{where}: holds a person or household key")
                if text & block_ids:
                    findings.append(f"{where}: holds Baublock ids {sorted(text & block_ids)[:3]}")
                # a person count of 1 up to below its minimum (withheld counts are NULL, zeros are published)
                checked = [i for i in count_minimum if i in frame.columns]
                assert checked, where  # the count indicators are there, so the check below runs
                for indicator in checked:
                    small = frame[frame[indicator].between(1, count_minimum[indicator] - 1)]
                    if not small.empty:
                        findings.append(f"{where}: {indicator} = {small[indicator].tolist()[:3]}")
                # no Baublock's outline: a block whose delivered corners (3 or more) are all vertices
                vertices = {
                    (f"{x:.2f}", f"{y:.2f}")
                    for x, y in gis.execute(
                        f"""select ST_X(p.geom), ST_Y(p.geom) from (select unnest(ST_Dump(ST_Points(geom))) as p
                            from ST_Read('{gpkg}', layer = '{layer}'))"""
                    ).fetchall()
                }
                assert vertices
                outlined = sum(len(set(c) & vertices) >= min(3, len(c)) for c in block_corners_utm)
                if outlined:
                    findings.append(f"{where}: the corners of {outlined} Baublöcke")
    finally:
        gis.close()
    # the German tables: every cell of every workbook and every field of every CSV (an XLSX is a zip,
    # the byte scan below does not see its text)
    xlsx_files = sorted(release.rglob("*.xlsx"))
    csv_files = sorted(release.rglob("*.csv"))
    assert xlsx_files and csv_files
    for path in xlsx_files:
        workbook = load_workbook(path, read_only=True)
        # text cells (numbers are values: a count may equal a five-digit Baublock id by chance)
        cells = {
            v for ws in workbook.worksheets for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)
        }
        workbook.close()
        findings += [
            f"{path.name}: {what}" for what, hit in (("key", cells & secrets), ("Baublock", cells & block_ids)) if hit
        ]
        findings += [f"{path.name}: Baublock coordinate {c}" for c in sorted(cells & block_coordinates)]
    for path in csv_files:
        frame = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        findings += [f"{path.name}: column {c}" for c in frame.columns if FORBIDDEN_COLUMN.search(c)]
        text = set(frame[["Gebiets-Nr.", "Gebietsname", "Kennzahl-ID", "Kennzahl", "Hinweis"]].stack().tolist())
        findings += [
            f"{path.name}: {what}" for what, hit in (("key", text & secrets), ("Baublock", text & block_ids)) if hit
        ]
        # no count of persons from 1 to the minimum - 1, read back as the numbers German Excel sees
        counts = frame.rename(columns={"Kennzahl-ID": "indicator_id"})
        for column, name in (("Zähler", "numerator"), ("Nenner", "denominator")):
            counts[name] = pd.to_numeric(counts[column].str.replace(",", ".", regex=False), errors="coerce")
        small = _count_violations(counts, catalogue)
        findings += [f"{path.name}: small count {r}" for r in small.head(3).to_dict("records")]
    # the atlas's data (atlas/data.js): areas of the public levels only, no count below the minimum
    # (the byte scan below covers keys and delivered coordinates in every file of the atlas too)
    from orchestration.release.atlas.model import loads as atlas_loads

    atlas = atlas_loads((release / "atlas" / "data.js").read_text(encoding="utf-8"))
    atlas_ids = {i for level in atlas["geo"]["areas"].values() for i in level["ids"]}
    findings += [f"atlas/data.js: Baublock id {i}" for i in sorted(atlas_ids & block_ids)]
    findings += [f"atlas/data.js: level {lv}" for lv in atlas["geo"]["areas"] if re.search("block", lv, re.I)]
    atlas_counts = pd.DataFrame(
        [
            {"indicator_id": indicator, "numerator": n, "denominator": d}
            for cells in atlas["values"].values()
            for indicator, c in cells.items()
            for t, row in enumerate(c["n"])
            for n, d in zip(row, c["d"][t] if "d" in c else [None] * len(row), strict=True)
        ]
    )
    small = _count_violations(atlas_counts, catalogue)
    findings += [f"atlas/data.js: small count {r}" for r in small.head(3).to_dict("records")]
    # the printed report (bericht/*.pdf): its text as a reader copies it out of the PDFs (the streams
    # are compressed, the byte scan below does not see it): no key, no Baublock id or coordinate, no
    # count of persons from 1 to the minimum - 1 in a profile's rows
    from pypdf import PdfReader

    pdfs = sorted((release / "bericht").rglob("*.pdf"))
    assert len(pdfs) > 10
    count_names = {
        row.name_de: count_minimum.get(row.indicator_id, 3)
        for row in catalogue.itertuples()
        if row.disclosure_rule == "count" and row.unit == "Anzahl"
    }
    assert count_names
    counted = 0
    for path in pdfs:
        text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
        tokens = set(re.split(r"\s+", text))
        findings += [
            f"{path.name}: {what}"
            for what, hit in (
                ("key", tokens & secrets),
                ("Baublock", tokens & block_ids),
                ("Baublock coordinate", tokens & block_coordinates),
            )
            if hit
        ]
        findings += [f"{path.name}: level Baublock" for _ in re.findall(r"Baublock-Ebene|Baublöcken:", text)]
        for name, minimum in count_names.items():
            for m in re.finditer(rf"(?:^|\n){re.escape(name)}\s+Anzahl\s+(\S+)\s+(\S+)", text):
                for printed in m.groups():
                    counted += 1
                    digits = printed.strip("()").replace(".", "")
                    if digits.isdigit() and 1 <= int(digits) < minimum:
                        findings.append(f"{path.name}: {name} = {printed}")
    assert counted > 10  # the profiles' count rows were found, so the check above ran
    # the HTML pages (lineage docs, gate report) name no Baublock beyond the synthetic ids of the dbt
    # project's own unit tests
    in_code = {
        m
        for folder in (built_city.dbt_project_dir / "models", built_city.generated_dir / "models")
        for path in folder.rglob("*")
        if path.suffix in (".yml", ".sql")
        for m in re.findall(r"\b\d{5}\b", path.read_text(encoding="utf-8"))
    }
    # (a five-digit run inside a number or a word, e.g. the fraction of a timestamp 1796058859.00019 or
    # the colour #00009f, is no id)
    for page in sorted(release.rglob("*.html")):
        named = set(re.findall(r"(?<![\w.])\d{5}(?![\w.])", page.read_text(encoding="utf-8"))) & block_ids
        if named - in_code:
            findings.append(f"{page.relative_to(release)}: names Baublöcke {sorted(named - in_code)[:3]}")
    # every file of the release, byte for byte: no delivered key, no pseudonym, no delivered Baublock
    # coordinate (EPSG:25832, e.g. in a text or WKT column), anywhere in its bytes
    find = _finder({**dict.fromkeys(block_coordinates, "Baublock coordinates"), **dict.fromkeys(secrets, "keys")})
    key, coordinate = min(secrets), min(block_coordinates)  # the finder finds, inside other bytes too
    planted = find(b"\x00a" + key.encode() + b"b\xff" + coordinate.encode() + b"c")
    assert key in planted["keys"] and coordinate in planted["Baublock coordinates"]
    for path in sorted(p for p in release.rglob("*") if p.is_file()):
        for what, hits in find(path.read_bytes()).items():
            findings.append(f"{path.relative_to(release)}: contains {what} {hits[:3]}")
    assert not findings, findings


def test_audit_figures_are_in_the_manifest_and_passed(built_city):
    manifest = json.loads((_latest(built_city) / "manifest.json").read_text(encoding="utf-8"))
    audit = manifest["disclosure_audit"]
    assert audit["passed"] is True and audit["problems"] == []
    assert audit["withheld_cells"] > 0 and audit["withheld_below_width"] == 0
    assert audit["protection_width"] == 3
    # nothing that tells primary from secondary cells or is computed from true values
    assert not {k for k in audit if "primary" in k or "secondary" in k or "margin" in k or "noise" in k}
    # proven with whole-number tables, not two programmes per cell (here the pattern's own, checked:
    # no programme at all; tests/disclosure/test_audit_proofs.py); no time-dependent figure
    assert audit["linear_programmes"] < 2 * audit["withheld_cells"]
    assert isinstance(audit["integer_programmes"], int) and isinstance(audit["exact_intervals"], int)
    assert "seconds" not in audit and not {k for k in audit if "narrowest" in k}
    rules = manifest["rules"]["disclosure"]
    assert rules["method"] == "suppression" and "SWITCHED OFF" not in rules["secondary"]
    # the gate report in the release carries no example rows (internal values; tests/quality checks
    # that it carries nothing else computed from the data)
    gates = json.loads((_latest(built_city) / "quality" / "gates.json").read_text(encoding="utf-8"))
    assert all("examples" not in r for r in gates["results"])


def _level_subtraction_recoveries(values: pd.DataFrame, areas: pd.DataFrame, catalogue: pd.DataFrame) -> list[tuple]:
    """The plain attack: a Stadtteil's count minus its published Stadtviertel, for every Stadtteil
    with exactly one withheld Stadtviertel. Returns (indicator, stichtag, viertel, recovered)."""
    parents = areas[areas["level"] == "stadtviertel"][["area_id", "parent_id", "valid_from", "valid_to"]]
    counts = values.merge(catalogue[["indicator_id", "disclosure_rule"]], on="indicator_id")
    counts = counts[counts["disclosure_rule"] == "count"]
    viertel = counts[counts["level"] == "stadtviertel"].merge(parents, on="area_id")
    viertel = viertel[
        (viertel["valid_from"] <= viertel["stichtag"])
        & (viertel["valid_to"].isna() | (viertel["valid_to"] >= viertel["stichtag"]))
    ]
    teil = counts[counts["level"] == "stadtteil"][["indicator_id", "stichtag", "area_id", "numerator"]].rename(
        columns={"area_id": "parent_id", "numerator": "parent_numerator"}
    )
    # per Stadtteil, indicator and Stichtag (one grouping, not a filter of the Stadtteile per group):
    # its withheld Stadtviertel, the sum of its published ones, and the Stadtteil's own count
    key = ["indicator_id", "stichtag", "parent_id"]
    viertel = viertel.assign(hidden=viertel["numerator"].isna() & viertel["is_suppressed"])
    per = viertel.groupby(key).agg(hidden=("hidden", "sum"), published=("numerator", "sum"))
    totals = teil.groupby(key).agg(rows=("parent_numerator", "size"), parent_numerator=("parent_numerator", "first"))
    one = per[per["hidden"] == 1].join(totals, how="inner")
    one = one[(one["rows"] == 1) & one["parent_numerator"].notna()]
    withheld = viertel[viertel["hidden"]].set_index(key)["area_id"]
    one = one.join(withheld, how="inner")
    recovered = one["parent_numerator"] - one["published"]
    return [
        (indicator, day, area, value)
        for (indicator, day, _parent), area, value in zip(one.index, one["area_id"], recovered, strict=True)
    ]


def _public(settings) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return (
            con.execute("select * from public.indicator_values").df(),
            con.execute("select * from public.areas").df(),
            con.execute("select * from public.indicator_catalogue").df(),
            con.execute("select * from disclosure.disclosure_pattern").df(),
        )
    finally:
        con.close()


def test_level_attack_succeeds_without_secondary_suppression_and_the_audit_blocks_that_release(released_copy):
    before = {r.id for r in list_releases(released_copy.releases_dir)}
    with pytest.raises(DisclosureAuditFailed, match="narrower than the protection width|published"):
        run_pipeline(released_copy, dbt_vars={"disclosure_secondary_suppression": False})
    assert {r.id for r in list_releases(released_copy.releases_dir)} == before  # nothing published
    values, areas, catalogue, pattern = _public(released_copy)
    recovered = _level_subtraction_recoveries(values, areas, catalogue)
    assert recovered, "with secondary suppression off, some withheld Stadtviertel must be recoverable"
    truth = pattern.set_index(["stichtag", "level", "area_id", "measure"])["value"]
    measure = catalogue.set_index("indicator_id")["numerator_measure"]
    for indicator, day, viertel, value in recovered:
        assert value == truth[(day, "stadtviertel", viertel, measure[indicator])]  # the attack works


def test_level_attack_fails_on_the_real_release(built_city):
    values, areas, catalogue, _pattern = _public(built_city)
    assert values["is_suppressed"].any()
    assert _level_subtraction_recoveries(values, areas, catalogue) == []


def test_cell_key_release_perturbs_consistently_and_says_tables_do_not_add_up(released_copy):
    summary = run_pipeline(released_copy, dbt_vars={"disclosure_method": "cell_key"}, force_release=True)
    release = summary.release.release.path
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rules"]["disclosure"]["method"] == "cell_key"
    assert manifest["rules"]["disclosure"]["tables_add_up"] is False
    assert manifest["disclosure_audit"]["passed"] is True
    # the Cell Key Method withholds nothing: the plausibility gate checks every value (under
    # suppression it leaves out the rates withheld over too few people)
    con = duckdb.connect(str(released_copy.warehouse_path), read_only=True)
    try:
        checked, values = con.execute(
            "select (select count(*) from gates.gate_plausible_ranges), "
            "(select count(*) from marts.fct_indicator_values where value is not null)"
        ).fetchone()
    finally:
        con.close()
    assert checked == values

    # D and V are not published: no parameter of the CKM file appears in the manifest
    assert not {"max_deviation", "variance", "forbidden_small"} & set(json_keys(manifest))
    assert "max_deviation" not in json.dumps(manifest)
    values = read_parquet(release / "data" / "indicator_values.parquet")
    catalogue = read_parquet(release / "data" / "indicator_catalogue.parquet")
    assert _count_violations(values, catalogue).empty
    assert not values["is_suppressed"].any()
    # the same cell (residents of an area) carries the same noise in every indicator that shows it
    residents_as = values.merge(catalogue[["indicator_id", "denominator_measure"]], on="indicator_id")
    residents_as = residents_as[residents_as["denominator_measure"] == "residents"]
    spread = residents_as.groupby(["level", "area_id", "stichtag"])["denominator"].nunique()
    assert (spread == 1).all()
    counts = values[values["indicator_id"] == "residents"]
    published = counts.set_index(["level", "area_id", "stichtag"])["numerator"]
    con = duckdb.connect(str(released_copy.warehouse_path), read_only=True)
    try:
        truth = (
            con.execute(
                "select level, area_id, stichtag, value from disclosure.disclosure_pattern where measure = 'residents'"
            )
            .df()
            .set_index(["level", "area_id", "stichtag"])["value"]
        )
    finally:
        con.close()
    assert (published != truth.reindex(published.index)).any()  # noise was added
    city = counts[counts["level"] == "gemeinde"].set_index("stichtag")["numerator"]
    viertel_sum = counts[counts["level"] == "stadtviertel"].groupby("stichtag")["numerator"].sum()
    assert (city != viertel_sum.reindex(city.index)).any()  # totals perturbed on their own
    assert "Cell-Key" in (release / "LIESMICH.txt").read_text(encoding="utf-8")

    # The independent attacker, who knows D (the method is public, the parameters may leak), uses
    # every relation between the counts to narrow the noisy counts: it cannot show of any small
    # count that it is below the minimum, nor pin one.
    from orchestration.disclosure.ckm import load_parameters
    from tests.disclosure.attacker import attack
    from tests.disclosure.test_independent_attacker import assert_sound, true_counts

    # The noise is drawn per cell, the same way on every Stichtag: the latest two (the lagged counts
    # tie them together) show it as well as all six, at a third of the solves.
    latest_two = sorted(values["stichtag"].unique())[-2:]
    result = attack(release, noise_bound=load_parameters().max_deviation, stichtage=latest_two)
    assert result.cells_attacked > 0
    assert result.below_min_count == 0, result.worst(10).to_string()
    assert result.exact == 0 and result.narrowest_width >= 3
    assert_sound(result, true_counts(released_copy.warehouse_path, release))
