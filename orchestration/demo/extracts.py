"""`generate()`: simulate Musterstadt and write every department extract, each by its module in
`sources/` (which writes it as the source contract describes it), then mark the folder as the
demo city.

Files (under the raw/ folder) by source module, per contract in orchestration/contracts/:
- geo: gebiete/adressen.csv, gebietsgliederung.csv, baublock_zuordnung.csv (UTF-8, ';', LF),
  gebiete/baubloecke.geojson (EPSG:25832);
- register: einwohner/EWR_Bestand_YYYYMMDD.csv and bewegungen/EWR_Bewegungen_YYYY.csv (cp1252, ';', CRLF);
- arbeitsagentur: arbeitsagentur/BA_Arbeitsmarkt_Baublock_YYYY12.xlsx (title block, header, blocks, total, footnotes);
- jobcenter: jobcenter/JC_SGB2_Personen_YYYYMMDD.csv (UTF-8 with BOM, ';', CRLF, total row at the end);
- sozialamt: sozialamt/SGB12_Faelle_YYYYMMDD.xlsx (sheet Fallliste, real date cells);
- wohngeld: wohngeld/Wohngeld_YYYYMMDD.csv (cp1252, ';', CRLF);
- gesundheitsamt: gesundheitsamt/SEU_Einschulung_YYYY.csv (cp1252, ';', CRLF);
- jugendamt: jugendamt/Kita_Belegung_YYYYMMDD.csv (UTF-8 with BOM, ';', CRLF);
- schulamt: schulamt/Uebergaenge_Sek1_YYYY.csv (cp1252, ';', CRLF, total row at the end);
- planung: planung/Wohnungsbestand_Stadtviertel_YYYY.csv (cp1252, ';', decimal comma, thousands point, CRLF,
  total row and source note; one row per Stadtviertel of the Gebietsstand at the Stichtag);
- umwelt: umwelt/Umwelt_Baublock_YYYY.csv (UTF-8, ',', decimal point, LF).

Deliberate mess that the contracts tolerate: register header Haushalts_ID → Haushaltsnummer from
2022, register street keys without leading zeros in 2019/2020, Wohngeld header Haushaltsgroesse →
Anzahl_Haushaltsmitglieder from 2023, BA block codes as numbers in 2019–2021, addresses typed in many
spellings, a few addresses that no register knows, SEU header Familiensprache → Erstsprache from 2022,
Stadtviertel codes without the leading zero in the housing files of 2019/2020, '-' for zero counts.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from .config import DemoConfig
from .sources import SOURCES
from .truth import simulate

__all__ = [
    "DEMO_MARKER",
    "GENERATING_MARKER",
    "generate",
    "listed_demo_files",
    "remove_stale_demo_files",
    "write_demo_marker",
]

# The warehouse recognises these names without importing the generator: orchestration.pseudonyms
# (DEMO_MARKER) and orchestration.pipeline (GENERATING_MARKER) keep a copy, held equal by tests/demo.
DEMO_MARKER = ".demo-city"
GENERATING_MARKER = ".demo-generating"


def generate(out_dir: Path, cfg: DemoConfig | None = None) -> list[Path]:
    """Simulate Musterstadt and write all extracts under `out_dir` (the raw/ folder).

    Existing files of the same names are overwritten; files an earlier generation listed in its
    marker and this one does not write are removed (`remove_stale_demo_files`); other files are
    left alone. Returns the written paths, sorted.
    """
    cfg = cfg or DemoConfig()
    out = Path(out_dir)
    # Written first and removed last: a generation killed halfway leaves it behind, and the next
    # run regenerates instead of stopping at half a city without its marker.
    out.mkdir(parents=True, exist_ok=True)
    (out / GENERATING_MARKER).write_text("the demo generator is writing this folder\n", encoding="utf-8")
    earlier = listed_demo_files(out)
    sim = simulate(cfg)
    written: list[Path] = []
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    try:
        for source in SOURCES:
            written += source.write(out, sim, con)
    finally:
        con.close()
    remove_stale_demo_files(earlier, written)
    write_demo_marker(out, written, "Musterstadt")
    (out / GENERATING_MARKER).unlink()
    return sorted(written)


def listed_demo_files(out: Path) -> dict[Path, str]:
    """The files the demo marker in `out` lists (an earlier generation's) with their SHA-256: only
    paths inside `out` (no '..', no folder that a link leads out of), never the markers themselves."""
    marker = Path(out) / DEMO_MARKER
    if not marker.is_file():
        return {}
    root = Path(out).resolve()
    files = {}
    for line in marker.read_text(encoding="utf-8").splitlines():
        digest, sep, relative = line.partition("  ")
        if not (sep and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
            continue
        path = Path(out) / relative
        if path.name in (DEMO_MARKER, GENERATING_MARKER) or ".." in Path(relative).parts:
            continue
        if path.parent.resolve().is_relative_to(root):
            files[path] = digest
    return files


def remove_stale_demo_files(earlier: dict[Path, str], written: list[Path]) -> list[Path]:
    """Remove the files an earlier generation wrote (`earlier`, from its marker) that this one did
    not: another Kreis's Städte, other Stichtage. Only a regular file (not a link) whose content is
    still what the marker says: a file put there or changed by hand stays. Returns the removed paths."""
    now = {Path(p).absolute() for p in written}
    stale = []
    for path, digest in sorted(earlier.items()):
        if path.absolute() in now or path.is_symlink() or not path.is_file():
            continue
        if hashlib.sha256(path.read_bytes()).hexdigest() == digest:
            path.unlink()
            stale.append(path)
    return stale


def write_demo_marker(out: Path, written: list[Path], name: str) -> Path:
    """Marks raw/ as demo data: only then may ingestion fall back to the published demo key. It
    lists every written file with its SHA-256: the demo key is refused for any other file."""
    listing = "".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(out).as_posix()}\n" for p in sorted(written)
    )
    marker = out / DEMO_MARKER
    marker.write_text(
        f"{name}: simulated extracts. Ingestion pseudonymises them with the published demo key\n"
        "(orchestration/demo/demo_pseudonym.key), and only the files listed below, unchanged.\n"
        "Never put real extracts into this folder.\n" + listing,
        encoding="utf-8",
    )
    return marker
