"""The source contracts that read a generated city's files. The demo's Stadtviertel codes have four
digits (Stadtteil code and one digit), and the Stadtplanungsamt's housing file is read with codes
padded to four. A city generated with Stadtviertel of a given size (DemoConfig.viertel_residents)
may have more than nine Stadtviertel in a Stadtteil and five-digit codes: as a real city would, it
then needs its own copy of the contracts with that width. Reads YAML and CSV only: the generator
imports nothing of the warehouse."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import yaml

AREAS_FILE = Path("gebiete") / "gebietsgliederung.csv"
DEMO_VIERTEL_DIGITS = 4


def viertel_code_digits(raw_dir: Path) -> int:
    """The width of the Stadtviertel codes in the city's Gebietsgliederung."""
    with (raw_dir / AREAS_FILE).open(encoding="utf-8", newline="") as handle:
        widths = {
            len(row["Schluessel"]) for row in csv.DictReader(handle, delimiter=";") if row["Ebene"] == "stadtviertel"
        }
    if len(widths) != 1:
        raise ValueError(f"{raw_dir / AREAS_FILE}: Stadtviertel codes of widths {sorted(widths)}, expected one")
    return widths.pop()


def contracts_for(raw_dir: Path, contracts_dir: Path, target: Path) -> Path:
    """`contracts_dir` when the city has the demo's four-digit Stadtviertel codes; else a copy of it
    in `target` whose columns of padded Stadtviertel codes take the city's width. Returns the
    folder to read the city with."""
    digits = viertel_code_digits(raw_dir)
    if digits == DEMO_VIERTEL_DIGITS:
        return contracts_dir
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(contracts_dir, target)
    for path in sorted(target.glob("*.yml")):
        contract = yaml.safe_load(path.read_text(encoding="utf-8"))
        changed = False
        for column in contract.get("columns", []):
            if column.get("pad") == DEMO_VIERTEL_DIGITS and column.get("references", {}).get("source") == "geo_areas":
                column["pad"] = digits
                column["pattern"] = rf"^\d{{{digits}}}$"
                changed = True
        if changed:
            path.write_text(
                f"# {contracts_dir / path.name} for Stadtviertel codes of {digits} digits (demo/contracts.py)\n"
                + yaml.safe_dump(contract, allow_unicode=True, sort_keys=False, width=120),
                encoding="utf-8",
            )
    return target
