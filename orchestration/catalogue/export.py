"""The catalogue as a table for the working group (`sozialmonitor catalogue --out`): CSV and Markdown."""

from __future__ import annotations

from .model import CATALOGUE_FILE, Catalogue
from .seeds import indicator_rows, to_csv

EXPORT_COLUMNS = [
    ("indicator_id", "Kennung"), ("topic", "Themenfeld"), ("name_de", "Bezeichnung"), ("name_en", "Name (englisch)"),
    ("definition_de", "Definition"), ("numerator_de", "Zähler"), ("denominator_de", "Nenner"), ("unit", "Einheit"),
    ("source_de", "Quelle"), ("responsible", "Zuständig"), ("update_cycle", "Fortschreibung"),
    ("levels", "Ebenen"), ("sensitivity", "Sensibilität"), ("direction", "Richtung"),
    ("disclosure_rule", "Geheimhaltung"), ("first_period", "Erster Zeitraum"), ("last_period", "Letzter Zeitraum"),
]  # fmt: skip


def export_csv(cat: Catalogue) -> str:
    """Semicolon-separated (opens in a German spreadsheet), UTF-8 with BOM."""
    rows = indicator_rows(cat)
    out = [{label: row[key] for key, label in EXPORT_COLUMNS} for row in rows]
    return "\ufeff" + to_csv(out, [label for _, label in EXPORT_COLUMNS], delimiter=";")


def export_markdown(cat: Catalogue) -> str:
    rows = indicator_rows(cat)
    lines = [
        "# Kennzahlenkatalog",
        "",
        f"Erzeugt aus `{CATALOGUE_FILE.as_posix()}` ({len(rows)} Kennzahlen). Formel: Zähler × Faktor / Nenner.",
        "",
    ]
    topics: list[str] = []
    for row in rows:
        if row["topic"] not in topics:
            topics.append(row["topic"])
    for topic in topics:
        lines += [f"## {topic}", ""]
        header = [label for key, label in EXPORT_COLUMNS if key != "topic"]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for row in rows:
            if row["topic"] != topic:
                continue
            cells = []
            for key, _ in EXPORT_COLUMNS:
                if key != "topic":
                    text = row[key].replace(",", ", ") if key == "levels" else row[key]
                    cells.append(text.replace("|", "\\|"))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
