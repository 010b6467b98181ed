"""A release that describes itself, from one description of its tables (`columns.yml`):

- `describe_release`: German and English comments on every table, view and column of the release
  DuckDB, views with German names (`kennzahlen`, `gebiete`, `kennzahlen_<Ebene>`, ...), and the
  Parquet files rewritten with key-value metadata (table and column descriptions, Stichtag, licence);
- `readme_sections`: the part of LIESMICH.txt that explains every table, column, flag, reason and sign;
- `write_open_data`: `datapackage.json` (Frictionless Data Package) and `dcat.jsonld` (DCAT-AP.de).

Everything here is a function of the release's content, the Stichtag and the settings: no build
time, no path of the build machine, so that two builds of the same inputs give the same bytes.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from ..ingest.loader import sha256_file
from ..warehouse import connect, scratch, sql_string
from ..yaml_text import load_yaml

COLUMNS_FILE = Path(__file__).with_name("columns.yml")
DATAPACKAGE = "datapackage.json"
DCAT = "dcat.jsonld"
DEFAULT_LICENCE = {
    "id": "dl-de/by-2-0",
    "name": "Datenlizenz Deutschland – Namensnennung – Version 2.0",
    "uri": "http://dcat-ap.de/def/licenses/dl-by-de/2.0",
    "text": "https://www.govdata.de/dl-de/by-2-0",
}
MEDIA_TYPES = {  # suffix -> (IANA media type, format name)
    ".parquet": ("application/vnd.apache.parquet", "parquet"),
    ".geojson": ("application/geo+json", "geojson"),
    ".csv": ("text/csv", "csv"),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ".gpkg": ("application/geopackage+sqlite3", "gpkg"),
}
# DuckDB type (its first word) -> Frictionless field type
FIELD_TYPES = {
    "VARCHAR": "string",
    "DATE": "date",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "datetime",
    "TINYINT": "integer",
    "SMALLINT": "integer",
    "INTEGER": "integer",
    "BIGINT": "integer",
    "HUGEINT": "integer",
    "UTINYINT": "integer",
    "USMALLINT": "integer",
    "UINTEGER": "integer",
    "UBIGINT": "integer",
    "DOUBLE": "number",
    "FLOAT": "number",
    "DECIMAL": "number",
}


class UndocumentedColumn(Exception):
    pass


@cache
def docs() -> dict[str, Any]:
    with COLUMNS_FILE.open(encoding="utf-8") as fh:
        return load_yaml(fh)


def licence(dbt_vars: dict[str, Any]) -> dict[str, str]:
    return {**DEFAULT_LICENCE, **(dbt_vars.get("release_licence") or {})}


def bilingual(item: dict[str, Any]) -> str:
    return f"{item['de']} | English: {item['en']}"


def _columns(con, table: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select column_name from duckdb_columns() where database_name = current_database() "
            "and schema_name = 'main' and table_name = ? order by column_index",
            [table],
        ).fetchall()
    ]


def table_docs(con, table: str) -> dict[str, Any]:
    """The description of a public table; refuses a column that has none (a column nobody can read)."""
    doc = docs()["tables"].get(table)
    if doc is None:
        raise UndocumentedColumn(f"table {table} is not described in {COLUMNS_FILE.name}")
    missing = [c for c in _columns(con, table) if c not in doc["columns"]]
    if missing:
        raise UndocumentedColumn(f"{table}: columns {', '.join(missing)} are not described in {COLUMNS_FILE.name}")
    return doc


def _wide_column_docs(con) -> dict[str, dict[str, str]]:
    cols = dict(docs()["wide_view"]["columns"])
    for ident, name_de, name_en, unit in con.execute(
        "select indicator_id, name_de, name_en, unit from main.indicator_catalogue order by indicator_id"
    ).fetchall():
        cols[ident] = {"name_de": ident, "de": f"{name_de} ({unit})", "en": f"{name_en} ({unit})"}
    return cols


def describe_release(
    con, out_dir: Path, tables: dict[str, dict[str, Any]], stichtag: date, dbt_vars: dict[str, Any], levels: list[str]
) -> None:
    """Comments, German views and Parquet metadata for the public tables in `tables` (built by
    `_public_tables` into `con`'s schema main) and the wide views indicators_<level>. Rewrites the
    Parquet files and their checksums in `tables`."""
    lic = licence(dbt_vars)
    for name in sorted(tables):
        doc = table_docs(con, name)
        columns = _columns(con, name)
        con.execute(f"comment on table main.{name} is {sql_string(bilingual(doc))}")
        for col in columns:
            con.execute(f"comment on column main.{name}.{col} is {sql_string(bilingual(doc['columns'][col]))}")
        _german_view(con, doc["view_de"], name, doc, doc["columns"], columns)
        _write_parquet(con, out_dir / tables[name]["parquet"], name, doc, columns, stichtag, lic)
        tables[name]["sha256"] = sha256_file(out_dir / tables[name]["parquet"])
    wide = docs()["wide_view"]
    wide_cols = _wide_column_docs(con)
    for level in levels:
        view = f"indicators_{level}"
        doc = {"de": wide["de"].format(level=level), "en": wide["en"].format(level=level)}
        con.execute(f"comment on view main.{view} is {sql_string(bilingual(doc))}")
        columns = _columns_of_view(con, view)
        for col in columns:
            con.execute(f"comment on column main.{view}.{col} is {sql_string(bilingual(wide_cols[col]))}")
        _german_view(con, wide["view_de"].format(level=level), view, doc, wide_cols, columns)


def _columns_of_view(con, view: str) -> list[str]:
    return [r[0] for r in con.execute(f"describe main.{view}").fetchall()]


def _german_view(con, view_de: str, source: str, doc: dict[str, Any], col_docs: dict[str, Any], columns: list[str]):
    select = ", ".join(f"{c} as {col_docs[c]['name_de']}" for c in columns)
    con.execute(f"create view main.{view_de} as select {select} from main.{source}")
    con.execute(f"comment on view main.{view_de} is {sql_string(bilingual(doc) + f' (view on {source})')}")
    for c in columns:
        con.execute(
            f"comment on column main.{view_de}.{col_docs[c]['name_de']} is {sql_string(bilingual(col_docs[c]))}"
        )


def _write_parquet(con, path: Path, name: str, doc: dict[str, Any], columns: list[str], stichtag: date, lic) -> None:
    kv = {
        "sozialmonitor.table": name,
        "sozialmonitor.description_de": doc["de"],
        "sozialmonitor.description_en": doc["en"],
        "sozialmonitor.stichtag": stichtag.isoformat(),
        "sozialmonitor.licence": f"{lic['name']} ({lic['id']}), {lic['uri']}",
        "sozialmonitor.primary_key": json.dumps(doc.get("primary_key", [])),
        "sozialmonitor.columns": json.dumps(
            {c: {"de": doc["columns"][c]["de"], "en": doc["columns"][c]["en"]} for c in columns}, ensure_ascii=False
        ),
    }
    struct = ", ".join(f'"{k}": {sql_string(v)}' for k, v in kv.items())
    con.execute(
        f"copy (select * from main.{name} order by all) to {sql_string(path)} "
        f"(format parquet, compression zstd, kv_metadata {{{struct}}})"
    )


def readme_sections(table_names: list[str], dbt_vars: dict[str, Any]) -> list[str]:
    """LIESMICH.txt: the licence, every table (and its German view) with every column, the wide views,
    every flag, every reason of suppression and the signs of official statistics."""
    d = docs()
    lic = licence(dbt_vars)
    levels = list(dbt_vars.get("public_levels", []))
    publisher = dbt_vars.get("release_publisher") or "der Herausgeber"
    lines = [
        f"Lizenz: {lic['name']} ({lic['id']}), {lic['text']}",
        f"Namensnennung: {publisher}, Sozialmonitoring.",
        "",
        "TABELLEN (in sozialmonitor.duckdb und als data/<Tabelle>.parquet)",
        "",
    ]
    for name in [t for t in d["tables"] if t in table_names]:
        doc = d["tables"][name]
        lines += [f"{name}  (deutsche Ansicht: {doc['view_de']})", *_wrap(doc["de"], "  ")]
        if doc.get("primary_key"):
            lines.append(f"  Schlüssel: {', '.join(doc['primary_key'])}")
        for col, cdoc in doc["columns"].items():
            lines += _wrap(cdoc["de"], f"    {col} ({cdoc['name_de']}): ")
        lines.append("")
    wide = d["wide_view"]
    lines += [
        "indicators_<Ebene>  (deutsche Ansicht: " + wide["view_de"].format(level="<Ebene>") + ")",
        *_wrap(wide["de"].format(level="<Ebene>"), "  "),
        "  Ebenen: " + ", ".join(levels),
        *[line for col, cdoc in wide["columns"].items() for line in _wrap(cdoc["de"], f"    {col}: ")],
        "    <Kennung>: eine Spalte je Kennzahl (Name und Einheit im Kennzahlenkatalog und im Spaltenkommentar)",
        "",
        "HINWEISE (Spalte flags, durch Komma getrennt)",
        *[line for flag, f in d["flags"].items() for line in _wrap(f["de"], f"  {flag}: ")],
        "",
        "GRÜNDE DER GEHEIMHALTUNG (Spalte suppression_reason)",
        *[
            line
            for reason, r in d["suppression_reasons"].items()
            for line in _wrap(f"{r['de']} Zeichen in Tabellen: {r['sign']}", f"  {reason}: ")
        ],
        "",
        "ZEICHENERKLÄRUNG (in den deutschen Tabellen, XLSX und CSV; in Parquet und DuckDB sind diese Felder",
        "leer und durch is_suppressed, suppression_reason und flags erklärt)",
        *[f"  {sign}  {text}" for sign, text in d["signs"].items()],
        "",
    ]
    return lines


def _wrap(text: str, first: str, width: int = 100) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=" " * min(len(first), 8)) or [first]


# --- open-data metadata -------------------------------------------------------------------------


def _field_type(duckdb_type: str) -> str:
    return FIELD_TYPES.get(duckdb_type.split("(")[0].split(" ")[0].upper(), "any")


def _parquet_schema(path: Path) -> list[tuple[str, str]]:
    con = scratch()
    try:
        return [
            (r[0], r[1]) for r in con.execute(f"describe select * from read_parquet({sql_string(path)})").fetchall()
        ]
    finally:
        con.close()


def _resource_name(rel: str) -> str:
    """The resource's name: its path with the format (tabellen/stadtteil.csv and .xlsx are two
    resources, and Frictionless wants unique names)."""
    return rel.replace("/", "-").lower()


def data_resources(out_dir: Path) -> list[dict[str, Any]]:
    """Every data file of the release as a Frictionless resource: the Parquet tables with their schema,
    the GeoJSON, and the files of other formats (CSV, XLSX, GeoPackage) where the release has them."""
    d = docs()["tables"]
    resources = []
    files = sorted(p for p in out_dir.rglob("*") if p.is_file() and p.suffix in MEDIA_TYPES)
    for path in files:
        rel = path.relative_to(out_dir).as_posix()
        mediatype, fmt = MEDIA_TYPES[path.suffix]
        res: dict[str, Any] = {
            "name": _resource_name(rel),
            "path": rel,
            "format": fmt,
            "mediatype": mediatype,
            "bytes": path.stat().st_size,
            "hash": f"sha256:{sha256_file(path)}",
        }
        table = path.stem if rel.startswith("data/") and path.suffix == ".parquet" else None
        if table in d:
            doc = d[table]
            res["title"] = doc["view_de"]
            res["description"] = bilingual(doc)
            res["schema"] = {
                "fields": [
                    {
                        "name": col,
                        "title": doc["columns"][col]["name_de"],
                        "type": _field_type(typ),
                        "description": bilingual(doc["columns"][col]),
                    }
                    for col, typ in _parquet_schema(path)
                ],
                "primaryKey": list(doc["primary_key"]),
            }
        resources.append(res)
    return resources


def _gemeinde_bbox(out_dir: Path) -> list[float] | None:
    path = out_dir / "geo" / "gemeinde.geojson"
    if not path.is_file():
        return None
    con = connect(":memory:", extensions=("spatial",))
    try:
        row = con.execute(
            "select min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)), max(ST_YMax(geom)) "
            f"from ST_Read({sql_string(path)})"
        ).fetchone()
    finally:
        con.close()
    return [round(v, 6) for v in row] if row and row[0] is not None else None


def write_open_data(
    out_dir: Path, release_id: str, stichtag: date, dbt_vars: dict[str, Any], first_stichtag: date | None = None
) -> list[Path]:
    """datapackage.json and dcat.jsonld for the files already in `out_dir`."""
    lic = licence(dbt_vars)
    publisher = str(dbt_vars.get("release_publisher") or "Sozialmonitoring")
    resources = data_resources(out_dir)
    values = out_dir / "data" / "indicator_values.parquet"
    if first_stichtag is None and values.is_file():
        con = scratch()
        try:
            first_stichtag = con.execute(f"select min(stichtag) from read_parquet({sql_string(values)})").fetchone()[0]
        finally:
            con.close()
    title = f"Sozialmonitoring {publisher}: Kennzahlen zum Stichtag {stichtag:%d.%m.%Y}"
    description = (
        "Kleinräumige Sozialkennzahlen (Demografie, Haushalte, Arbeit und Transferleistungen, Wohnen, "
        "Kinder und Bildung) je Gebiet der Ebenen "
        + ", ".join(dbt_vars.get("public_levels", []))
        + f", geheimgehalten und geprüft. Veröffentlichung {release_id}; Erläuterungen in LIESMICH.txt."
    )
    package = {
        "name": f"sozialmonitor-{stichtag.isoformat()}",
        "id": release_id,
        "title": title,
        "description": description,
        "version": release_id.rsplit("/v", 1)[-1] + ".0.0",
        "licenses": [{"name": lic["id"].replace("/", "-"), "path": lic["text"], "title": lic["name"]}],
        "contributors": [{"title": publisher, "role": "publisher"}],
        "keywords": ["Sozialmonitoring", "Sozialraum", "Kennzahlen", "kleinräumig"],
        # Parquet resources without bytes and hash: frictionless reads Parquet through pyarrow, not as
        # a byte stream, and would report every such file as a mismatch (manifest.json has the checksums)
        "resources": [
            {k: v for k, v in r.items() if r["format"] != "parquet" or k not in ("bytes", "hash")} for r in resources
        ],
    }
    dp_path = out_dir / DATAPACKAGE
    dp_path.write_text(json.dumps(package, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    lic_ref = {"@id": lic["uri"]}
    distributions = [
        {
            "@type": "dcat:Distribution",
            "dct:title": {"@value": r.get("title", r["path"]), "@language": "de"},
            **({"dct:description": {"@value": r["description"], "@language": "de"}} if "description" in r else {}),
            "dcat:accessURL": {"@id": r["path"]},
            "dcat:downloadURL": {"@id": r["path"]},
            "dcat:mediaType": {"@id": f"https://www.iana.org/assignments/media-types/{r['mediatype']}"},
            "dct:format": r["format"].upper(),
            "dcat:byteSize": {"@value": str(r["bytes"]), "@type": "xsd:nonNegativeInteger"},
            "dct:license": lic_ref,
            "spdx:checksum": {
                "@type": "spdx:Checksum",
                "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
                "spdx:checksumValue": r["hash"].split(":", 1)[1],
            },
        }
        for r in resources
    ]
    agent: dict[str, Any] = {"@type": "foaf:Agent", "foaf:name": publisher}
    if dbt_vars.get("release_publisher_uri"):
        agent["@id"] = dbt_vars["release_publisher_uri"]
    temporal = {"@type": "dct:PeriodOfTime", "dcat:endDate": {"@value": stichtag.isoformat(), "@type": "xsd:date"}}
    if first_stichtag:
        temporal["dcat:startDate"] = {"@value": first_stichtag.isoformat(), "@type": "xsd:date"}
    spatial: dict[str, Any] = {"@type": "dct:Location", "skos:prefLabel": publisher}
    bbox = _gemeinde_bbox(out_dir)
    if bbox:
        x0, y0, x1, y1 = bbox
        spatial["dcat:bbox"] = {
            "@value": f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))",
            "@type": "gsp:wktLiteral",
        }
    dataset = {
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "dcatde": "http://dcat-ap.de/def/dcatde/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "skos": "http://www.w3.org/2004/02/skos/core#",
            "spdx": "http://spdx.org/rdf/terms#",
            "gsp": "http://www.opengis.net/ont/geosparql#",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@id": "#dataset",
        "@type": "dcat:Dataset",
        "dct:identifier": f"sozialmonitor/{release_id}",
        "dct:title": {"@value": title, "@language": "de"},
        "dct:description": {"@value": description, "@language": "de"},
        "dct:issued": {"@value": stichtag.isoformat(), "@type": "xsd:date"},
        "dct:language": {"@id": "http://publications.europa.eu/resource/authority/language/DEU"},
        "dct:license": lic_ref,
        "dct:publisher": agent,
        "dct:spatial": spatial,
        "dct:temporal": temporal,
        "dcat:theme": {"@id": "http://publications.europa.eu/resource/authority/data-theme/SOCI"},
        "dcat:keyword": package["keywords"],
        "dcatde:licenseAttributionByText": f"{publisher}, Sozialmonitoring {stichtag:%d.%m.%Y}",
        "dcat:distribution": distributions,
    }
    if dbt_vars.get("release_contributor_id"):
        dataset["dcatde:contributorID"] = {"@id": dbt_vars["release_contributor_id"]}
    dcat_path = out_dir / DCAT
    dcat_path.write_text(json.dumps(dataset, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [dp_path, dcat_path]
