"""A release describes itself: comments on every table, view and column of its DuckDB, German views,
Parquet key-value metadata, LIESMICH.txt, a Frictionless datapackage.json (validated with the
frictionless package) and a DCAT-AP.de description — all from one description (columns.yml)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import duckdb
import frictionless
import pytest

from orchestration.release import find_release
from orchestration.release.metadata import DATAPACKAGE, DCAT, docs
from orchestration.release.reproducible import scrub_lineage

FLAGS = ("source_missing", "denominator_zero", "input_suppressed", "estimated", "suppressed", "perturbed")


@pytest.fixture(scope="module")
def release(built_city):
    return find_release(built_city.releases_dir, "latest")


@pytest.fixture(scope="module")
def db(release):
    con = duckdb.connect(str(release.path / "sozialmonitor.duckdb"), read_only=True)
    yield con
    con.close()


def test_every_table_view_and_column_of_the_release_duckdb_has_a_german_and_english_comment(db):
    relations = db.execute(
        """select table_name, comment from duckdb_tables() where schema_name = 'main'
           union all select view_name, comment from duckdb_views() where schema_name = 'main' and not internal"""
    ).fetchall()
    names = {r[0] for r in relations}
    assert {
        "indicator_values",
        "areas",
        "indicator_catalogue",
        "kennzahlen",
        "gebiete",
        "kennzahlen_stadtteil",
    } <= names
    uncommented = [r[0] for r in relations if not r[1] or " | English: " not in r[1]]
    assert uncommented == []
    columns = db.execute(
        "select table_name, column_name, comment from duckdb_columns() where schema_name = 'main' "
        "and table_name in (select unnest(?))",
        [sorted(names)],
    ).fetchall()
    assert len(columns) > 100
    assert [(t, c) for t, c, comment in columns if not comment or " | English: " not in comment] == []
    # a wide view's indicator column is described from the catalogue (name and unit)
    [(comment,)] = db.execute(
        "select comment from duckdb_columns() where table_name = 'indicators_stadtteil' and column_name = 'sgb2_quote'"
    ).fetchall()
    name_de, unit = db.execute(
        "select name_de, unit from indicator_catalogue where indicator_id = 'sgb2_quote'"
    ).fetchone()
    assert comment.startswith(f"{name_de} ({unit})")


def test_the_german_views_show_the_same_rows_under_german_names(db):
    assert (
        db.execute("select count(*) from kennzahlen").fetchone()
        == db.execute("select count(*) from indicator_values").fetchone()
    )
    different = db.execute(
        """select count(*) from (
            select indicator_id, level, area_id, stichtag, value, is_suppressed, flags from indicator_values
            except
            select kennzahl, ebene, gebiet_id, stichtag, wert, geheim, hinweise from kennzahlen)"""
    ).fetchone()[0]
    assert different == 0
    assert db.execute("select count(*) from gebiete").fetchone() == db.execute("select count(*) from areas").fetchone()


def test_parquet_files_carry_their_description_stichtag_and_licence(release):
    manifest = release.manifest()
    for name, table in manifest["public_tables"].items():
        path = release.path / table["parquet"]
        con = duckdb.connect()
        kv = dict(con.execute("select decode(key), decode(value) from parquet_kv_metadata(?)", [str(path)]).fetchall())
        columns = [r[0] for r in con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()]
        con.close()
        assert kv["sozialmonitor.table"] == name
        assert kv["sozialmonitor.stichtag"] == manifest["stichtag"]
        assert "dl-de/by-2-0" in kv["sozialmonitor.licence"]
        assert kv["sozialmonitor.description_de"] == docs()["tables"][name]["de"]
        described = json.loads(kv["sozialmonitor.columns"])
        assert list(described) == columns and all(d["de"] and d["en"] for d in described.values())


def test_liesmich_explains_every_table_column_flag_reason_and_sign(release):
    text = (release.path / "LIESMICH.txt").read_text(encoding="utf-8")
    for name in release.manifest()["public_tables"]:
        assert f"\n{name}  (deutsche Ansicht: " in text
        for column in docs()["tables"][name]["columns"]:
            assert f"    {column} (" in text, (name, column)
    for flag in FLAGS:
        assert f"  {flag}: " in text
    for reason in ("disclosure", "small_population"):
        assert f"  {reason}: " in text
    for sign in ("•", "/", "–", ".", "x"):
        assert f"\n  {sign}  " in text
    assert "Datenlizenz Deutschland – Namensnennung – Version 2.0" in text


def _csv_copy(parquet: Path, folder: Path) -> Path:
    """The Parquet table as CSV, to check its data against the package's schema with frictionless'
    own CSV reader (its Parquet reader turns a missing integer into NaN and reports it as a type error)."""
    out = folder / (parquet.stem + ".csv")
    con = duckdb.connect()
    con.execute(f"copy (select * from read_parquet('{parquet}')) to '{out}' (header, delimiter ',')")
    con.close()
    return out


def test_datapackage_is_a_valid_frictionless_package_and_its_schemas_fit_the_data(release, tmp_path):
    descriptor = json.loads((release.path / DATAPACKAGE).read_text(encoding="utf-8"))
    package = frictionless.Package(str(release.path / DATAPACKAGE))
    report = frictionless.Package.validate_descriptor(descriptor)
    assert report.valid, report.flatten(["type", "note"])
    assert package.licenses[0]["name"] == "dl-de-by-2-0"

    by_path = {r.path: r for r in package.resources}
    manifest = release.manifest()
    for name, table in manifest["public_tables"].items():
        resource = by_path[table["parquet"]]
        assert resource.schema.primary_key == docs()["tables"][name]["primary_key"]
        assert all(f.description and f.type != "any" for f in resource.schema.fields)
        csv = _csv_copy(release.path / table["parquet"], tmp_path)
        checked = frictionless.Resource(path=csv.name, basepath=str(tmp_path), schema=resource.schema)
        result = frictionless.validate(checked)
        assert result.valid, result.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
        assert result.tasks[0].stats["rows"] == table["rows"]
    for geo in manifest["geo"].values():
        assert by_path[geo["path"]].mediatype == "application/geo+json"

    # and a schema that does not fit the data fails (the check can fail)
    values = by_path[manifest["public_tables"]["indicator_values"]["parquet"]]
    wrong = frictionless.Schema.from_descriptor(values.schema.to_descriptor())
    wrong.set_field_type("area_name", "integer")
    csv = _csv_copy(release.path / manifest["public_tables"]["indicator_values"]["parquet"], tmp_path)
    assert not frictionless.validate(frictionless.Resource(path=csv.name, basepath=str(tmp_path), schema=wrong)).valid


def test_dcat_ap_de_description_of_the_release(release):
    manifest = release.manifest()
    dataset = json.loads((release.path / DCAT).read_text(encoding="utf-8"))
    assert dataset["@type"] == "dcat:Dataset"
    assert dataset["dct:issued"]["@value"] == manifest["stichtag"]  # the Stichtag, never the build time
    assert dataset["dct:license"] == {"@id": "http://dcat-ap.de/def/licenses/dl-by-de/2.0"}
    assert dataset["dct:title"]["@language"] == "de" and "31.12.2024" in dataset["dct:title"]["@value"]
    assert dataset["dct:temporal"]["dcat:endDate"]["@value"] == manifest["stichtag"]
    assert dataset["dct:temporal"]["dcat:startDate"]["@value"] == "2019-12-31"  # the first Stichtag of the series
    assert dataset["dct:spatial"]["dcat:bbox"]["@value"].startswith("POLYGON((")
    urls = {d["dcat:accessURL"]["@id"]: d for d in dataset["dcat:distribution"]}
    outputs = {o["path"]: o for o in manifest["outputs"]}
    for table in manifest["public_tables"].values():
        dist = urls[table["parquet"]]
        assert dist["dcat:mediaType"]["@id"].endswith("application/vnd.apache.parquet")
        assert dist["spdx:checksum"]["spdx:checksumValue"] == outputs[table["parquet"]]["sha256"]
    assert all(not url.startswith("/") and "://" not in url for url in urls)


def test_no_public_file_holds_a_folder_or_the_time_of_the_build(built_city, release):
    """No absolute path of the build machine and no build time in any public file (the DuckDB file
    aside: its format stores no such text we write, but its pages are not byte-stable)."""
    folders = {str(p) for p in (built_city.raw_dir.parent, built_city.project_dir, built_city.dbt_target_dir)}
    folders |= {str(Path(f).resolve()) for f in folders}
    today = date.today().isoformat()
    clock = re.compile(rf"{today}[T ]\d\d:\d\d")
    checked = 0
    for path in sorted(release.path.rglob("*")):
        if not path.is_file() or path.name == "sozialmonitor.duckdb":
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        for folder in folders:
            assert folder not in text, f"{path.name} holds the build folder {folder}"
        assert not clock.search(text), f"{path.name} holds a time of the build day: {clock.search(text)[0]}"
        checked += 1
    assert checked >= 10


def _docs_page(manifest: dict, catalog: dict) -> str:
    """A page as `dbt docs generate --static` writes it: its manifest and catalog embedded as JSON."""
    return f"<script>var x={{manifest:{json.dumps(manifest)},catalog:{json.dumps(catalog)}}};</script>"


def test_scrub_lineage_replaces_times_ids_and_paths():
    html = _docs_page(
        {
            "metadata": {"generated_at": "2026-11-30T14:56:33Z", "invocation_id": "f9", "user_id": "u1"},
            "nodes": {
                "m": {
                    "root_path": "/b/p/dbt_project",
                    "created_at": 1796050488.9,
                    "compiled_path": "/b/t/compiled/m.sql",
                }
            },
        },
        {"metadata": {"generated_at": "2026-11-30T14:56:37Z"}},
    )
    out = scrub_lineage(html, {Path("/b/p/dbt_project"): ".", Path("/b/t"): "target"}, date(2024, 12, 31))
    assert "/b/" not in out and "2026" not in out and '"f9"' not in out and '"u1"' not in out
    assert '"compiled_path": "target/compiled/m.sql"' in out and '"root_path": "."' in out
    assert '"generated_at": "2024-12-31T00:00:00Z"' in out and out.startswith("<script>var x={manifest:{")
    with pytest.raises(ValueError, match="no embedded"):
        scrub_lineage("<html></html>", {}, date(2024, 12, 31))
    # dbt parsed a copy of the project, not the folder the settings name: the folder dbt recorded
    # as the project's root is scrubbed all the same, wherever it appears; dbt's own macros keep
    # their folder (here inside the build's folder, so it reads relative to it)
    copied = _docs_page(
        {
            "metadata": {"project_name": "sm"},
            "nodes": {
                "m": {"package_name": "sm", "root_path": "/c/copy/dbt_project", "original_file_path": "models/m.sql"}
            },
            "macros": {"d": {"package_name": "dbt", "root_path": "/b/venv/dbt/global_project"}},
            "doc": "see /c/copy/dbt_project/x",
        },
        {"metadata": {}},
    )
    out = scrub_lineage(copied, {Path("/b/p/dbt_project"): ".", Path("/b"): ".."}, date(2024, 12, 31))
    assert "/c/copy" not in out and '"root_path": "."' in out and '"see ./x"' in out
    assert '"root_path": "../venv/dbt/global_project"' in out
