"""Making a release: the published state for one Stichtag, immutable once made.

1. The quality gates' report is handed in (orchestration.pipeline runs the gates); a blocking
   failure publishes nothing.
2. Everything is built in `releases/.tmp-<id>/`: the dbt lineage docs, the public tables (the
   warehouse's schema `public`, the values up to the Stichtag) as Parquet and in one DuckDB file,
   GeoJSON per level, the atlas's data (`atlas/data.js`), the printed report's content
   (`bericht/daten.json`), the gate report, and `manifest.json` with
   the checksum of every input and output file.
3. If the newest release of that Stichtag already publishes the same content from the same
   inputs, nothing new is made (and nothing audited again). Otherwise the disclosure audit checks
   the public files against every earlier release; then, if the Stichtag is already released, a new
   version is made only when forced (a correction); otherwise the run is refused.
   The atlas page (`atlas/index.html`, read from file:// or any web server) is written with the
   German tables, once the release id it names is known; so are the report's PDFs (`bericht/`),
   whose text is then checked against `bericht/daten.json` before the release is renamed into place.
   dbt's lineage docs are made beside those, once nothing refuses the release any more (or read
   from `releases/.memo/`, where a published release keeps them and its unit polygons for the next
   release with the same inputs). With the kept page, and while the gates' process still runs, the
   tables and PDFs are made before the gates' report is in: the release would only wait for it,
   and a refusal discards them.
4. The folder is renamed into `releases/<Stichtag>/v<N>/` in one step, then `latest` is switched.
A process killed at any point leaves either no release or a complete one; leftovers of a killed
build (`.tmp-*`) are removed by the next one.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

from data_quality import GateFailed, GateReport

from ..errors import SozialmonitorError
from ..faults import checkpoint
from ..ingest.loader import LOG_TABLE, latest_load_order, sha256_file
from ..provenance import git, git_commit
from ..settings import Settings
from ..timing import release_unused_memory, timed
from ..warehouse import connect, sql_string
from .atlas import ATLAS_DIR, release_model, write_data, write_page
from .disclosure_audit import AuditProofs, DisclosureAuditFailed, audit_release, proofs_path
from .gis import GeometryMemo, write_gis
from .lineage import LINEAGE_TARGET, LineageBeside, LineageMemo
from .metadata import describe_release, licence, readme_sections, write_open_data
from .public_models import (
    PUBLIC_SCHEMA,
    PublicModel,
    PublicModelsError,
    allowed_columns,
    check_tables,
    public_models,
)
from .public_text import check_public_text
from .report import REPORT_DIR, build_document, check_pdfs, load_templates, meta_for, write_report
from .report import write_data as write_report_data
from .reproducible import relative_config, scrub_lineage
from .signing import SigningError, load_signing_key, sign_manifest, write_public_key
from .store import MANIFEST, MEMO_DIR, TMP_PREFIX, Release, content_digest, list_releases, update_latest
from .tables import write_tables

# The tables a release may contain (and their columns) are the dbt models of the schema `public`
# with an enforced contract and a disclosure-review mark, read from the dbt manifest
# (public_models.py); anything else in the schema refuses the release.
# The SQL of the release's wide views, rendered by dbt (macro wide_indicator_view).
WIDE_VIEWS = "wh.marts.release_indicator_views"
TOOLS = (
    "sozialmonitor",
    "duckdb",
    "dbt-core",
    "dbt-duckdb",
    "dagster",
    "dagster-dbt",
    "great-expectations",
    "pandas",
    "numpy",
    "duckdb-extension-spatial",
)


class ReleaseRefused(SozialmonitorError):
    exit_code = 6
    headline = "No release made:"


@dataclass
class PublishResult:
    release: Release
    created: bool  # False: the newest release of the Stichtag already publishes exactly this
    gates_outcome: str
    seconds: dict[str, float]
    gates_report: GateReport | None = None  # the gates' full report, internal (the release holds the redacted one)


# and on the Spark engine (docs/deployment.md)
SPARK_TOOLS = ("dbt-spark", "pyspark")


def _tool_versions(engine: str = "duckdb", dbt_target: str | None = None) -> dict[str, str]:
    """The versions of the tools that made the release, the engine dbt built on and its target
    in profiles.yml (local: DuckDB; spark: Spark in local mode; spark_connect: a Spark Connect
    server, whose address is not recorded: it may hold a token), several joined by '+' where a
    build of a selection on another target followed the last full one (build_plan.built_on)."""
    versions = {"python": platform.python_version(), "engine": engine}
    if dbt_target is not None:
        versions["dbt_target"] = dbt_target
    for name in TOOLS + (SPARK_TOOLS if "spark" in engine.split("+") else ()):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def clean_stale_builds(releases_dir: Path) -> list[Path]:
    """Remove what a killed release build left behind. Only call this holding the run lock."""
    removed = []
    if releases_dir.is_dir():
        for path in releases_dir.iterdir():
            if path.name.startswith(TMP_PREFIX):
                if path.is_symlink() or path.is_file():
                    path.unlink()
                else:
                    make_writable(path)
                    shutil.rmtree(path)
                removed.append(path)
    return removed


def make_writable(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        if not p.is_symlink():
            p.chmod(p.stat().st_mode | stat.S_IWUSR)


def _freeze(path: Path) -> None:
    for p in sorted(path.rglob("*"), reverse=True):
        if p.is_file():
            p.chmod(0o444)
        elif p.is_dir():
            p.chmod(0o555)
    path.chmod(0o555)


def stichtag_to_publish(settings: Settings, stichtag: date | None) -> date:
    """`stichtag` when the warehouse's public indicator values have it (a release holds every
    Stichtag up to its own, so one without values of its own would show an earlier one under its
    date), else refused; None: the newest."""
    con = connect(settings.warehouse_path, read_only=True, extensions=())
    try:
        query = f"select distinct stichtag from {PUBLIC_SCHEMA}.indicator_values order by 1"
        days = [r[0] for r in con.execute(query).fetchall()]
    finally:
        con.close()
    if not days:
        raise ReleaseRefused("the warehouse has no public indicator values yet: run the pipeline first")
    if stichtag is None:
        return days[-1]
    if stichtag not in days:
        listed = ", ".join(f"{d:%d.%m.%Y}" for d in days)
        raise ReleaseRefused(f"the warehouse has no values for the Stichtag {stichtag:%d.%m.%Y}; it has {listed}")
    return stichtag


def _inputs(con, stichtag: date) -> list[dict[str, Any]]:
    latest = latest_load_order(con, f"wh.{LOG_TABLE}")  # the warehouse is attached read-only
    rows = con.execute(
        f"""select source, stichtag, file, sha256, rows, loaded_at, gemeinde from (
                select *, row_number() over (partition by source, stichtag, gemeinde order by {latest}) as n
                from wh.{LOG_TABLE}
            ) where n = 1 and (stichtag is null or stichtag <= ?)
            order by source, stichtag nulls first, gemeinde nulls first""",
        [stichtag],
    ).fetchall()
    return [
        {
            "source": r[0],
            "stichtag": r[1].isoformat() if r[1] else None,
            # one Gemeinde's part of a source delivered per Gemeinde (a Kreis's register)
            **({"gemeinde": r[6]} if r[6] else {}),
            "file": r[2],
            "sha256": r[3],
            "rows": r[4],
        }
        for r in rows
    ]


def published_gebietsstand(con, stichtag: date, tables: list[str]) -> date | None:
    """The latest Gebietsstand that the rows of `tables` (public tables with the columns stichtag
    and gebietsstand) up to `stichtag` are on; None without such rows."""
    latest = None
    for name in tables:
        found = con.execute(
            f"select max(gebietsstand)::date from wh.{PUBLIC_SCHEMA}.{name} where stichtag <= $day", {"day": stichtag}
        ).fetchone()[0]
        if found is not None and (latest is None or found > latest):
            latest = found
    return latest


def _public_tables(con, stichtag: date, out_dir: Path, models: dict[str, PublicModel]) -> dict[str, dict[str, Any]]:
    names = [
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where database_name = 'wh' and schema_name = ? order by 1",
            [PUBLIC_SCHEMA],
        ).fetchall()
    ]
    views = [
        r[0]
        for r in con.execute(
            "select view_name from duckdb_views() where database_name = 'wh' and schema_name = ? and not internal "
            "order by 1",
            [PUBLIC_SCHEMA],
        ).fetchall()
    ]
    if views:
        # refused, not skipped: a view in `public` was meant to be published by someone
        raise ReleaseRefused(
            f"{', '.join(f'public.{v}' for v in views)}: a view in the schema public. A release publishes only "
            "tables, those of reviewed dbt models with enforced contracts: make the model a table (materialized: "
            "table) after a disclosure review, or move the view out of the schema public."
        )
    if "indicator_values" not in names:
        raise ReleaseRefused("the warehouse has no public.indicator_values: run the pipeline (dbt build) first")
    try:
        check_tables(con, "wh", names, models)  # reviewed dbt models, exactly their contracts' columns
    except PublicModelsError as exc:
        raise ReleaseRefused(str(exc)) from None
    data_dir = out_dir / "data"
    data_dir.mkdir()
    tables = {}
    columns_of = {name: {column for column, _ in models[name].columns} for name in names}
    gebietsstand = published_gebietsstand(
        con, stichtag, [n for n in names if {"stichtag", "gebietsstand"} <= columns_of[n]]
    )
    for name in names:
        columns = columns_of[name]
        where, day = "", stichtag
        if "stichtag" in columns:
            where = "where stichtag <= $day"
        elif "valid_from" in columns:
            # the units of every Gebietsstand the published rows are on: the harmonised series of an
            # earlier Stichtag are on today's, which may be later than the Stichtag
            where, day = "where valid_from <= $day", max(stichtag, gebietsstand or stichtag)
        con.execute(
            f"create table main.{name} as select * from wh.{PUBLIC_SCHEMA}.{name} {where} order by all",
            {"day": day} if where else {},
        )
        parquet = data_dir / f"{name}.parquet"
        con.execute(
            f"copy (select * from main.{name} order by all) to {sql_string(parquet)} (format parquet, compression zstd)"
        )
        tables[name] = {
            "rows": con.execute(f"select count(*) from main.{name}").fetchone()[0],
            "parquet": parquet.relative_to(out_dir).as_posix(),
            "sha256": sha256_file(parquet),
        }
    return tables


def _unsafe_text_message(problems: list[str], shown: int = 20) -> str:
    more = f"\n  … and {len(problems) - shown} more" if len(problems) > shown else ""
    return (
        f"{len(problems)} text value(s) of the public tables cannot be published (control or invisible "
        "characters, or absurd length; orchestration/release/public_text.py):\n  "
        + "\n  ".join(problems[:shown])
        + more
        + "\nArea names come from raw/gebiete/gebietsgliederung.csv: correct the file (or ask the "
        "Statistikstelle for a corrected one) and run again. Names and definitions of indicators and "
        "indices come from the Kennzahlenkatalog and the dbt vars: correct them there."
    )


def _wide_views(con, levels: list[str]) -> None:
    """The views indicators_<level> over the release's indicator_values, as dbt renders them (model
    release_indicator_views, macro wide_indicator_view: the marts' wide views have the same SQL)."""
    views = dict(con.execute(f"select level, view_sql from {WIDE_VIEWS}").fetchall())
    missing = [level for level in levels if level not in views]
    if missing:
        raise ReleaseRefused(
            f"{WIDE_VIEWS} has no wide view for {', '.join(missing)}: the warehouse was built with other "
            "public levels; run the pipeline again"
        )
    for level in levels:
        con.execute(f"create view main.indicators_{level} as {views[level]}")


def _secondary_applied(warehouse: Path) -> bool:
    con = connect(warehouse, read_only=True)
    try:
        row = con.execute("select bool_and(secondary_suppression) from disclosure.disclosure_pattern").fetchone()
    finally:
        con.close()
    return bool(row[0]) if row and row[0] is not None else True


def _disclosure_rules(
    dbt_vars: dict[str, Any], public_levels: list[str], method: str, settings_warehouse: Path,
    allow_list: dict[str, list[str]],
) -> dict[str, Any]:  # fmt: skip
    common = {
        "published_levels": public_levels,
        "allow_list": allow_list,
        "rounding_decimals": dbt_vars.get("public_decimals"),
        "pseudonymisation": (
            "person, household and case keys: HMAC-SHA256 with a key kept outside warehouse and release"
        ),
    }
    if method == "cell_key":
        return {
            "method": "cell_key",
            **common,
            "cell_key_method": (
                "record keys uniform in [0,1) per pseudonymised record, stable across years; cell key = sum of "
                "record keys mod 1; noise from a perturbation table (maximum deviation D, variance V: not "
                "published); zeros stay zero; the same cell gets the same noise in every table"
            ),
            "tables_add_up": False,
            "note": "totals are perturbed on their own: published tables do not add up (areas, levels, indicators)",
        }
    secondary = _secondary_applied(settings_warehouse)
    return {
        "method": "suppression",
        "primary": {
            "count_below": "catalogue disclosure_min_count, default "
            f"{dbt_vars.get('disclosure_min_count')} (counts from 1 to the minimum - 1 are withheld)",
            "rate_population_below": "catalogue disclosure_min_population, default "
            f"{dbt_vars.get('disclosure_min_population')}",
        },
        "secondary": (
            (
                "least cost (persons hidden), mixed-integer programme (HiGHS)"
                if dbt_vars.get("disclosure_secondary_method") == "milp"
                else "incremental: per withheld cell the cheapest witness table (linear programme, HiGHS)"
            )
            + " over all public levels, Sozialräume, relations between measures and earlier releases, "
            "verified with exact integer bounds"
            if secondary
            else "SWITCHED OFF"
        ),
        "zeros": "always published: a withheld count is at least 1",
        "attacker": (
            "knows every published count of this and earlier releases, the areas and their geometry, the "
            "relations between counts, that a withheld count is at least 1 and that counts are whole numbers"
        ),
        "protection_width": dbt_vars.get("disclosure_protection_width"),
        "protection": (
            "every withheld count: interval at least the protection width; every count below the minimum: "
            "an attacker's upper bound at least the protection width above the true count"
        ),
        "series": (
            "indicator_series shows every Stichtag on today's Gebietsstand; a unit a recut changed is a cell of its "
            "own in the same linked tables, an unchanged unit is the Stichtag's cell (both tables agree)"
        ),
        "indices": (
            "computed from the published series only (withheld or unpublished inputs estimated from the enclosing "
            "published unit, named in estimated_inputs); the audit recomputes them from the release's files"
        ),
        "reason_codes": {
            "disclosure": "withheld by primary or secondary suppression (deliberately one code)",
            "small_population": "a rate on fewer persons than the minimum population",
        },
        **common,
    }


def _licence_text(dbt_vars: dict[str, Any]) -> str:
    """The licence as the German tables name it: "<name> (<id>)", from the var release_licence."""
    chosen = licence(dbt_vars)
    return f"{chosen['name']} ({chosen['id']})"


def _readme(
    stichtag: date, release_id: str, tables: dict[str, Any], geo: dict[str, Any], method: str,
    dbt_vars: dict[str, Any], german: dict[str, Any] | None = None, signing: dict[str, Any] | None = None,
) -> str:  # fmt: skip
    if method == "cell_key":
        secrecy = [
            "Geheimhaltung: alle Fallzahlen sind mit der Cell-Key-Methode geringfügig verändert (wie im",
            "Zensus 2022); keine Zahl ist unterdrückt, Nullen bleiben Null. Summen über Gebiete, Ebenen",
            "oder Merkmale stimmen deshalb nicht genau mit den veröffentlichten Gesamtzahlen überein.",
        ]
    else:
        secrecy = [
            "Geheimhaltung: Fallzahlen unter der Mindestfallzahl und alle Zahlen, aus denen sie sich",
            "errechnen ließen, sind unterdrückt (is_suppressed, Grund in suppression_reason:",
            "'disclosure' = geheim zu halten, 'small_population' = zu wenige Einwohner für einen Anteil).",
            "Unterdrückte Werte sind leer, nie 0. Nullen werden immer veröffentlicht: eine unterdrückte",
            "Fallzahl ist also mindestens 1. Die Geheimhaltung rechnet mit einem Angreifer, der das weiß,",
            "alle veröffentlichten Zahlen aller Ebenen, Sozialräume und früheren Veröffentlichungen",
            "kennt und ganzzahlig rechnet. Die Prüfung (manifest.json, disclosure_audit) zeigt, dass er",
            "keine unterdrückte Fallzahl auf weniger als die Schutzbreite eingrenzen und bei keiner",
            "Fallzahl unter der Mindestfallzahl beweisen kann, dass sie unter der Mindestfallzahl liegt.",
        ]
    lines = [
        f"Sozialmonitoring – Veröffentlichung zum Stichtag {stichtag:%d.%m.%Y} ({release_id})",
        "",
        "Diese Veröffentlichung ist unveränderlich. Inhalt:",
        "  sozialmonitor.duckdb   alle Tabellen in einer DuckDB-Datei, mit Kommentaren (deutsch | englisch) zu",
        "                         jeder Tabelle und Spalte; Ansichten indicators_<Ebene> und deutsche Ansichten",
        "                         (kennzahlen, gebiete, kennzahlen_<Ebene>, ...)",
        *[f"  {t['parquet']:<40} {name} ({t['rows']} Zeilen)" for name, t in sorted(tables.items())],
        *[f"  {g['path']:<40} Gebiete der Ebene {level} ({g['features']}), WGS84" for level, g in sorted(geo.items())],
        "  geo/sozialmonitor.gpkg                  alle Ebenen als Layer (GeoPackage), im Koordinatensystem der",
        "                                          Quelle (manifest.json, geopackage.crs)",
        *[
            f"  {x['path']:<40} Tabellen der Ebene {level} für Excel, ein Blatt je Thema"
            for level, x in sorted((german or {}).get("xlsx", {}).items())
        ],
        *[
            f"  {x['path']:<40} dieselben Werte als CSV (lange Form, ';', Dezimalkomma, UTF-8)"
            for level, x in sorted((german or {}).get("csv", {}).items())
        ],
        *(
            ["  kennzahlenkatalog.html  Kennzahlenkatalog: Definition, Zähler, Nenner, Quelle jeder Kennzahl"]
            if german
            else []
        ),
        "  atlas/index.html        Sozialatlas: Karten, Tabellen, Diagramme und Gebietsprofile im Browser",
        "                          (ohne Internet, auch direkt als Datei zu öffnen); Daten in atlas/data.js",
        "  bericht/datenreport.pdf Datenreport zum Drucken (Karten, Tabellen, Zeitreihen je Thema, Indizes,",
        "                          Kennzahlenkatalog); bericht/gebietsprofile/*.pdf: ein Gebietsprofil je",
        "                          Sozialraum und Stadtteil; bericht/daten.json: alle gedruckten Zahlen",
        "  lineage.html            Herkunft jeder Zahl (dbt-Dokumentation, offline lesbar)",
        "  quality/gates.html      Ergebnisse der Qualitätsprüfungen",
        "  manifest.json           Prüfsummen aller Eingangs- und Ausgabedateien, Versionen, Regeln",
        *(
            [
                "  manifest.sig            elektronische Signatur (Ed25519) von manifest.json",
                "  signing_key.pub         öffentlicher Schlüssel, mit dem die Signatur geprüft wird",
            ]
            if signing
            else []
        ),
        "  datapackage.json        Beschreibung der Dateien als Frictionless Data Package",
        "  dcat.jsonld             Beschreibung der Veröffentlichung nach DCAT-AP.de (JSON-LD)",
        "",
        *secrecy,
        "Geodaten (GeoJSON und GeoPackage): je Gebiet die Werte des Stichtags, eine Spalte je Kennzahl",
        "(Zahl; leer, wenn kein Wert veröffentlicht wird, nie 0) und daneben <Kennzahl>_zeichen mit dem",
        "Grund: • = geheim zu halten, / = nicht sicher genug (zu wenige Einwohner), x = Aussage nicht",
        "sinnvoll (Nenner 0), . = Zahlenwert unbekannt. Wo ein Sozialindex berechnet wird, auch",
        "status_class, dynamics_class, index_group bzw. gesamt_value und gesamt_rank.",
        "",
        *(_signs_readme() if german else []),
        f"Prüfen: sozialmonitor release verify {release_id}",
        *(_signature_readme(signing) if signing else []),
        "",
        *readme_sections(sorted(tables), dbt_vars),
    ]
    return "\n".join(lines)


def _signature_readme(signing: dict[str, Any]) -> list[str]:
    if signing.get("demo_key"):
        return [
            "Signiert mit dem veröffentlichten DEMO-Schlüssel der Beispielstadt: Die Signatur zeigt nur, dass",
            "die Dateien zueinander passen, nicht, wer sie erstellt hat.",
        ]
    fp = signing["fingerprint"]
    return [
        "Die Signatur in manifest.sig beweist, dass manifest.json (und damit über die Prüfsummen jede Datei)",
        "von der veröffentlichenden Stelle stammt und nicht verändert wurde. Fingerabdruck des Schlüssels:",
        f"  {fp[:32]}",
        f"  {fp[32:]}",
        "Vergleichen Sie ihn mit dem Fingerabdruck, den die Stelle getrennt veröffentlicht hat, und prüfen Sie:",
        "  sozialmonitor release verify <Veröffentlichung> --fingerprint <veröffentlichter Fingerabdruck>",
    ]


def _signs_readme() -> list[str]:
    from .tables import SIGNS

    return [
        "Zeichenerklärung der Tabellen (tabellen/*.xlsx, tabellen/*.csv): eine Zelle ohne Zahl trägt ein",
        "Zeichen der amtlichen Statistik, nie 0 und nie ein leeres Feld:",
        *[f"  {sign:<4} {text}" for sign, text in SIGNS],
        "",
    ]


def report_templates_dir(settings: Settings) -> Path:
    """Where a city keeps its own report templates (docs/report.md): $SOZIALMONITOR_REPORT_TEMPLATES,
    else `report/` in the project. Files there replace the package's templates of the same name."""
    env = os.environ.get("SOZIALMONITOR_REPORT_TEMPLATES")
    return Path(env) if env else settings.project_dir / "report"


def release_models(settings: Settings) -> dict[str, PublicModel]:
    """The models of the schema `public` per the dbt manifest of the run that built the warehouse;
    a missing or stale manifest is refused (ReleaseRefused)."""
    try:
        return public_models(settings.dbt_project_dir, settings.dbt_target_dir)
    except PublicModelsError as exc:
        raise ReleaseRefused(str(exc)) from None


def release_signing_key(settings: Settings):
    """The key that signs the release; a release that cannot be signed is refused (ReleaseRefused)."""
    try:
        return load_signing_key(settings.raw_dir)
    except SigningError as exc:
        raise ReleaseRefused(str(exc)) from exc


@dataclass
class _Build:
    """A release being built in its temporary folder: what each step of publish() adds."""

    settings: Settings
    stichtag: date
    tmp: Path
    dbt_vars: dict[str, Any]
    say: Callable[[str], None]
    seconds: dict[str, float] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    models: dict[str, PublicModel] = field(default_factory=dict)  # the schema `public` per the dbt manifest
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    geo: dict[str, Any] = field(default_factory=dict)
    geopackage: Any = None
    geometry_memo: GeometryMemo | None = None
    lineage_memo: LineageMemo | None = None
    audit_proofs: AuditProofs | None = None
    atlas: dict[str, Any] = field(default_factory=dict)
    atlas_model: Any = None
    templates: Any = None
    report_doc: Any = None
    report: dict[str, Any] = field(default_factory=dict)
    content: str = ""
    audit: Any = None
    german: Any = None
    built_on: str | None = None  # the dbt target of the build the warehouse holds (None: not recorded)

    @property
    def engine(self) -> str:
        """The engine of the build the warehouse holds, where it was recorded, else the setting's;
        engines joined by '+' where builds on several made its tables (build_plan.built_on)."""
        if self.built_on is None:
            return self.settings.engine
        engines = ("spark" if target.startswith("spark") else "duckdb" for target in self.built_on.split("+"))
        return "+".join(dict.fromkeys(engines))

    @property
    def public_levels(self) -> list[str]:
        return list(self.dbt_vars.get("public_levels", []))

    @contextmanager
    def step(self, name: str, message: str | None = None) -> Iterator[None]:
        if message:
            self.say(message)
        try:
            with timed(self.seconds, name):
                yield
        finally:
            release_unused_memory()  # the next step's peak does not stand on this one's freed memory

    def discard(self) -> None:
        if self.tmp.exists():
            make_writable(self.tmp)
            shutil.rmtree(self.tmp)


# The gate report publish() is given: the report itself, or a function that waits for the gates
# still running beside the release's first steps and returns their report (orchestration.pipeline);
# such a function with a `running` attribute that is true (data_quality.beside.GatesBeside) lets
# the release make its documents before it waits.
Gates = GateReport | Callable[[], GateReport]


def publish(
    settings: Settings,
    gates: Gates,
    stichtag: date | None = None,
    force: bool = False,
    run_id: str | None = None,
    progress: Callable[[str], None] | None = None,
    built_on: str | None = None,
) -> PublishResult:
    """Build the release of `stichtag` (default: the newest in the warehouse) from the warehouse the
    quality gates check (`gates`: their report, or a function that waits for it;
    orchestration.pipeline.gate_and_publish runs them beside the first steps). Hold the run lock.
    `built_on`: the dbt target the warehouse's tables were built on (build_plan.built_on), which
    the manifest names.
    The steps are the numbered ones of this module's docstring; a step that refuses removes the
    temporary folder (a killed process leaves it to clean_stale_builds).

    Until the gates' report is in, the steps only read the warehouse and write into the temporary
    folder; the report is awaited before anything is published (dbt's lineage docs, whose process
    reads the warehouse read-only, orchestration/release/lineage.py, start only once nothing refuses
    the release any more). A blocking gate stops the release as before,
    and before any other refusal: it is the first thing a data engineer must fix."""
    wait_for_gates = gates if callable(gates) else (lambda: gates)
    releases_dir = settings.releases_dir
    releases_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_builds(releases_dir)
    update_latest(releases_dir)  # repair a switch a killed run did not finish
    build: _Build | None = None
    lineage: LineageBeside | None = None
    try:
        stichtag = stichtag_to_publish(settings, stichtag)
        signing_key = release_signing_key(settings)  # before any work: a release that cannot be signed is not made
        models = release_models(settings)  # what may be published: from the dbt manifest, before any work
        tmp = releases_dir / f"{TMP_PREFIX}{run_id or uuid.uuid4().hex[:12]}"
        tmp.mkdir()
        build = _Build(settings, stichtag, tmp, settings.project_vars.as_dict(), progress or (lambda _msg: None))
        build.models = models
        build.built_on = built_on
        _export(build)
        _public_content(build)
        existing = [r for r in list_releases(releases_dir) if r.stichtag == stichtag]
        same = _same_as_newest(build, existing)
        if same is None:  # something new is published: audit it (nothing new, nothing to audit)
            _audit(build)
        version = (existing[-1].version + 1) if existing else 1
        release_id = f"{stichtag.isoformat()}/v{version}"
        kept: str | None = None
        looked_up = documented = False
        if same is None and (force or not existing) and getattr(gates, "running", False):
            # The gates' process still runs, and only its report can refuse the release now. With the
            # lineage page an earlier release kept, no dbt docs are to run beside the documents, so
            # they are made now, while the release would otherwise wait: they read only the export
            # in `tmp`, and a refused release discards them. (Without a kept page they wait, to run
            # beside dbt's docs; why those start only after the gates: orchestration/release/lineage.py.)
            kept, looked_up = _kept_lineage(build), True
            if kept is not None:
                _documents(build, release_id, signing_key)
                documented = True
        report = _passed(wait_for_gates())
        if same is not None:
            build.discard()
            update_latest(releases_dir)
            _keep_memo(build)
            return PublishResult(same, False, report.outcome, build.seconds, report)
        report.redacted().write(tmp / "quality")
        _refuse_unforced_correction(build, existing, force)
        if not documented:
            # nothing refuses the release any more: the lineage docs now, beside the German tables
            # and the PDFs (why not earlier: orchestration/release/lineage.py)
            kept = kept if looked_up else _kept_lineage(build)
            if kept is None:
                build.say("lineage docs (dbt docs generate --static, beside the German tables and the PDFs)")
                lineage = LineageBeside(settings)
            _documents(build, release_id, signing_key)
        _lineage(build, lineage, kept)
        manifest = _manifest(build, report, release_id, version, existing, signing_key)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        sign_manifest(tmp, signing_key, MANIFEST)
    except BaseException as exc:
        if lineage is not None:
            lineage.stop()
        if build is not None:
            build.discard()
        _gates_first(wait_for_gates, exc)
        raise
    for p in tmp.rglob("*"):
        if p.is_file():
            p.chmod(0o444)
    _fsync_tree(tmp)

    checkpoint("release:before-rename")
    target = releases_dir / stichtag.isoformat() / f"v{version}"
    target.parent.mkdir(exist_ok=True)
    os.rename(tmp, target)  # one step: the release appears complete or not at all
    _freeze(target)
    checkpoint("release:before-latest")
    update_latest(releases_dir)
    _keep_memo(build)
    return PublishResult(Release(target, stichtag, version), True, report.outcome, build.seconds, report)


def _export(build: _Build) -> None:
    """The public tables (Parquet and one DuckDB file), their text checked, the wide views, the GIS
    files and the tables' descriptions, from the warehouse attached read-only."""
    settings, dbt_vars, tmp = build.settings, build.dbt_vars, build.tmp
    with build.step("export", "public tables, Parquet and GeoJSON"):
        con = connect(tmp / "sozialmonitor.duckdb", extensions=())
        try:
            con.execute(f"attach {sql_string(settings.warehouse_path)} as wh (read_only)")
            # one transaction: each of the ~450 statements (tables, views, comments) would otherwise
            # commit on its own and write the release file's log to disk each time (seconds of I/O)
            con.execute("begin transaction")
            build.inputs = _inputs(con, build.stichtag)
            build.tables = _public_tables(con, build.stichtag, tmp, build.models)
            unsafe = check_public_text(con, build.tables)  # names from extracts: control characters, length
            if unsafe:
                raise ReleaseRefused(_unsafe_text_message(unsafe))
            _wide_views(con, build.public_levels)
            build.geometry_memo = GeometryMemo(settings.releases_dir / MEMO_DIR)
            build.geo, build.geopackage = write_gis(
                con, build.stichtag, build.public_levels, str(dbt_vars.get("geometry_crs", "EPSG:25832")), tmp,
                gap_closing_m=dbt_vars.get("geometry_gap_closing_m"), memo=build.geometry_memo,
            )  # fmt: skip
            describe_release(con, tmp, build.tables, build.stichtag, dbt_vars, build.public_levels)
            con.execute("commit")
            con.execute("detach wh")
            con.execute("checkpoint")
        finally:
            con.close()


def _keep_memo(build: _Build) -> None:
    """The unit geometries, the lineage page and the audit's proofs of a published release, for the
    next (release/gis.py: GeometryMemo; release/lineage.py: LineageMemo; AuditProofs, beside the
    warehouse). A memo that cannot be written costs the next release time, never this one: it is
    published."""
    memos = (
        (build.geometry_memo, "unit geometries"),
        (build.lineage_memo, "lineage docs"),
        (build.audit_proofs, "the disclosure audit's proofs"),
    )
    for memo, what in memos:
        if memo is None:
            continue
        try:
            memo.keep()
        except Exception as exc:  # whatever it is: the release is published, the next one pays
            build.say(f"{what} not kept for the next release ({exc}); it makes them again")


def _public_content(build: _Build) -> None:
    """What the public sees besides the tables, and the digest of it all. The atlas's numbers come
    from the files just written (never from the warehouse), before the audit, which checks them.
    The printed report's content (every figure and sentence it prints) comes from the same model;
    its PDFs follow once the release id is known."""
    with build.step("atlas", "atlas data"):
        build.atlas_model = release_model(build.tmp)
        data = write_data(build.atlas_model, build.tmp / ATLAS_DIR)
        build.atlas = {"data": {**data, "path": f"{ATLAS_DIR}/data.js"}}
    with build.step("report_data", "report content"):
        build.templates = load_templates(report_templates_dir(build.settings))
        build.report_doc = build_document(build.tmp, build.atlas_model, build.templates, build.dbt_vars)
        build.report = {"data": write_report_data(build.report_doc, build.tmp / REPORT_DIR)}
    build.content = content_digest(build.tables, build.geo, build.atlas, build.report)


def _audit(build: _Build) -> None:
    """The disclosure audit of the public files, against every earlier release."""
    with build.step("audit", "disclosure audit (linear programming)"):
        # the last release's proofs first (kept beside the warehouse: they show true values)
        build.audit_proofs = AuditProofs(proofs_path(build.settings.warehouse_path))
        if build.audit_proofs.unreadable:
            build.say(
                f"the last release's audit proofs are unreadable ({build.audit_proofs.unreadable}): searched again"
            )
        build.audit = audit_release(
            build.tmp,
            build.settings.warehouse_path,
            build.settings.releases_dir,
            build.stichtag,
            protection_width=float(build.dbt_vars.get("disclosure_protection_width", 3)),
            proofs=build.audit_proofs,
        )
        if build.audit_proofs.pattern_unreadable:
            build.say(
                "the suppression pattern's proofs in the warehouse are unreadable "
                f"({build.audit_proofs.pattern_unreadable}): searched again"
            )
    build.dbt_vars["disclosure_method"] = build.audit.method  # as applied (a run may override the default)
    if not build.audit.passed:
        raise DisclosureAuditFailed(build.audit)


def _passed(report: GateReport) -> GateReport:
    if report.blocking_failures:
        raise GateFailed(report)
    return report


def _gates_first(wait_for_gates: Callable[[], GateReport], exc: BaseException) -> None:
    """A step failed while the gates ran: wait for them (they hold the warehouse open), and raise
    their refusal instead if they block, since the data engineer fixes the data first."""
    if isinstance(exc, GateFailed):
        return
    try:
        report = wait_for_gates()
    except Exception:  # noqa: BLE001 - the gates' own error is not this step's: the step's is raised
        return
    if report.blocking_failures:
        raise GateFailed(report) from exc


def _same_as_newest(build: _Build, existing: list[Release]) -> Release | None:
    """The newest release of the Stichtag if it publishes the same content from the same inputs
    (nothing new to publish), else None. Such a release passed the audit against every release
    there was when it was made, and every later release was audited against it: publishing the same
    bytes again discloses nothing new, so the audit is not run again."""
    if not existing:
        return None
    newest = existing[-1]
    previous = newest.manifest()
    same_inputs = {(i["source"], i["stichtag"], i["sha256"]) for i in previous.get("inputs", [])} == {
        (i["source"], i["stichtag"], i["sha256"]) for i in build.inputs
    }
    return newest if previous.get("content_sha256") == build.content and same_inputs else None


def _refuse_unforced_correction(build: _Build, existing: list[Release], force: bool) -> None:
    """A Stichtag already released with other numbers or inputs gets a new version only when forced
    (a correction). After the audit, so that a release that would disclose says so first."""
    if not existing or force:
        return
    newest = existing[-1]
    raise ReleaseRefused(
        f"Stichtag {build.stichtag} is already released as {newest.id}, and this build publishes different "
        f"numbers or inputs. Published releases never change: to publish a correction as "
        f"{build.stichtag}/v{newest.version + 1}, run again with --force "
        f"(compare first: sozialmonitor release diff {newest.id} <new>)."
    )


def _lineage_roots(settings: Settings) -> dict[Path, str]:
    """The folders in dbt's page and what stands for them in the public copy."""
    roots = {settings.dbt_target_dir / LINEAGE_TARGET: "target", settings.dbt_target_dir: "target"}
    return roots | {settings.dbt_project_dir: ".", settings.project_dir: ".."}


def _kept_lineage(build: _Build) -> str | None:
    """The public lineage page from the page an earlier release kept for the same project, vars and
    catalog (release/lineage.py: LineageMemo), its times set to this Stichtag, or None: dbt makes it
    (also when the kept page does not read as dbt's)."""
    build.lineage_memo = LineageMemo(build.settings.releases_dir / MEMO_DIR)
    with build.step("lineage_memo"):
        kept = build.lineage_memo.page(build.settings)
        if kept is None:
            return None
        try:
            return scrub_lineage(kept, _lineage_roots(build.settings), build.stichtag)
        except ValueError:
            build.say("the kept lineage docs do not read as dbt's; dbt makes them again")
            build.lineage_memo.hit = False
            return None


def _lineage(build: _Build, lineage: LineageBeside | None, kept: str | None) -> None:
    """The lineage docs: the page an earlier release kept (`kept`, already scrubbed), else dbt's
    (its process started before the German tables), written with the machine's paths scrubbed into
    the release, and held for the next release."""
    if kept is None:
        assert lineage is not None
        with build.step("lineage"):
            page = lineage.html()
        kept = scrub_lineage(page, _lineage_roots(build.settings), build.stichtag)
        build.seconds["lineage_process"] = lineage.seconds
        if build.lineage_memo is not None:
            build.lineage_memo.hold(kept)  # without the machine's paths and ids; its times stamped again when read
    (build.tmp / "lineage.html").write_text(kept, encoding="utf-8")


def _documents(build: _Build, release_id: str, signing_key) -> None:
    """What names the release id: the German tables, the atlas page, the report's PDFs (their text
    checked against bericht/daten.json), the LIESMICH, the open-data description, the public key."""
    tmp, dbt_vars, licence = build.tmp, build.dbt_vars, _licence_text(build.dbt_vars)
    with build.step("tables", "German tables (XLSX, CSV, Kennzahlenkatalog)"):
        con = connect(tmp / "sozialmonitor.duckdb", read_only=True, extensions=())
        try:
            build.german = write_tables(con, tmp, build.stichtag, release_id, licence)
        finally:
            con.close()
    pages = write_page(tmp / ATLAS_DIR, build.atlas_model, release_id, licence)
    build.atlas["page"] = f"{ATLAS_DIR}/{pages[0]}"
    build.atlas["files"] = sorted(f"{ATLAS_DIR}/{name}" for name in ["data.js", *pages])
    with build.step("report", "report (Datenreport and Gebietsprofile, PDF)"):
        meta = meta_for(release_id, licence, str(dbt_vars.get("release_publisher") or ""))
        pdfs = write_report(tmp, tmp / REPORT_DIR, build.report_doc, build.atlas_model, build.templates, meta)
    with build.step("report_check"):
        problems = check_pdfs(tmp, build.report_doc)  # the PDFs print exactly what daten.json says
    if problems:
        raise ReleaseRefused("the report's PDFs do not print what bericht/daten.json says: " + "; ".join(problems[:5]))
    build.report["files"] = sorted(f"{REPORT_DIR}/{name}" for name in ["daten.json", *pdfs])
    first = pdfs[0] if pdfs else None
    build.report["report"] = f"{REPORT_DIR}/{first}" if first and not first.startswith("gebietsprofile/") else None
    build.report["profiles"] = sum(1 for name in pdfs if name.startswith("gebietsprofile/"))
    (tmp / "LIESMICH.txt").write_text(
        _readme(
            build.stichtag, release_id, build.tables, build.geo, build.audit.method, dbt_vars, build.german,
            signing_key.describe(),
        ),
        encoding="utf-8",
    )  # fmt: skip
    write_open_data(tmp, release_id, build.stichtag, dbt_vars)  # after every data file: it lists them all
    write_public_key(tmp, signing_key)  # an output like any other; the signature follows the manifest


def _manifest(
    build: _Build, gates: GateReport, release_id: str, version: int, existing: list[Release], signing_key
) -> dict[str, Any]:
    """Where everything came from and the checksum of every file (written last: it lists them all)."""
    settings, tmp, dbt_vars = build.settings, build.tmp, build.dbt_vars
    commit = git_commit(settings.project_dir)
    dirty = git(settings.project_dir, "status", "--porcelain", "--untracked-files=no")
    contracts = sorted(settings.contracts_dir.glob("*.yml"))
    catalogue = settings.dbt_project_dir / "catalogue" / "kennzahlenkatalog.yml"
    return {
        "release": release_id,
        "stichtag": build.stichtag.isoformat(),
        "version": version,
        "supersedes": existing[-1].id if existing else None,
        "forced": bool(existing),
        "code": {"git_commit": commit, "git_dirty": bool(dirty) if dirty is not None else None},
        "tools": _tool_versions(build.engine, build.built_on),
        "inputs": build.inputs,
        "public_tables": build.tables,
        "geo": build.geo,
        "geopackage": build.geopackage,
        "tables": build.german,
        "atlas": build.atlas,
        "bericht": build.report,
        "content_sha256": build.content,
        "gates": {**gates.summary(), "report": "quality/gates.html", "results": "quality/gates.json"},
        "disclosure_audit": build.audit.public_figures(),
        "signature": signing_key.describe(),
        "rules": {
            "indicator_catalogue": {
                "file": "dbt_project/catalogue/kennzahlenkatalog.yml",
                "sha256": sha256_file(catalogue),
            },
            "dbt_vars": dbt_vars,
            "gates_config": {
                "file": relative_config(gates.config_path, settings.project_dir),
                "sha256": gates.config_sha256,
            },
            "contracts": {p.stem: sha256_file(p) for p in contracts},
            "disclosure": _disclosure_rules(
                dbt_vars,
                build.public_levels,
                build.audit.method,
                settings.warehouse_path,
                allowed_columns(build.models),
            ),
            "geometry": {"source_crs": str(dbt_vars.get("geometry_crs", "EPSG:25832")), "published_crs": "EPSG:4326"},
        },
        "outputs": [
            {"path": p.relative_to(tmp).as_posix(), "sha256": sha256_file(p), "bytes": p.stat().st_size}
            for p in sorted(tmp.rglob("*"))
            if p.is_file()
        ],
    }


def _fsync_tree(path: Path) -> None:
    for p in path.rglob("*"):
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
