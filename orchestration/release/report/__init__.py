"""The printed report of a release: `bericht/` beside the public tables.

- `daten.json`: everything the report prints (figures as printed, sentences, the settings of
  `report.yml`, the checksums of the templates), built from the release's public files only
  (`content.report_document`). Written before the disclosure audit, which rebuilds it
  (`check_report`), and part of the release's `content_sha256`, like the atlas's data.
- `datenreport.pdf` and `gebietsprofile/<Ebene>-<Nr>.pdf`: that document typeset with Typst
  (`render.py`). They name the release id on every page, so they are written once it is known (like
  the atlas page and the German tables); publish() then checks their text against `daten.json`
  before the release is renamed into place, and the audit checks it again in a finished release.

The same release, templates and Typst version give byte-identical PDFs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ...ingest.loader import sha256_file
from .content import dumps, report_document
from .render import REPORT_FILE, load_config, load_templates, write_pdfs

REPORT_DIR = "bericht"
DATA_FILE = "daten.json"


def build_document(
    release_dir: Path, model: dict[str, Any], templates: dict[str, bytes], dbt_vars: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The report's content; `dbt_vars`: the release's (publish() has them, a finished release names
    them in its manifest), for the defaults of disclosure control the method chapter names."""
    config = load_config(templates)
    if dbt_vars is None:
        from ..atlas import _manifest

        dbt_vars = _manifest(release_dir).get("rules", {}).get("dbt_vars") or {}
    config["geheimhaltung"] = {
        "mindestfallzahl": dbt_vars.get("disclosure_min_count"),
        "mindesteinwohner": dbt_vars.get("disclosure_min_population"),
    }
    return report_document(release_dir, model, config, templates)


def write_data(document: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Write `daten.json` into `out_dir` (created); returns path, bytes and checksum."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / DATA_FILE
    path.write_bytes(dumps(document))
    return {"path": f"{REPORT_DIR}/{DATA_FILE}", "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def meta_for(release_id: str, licence: str, publisher: str) -> dict[str, Any]:
    return {"veroeffentlichung": release_id, "lizenz": licence or "–", "herausgeber": publisher or "–"}


def write_report(
    release_dir: Path, out_dir: Path, document: dict[str, Any], model: dict[str, Any], templates: dict[str, bytes],
    meta: dict[str, Any], areas: set[tuple[str, str]] | None = None, whole: bool = True,
) -> list[str]:  # fmt: skip
    """The PDFs of `document` into `out_dir`; returns their paths relative to `out_dir`."""
    return write_pdfs(out_dir, document, model, templates, meta, areas=areas, whole=whole)


# --- checks -----------------------------------------------------------------------------------


def pdf_text(path: Path) -> list[str]:
    """The text of each page (PDFium's text extraction: fast, C; the tests read with pypdf too)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        pages = []
        for page in pdf:
            text_page = page.get_textpage()
            pages.append(text_page.get_text_range())
            text_page.close()
            page.close()
        return pages
    finally:
        pdf.close()


def _tokens(text: str) -> list[str]:
    return re.split(r"[\s\u00a0]+", text)


def _missing_in_order(expected: list[str], tokens: list[str]) -> str | None:
    """The first of `expected` that is not found, in order, among `tokens` (None: all are)."""
    it = iter(tokens)
    for item in expected:
        if item == "":
            continue
        if not any(tok == item for tok in it):
            return item
    return None


def report_figures_printed(document: dict[str, Any]) -> list[str]:
    """The figures of the Datenreport's area tables in reading order (area rows, then the whole
    area; in a Kreis then the table of its Gemeinden)."""
    out = []
    for topic in document["themen"]:
        for k in topic["kennzahlen"]:
            tables = [k["tabelle"], *([k["vergleich"]] if k.get("vergleich") else [])]
            for table in tables:
                for row in [*table["zeilen"], table["gemeinde"]]:
                    out += [x for x in row[1:] if x]
    return out


def profile_figures_printed(profile: dict[str, Any]) -> list[str]:
    """The figures of a profile's key figures, spine table and trends in reading order."""
    out = [
        x for k in profile["kennzahlen"] for x in (k["wert"], *([k["stadt"]] if "stadt" in k else []), k["gemeinde"])
    ]
    out += [x for s in profile["spine"] for x in (s["wert"], s["gemeinde"], s["min"], s["max"]) if x]
    out += [x for t in profile["trends"] for x in [*t["werte"], t["veraenderung"]] if x]
    out += [sign for _name, sign, _why in profile["geheim"]]
    return out


def check_pdfs(release_dir: Path, document: dict[str, Any] | None = None) -> list[str]:
    """The PDFs print what `daten.json` says: every figure of every table, in order, is in the text
    (withheld cells as their sign), every profile exists, and nothing else is in `bericht/`."""
    base = release_dir / REPORT_DIR
    if document is None:
        document = json.loads((base / DATA_FILE).read_text(encoding="utf-8"))
    problems = []
    expected = {REPORT_FILE: report_figures_printed(document)}
    for profile in document["profile"]:
        expected[profile["datei"]] = profile_figures_printed(profile)
    for name, figures in expected.items():
        path = base / name
        if not path.is_file():
            problems.append(f"{REPORT_DIR}/{name}: missing")
            continue
        text = "\n".join(pdf_text(path))
        missing = _missing_in_order(figures, _tokens(text))
        if missing is not None:
            problems.append(f"{REPORT_DIR}/{name}: does not print {missing!r} where daten.json has it")
    present = {p.relative_to(base).as_posix() for p in base.rglob("*.pdf")}
    for extra in sorted(present - set(expected)):
        problems.append(f"{REPORT_DIR}/{extra}: a PDF that daten.json does not describe")
    return problems


def check_report(release_dir: Path, model: dict[str, Any] | None = None, pdfs: bool = True) -> list[str]:
    """The report shows nothing but the published numbers: `daten.json` rebuilt from the release's
    public files must be the same (with the settings and template checksums it names), and the PDFs
    must print it (`check_pdfs`). The disclosure audit runs this. Returns the problems found."""
    path = release_dir / REPORT_DIR / DATA_FILE
    if not path.is_file():
        return []
    from ..atlas import release_model

    shown = json.loads(path.read_text(encoding="utf-8"))
    model = model or release_model(release_dir)
    rebuilt = report_document(release_dir, model, shown.get("einstellungen") or {}, {})
    rebuilt["vorlagen"] = shown.get("vorlagen")
    problems = []
    for key in sorted(set(shown) | set(rebuilt)):
        if shown.get(key) != json.loads(json.dumps(rebuilt.get(key), ensure_ascii=False)):
            problems.append(f"{REPORT_DIR}/{DATA_FILE}: {key} differs from the release's public tables")
    if pdfs and (release_dir / REPORT_DIR / REPORT_FILE).is_file():
        problems += check_pdfs(release_dir, shown)
    return problems


def build_report(
    release_dir: Path, out_dir: Path, templates_dir: Path | None = None, areas: set[tuple[str, str]] | None = None,
    whole: bool = True, release_id: str | None = None,
) -> list[str]:  # fmt: skip
    """Regenerate the report (or some profiles) of an existing release into `out_dir` (never into a
    release: releases are immutable). Returns the files written, relative to `out_dir`."""
    from ..atlas import _licence, _manifest, _release_id, release_model

    model = release_model(release_dir)
    templates = load_templates(templates_dir)
    document = build_document(release_dir, model, templates)
    write_data(document, out_dir)
    dbt_vars = _manifest(release_dir).get("rules", {}).get("dbt_vars") or {}
    meta = meta_for(release_id or _release_id(release_dir), _licence(release_dir),
                    str(dbt_vars.get("release_publisher") or ""))  # fmt: skip
    files = write_pdfs(out_dir, document, model, templates, meta, areas=areas, whole=whole)
    return [DATA_FILE, *files]


__all__ = [
    "DATA_FILE", "REPORT_DIR", "REPORT_FILE", "build_document", "build_report", "check_pdfs", "check_report",
    "load_templates", "meta_for", "write_data", "write_report",
]  # fmt: skip
