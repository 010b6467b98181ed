"""A Gebietsgliederung whose Gemeinde does not have every level (issue 18, a Kreis and its Städte),
end to end in ONE pipeline run on the session's test city, reshaped:

- Stadtbezirk 03 loses its Stadtviertel: its Baublöcke belong directly to their Stadtteile (and the
  Stadtplanungsamt's housing file, delivered per Stadtviertel, has no rows for them);
- Stadtbezirk 06 disappears: its Stadtteile hang directly under the Gemeinde (Oberebene gemeinde);
- a level `kreis` sits on top (the deployment's vars file), the Gemeinde and the Sozialräume under it.

Everything computed from addresses must equal the unmodified city's values for the same units; a
skipped level publishes no rows; the housing values of areas the housing file cannot cover are
missing (null, source_missing), never a partial sum; the gates, the release audit and the
independent attacker pass."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from orchestration.pipeline import run_pipeline
from orchestration.pseudonyms import ENV_KEY
from orchestration.release.signing import ENV_SIGNING_KEY, write_key_pair
from tests.disclosure.attacker import attack
from tests.disclosure.test_independent_attacker import assert_no_leak, assert_sound, true_counts
from tests.helpers import settings_for, warehouse_frame

WITHOUT_VIERTEL = "03"  # the Stadtbezirk whose Stadtviertel disappear
WITHOUT_BEZIRK = "06"  # the Stadtbezirk that disappears
GEMEINDE = "09999000"
KREIS = "05999"
LEVELS = ["stadtviertel", "stadtteil", "stadtbezirk", "gemeinde", "kreis"]
# the source delivered per Stadtviertel and spread over its Baublöcke (the catalogue's crosswalk)
HOUSING = "planung_wohnen"


def _read(path: Path, encoding: str) -> tuple[list[str], str]:
    text = path.read_bytes().decode(encoding)
    newline = "\r\n" if "\r\n" in text else "\n"
    return text.split(newline), newline


def _write(path: Path, lines: list[str], newline: str, encoding: str) -> None:
    path.write_bytes(newline.join(lines).encode(encoding))


def reshape(raw: Path) -> set[str]:
    """Rewrite the Gebietsgliederung, the Baublock membership and the housing files of `raw` as
    described above; returns the Stadtviertel that disappeared."""
    areas_path = raw / "gebiete" / "gebietsgliederung.csv"
    lines, nl = _read(areas_path, "utf-8")
    header = lines[0].split(";")
    assert header == ["Ebene", "Schluessel", "Name", "Oberbezirk", "Gueltig_ab", "Gueltig_bis"], header
    gone: set[str] = set()
    out = [
        "Ebene;Schluessel;Name;Oberbezirk;Oberebene;Gueltig_ab;Gueltig_bis",
        f"kreis;{KREIS};Musterkreis;;;01.01.2000;",
    ]
    for line in lines[1:]:
        if not line:
            out.append(line)
            continue
        level, code, name, parent, start, end = line.split(";")
        parent_level = ""
        if level == "stadtviertel" and code.startswith(WITHOUT_VIERTEL):
            gone.add(code)
            continue
        if level == "stadtbezirk" and code == WITHOUT_BEZIRK:
            continue
        if level == "stadtteil" and parent == WITHOUT_BEZIRK:
            parent, parent_level = GEMEINDE, "gemeinde"
        if level == "gemeinde":
            parent = KREIS  # the next level: Oberebene stays empty
        if level == "sozialraum":
            parent = KREIS  # a non-nested unit's parent is of the top level: Oberebene stays empty
        out.append(";".join([level, code, name, parent, parent_level, start, end]))
    _write(areas_path, out, nl, "utf-8")

    membership_path = raw / "gebiete" / "baublock_zuordnung.csv"
    lines, nl = _read(membership_path, "utf-8")
    out = [lines[0]]
    for line in lines[1:]:
        fields = line.split(";")
        if len(fields) > 2 and fields[1] == "stadtviertel" and fields[2] in gone:
            fields[1], fields[2] = "stadtteil", fields[2][:3]
        out.append(";".join(fields))
    _write(membership_path, out, nl, "utf-8")

    for path in sorted((raw / "planung").glob("*.csv")):
        lines, nl = _read(path, "cp1252")
        kept = [line for line in lines if line.split(";")[0].zfill(4) not in gone]
        assert len(kept) < len(lines), path
        _write(path, kept, nl, "cp1252")
    return gone


@pytest.fixture(scope="module")
def reshaped_city(tmp_path_factory, city_raw):
    base = tmp_path_factory.mktemp("skipped_levels")
    shutil.copytree(city_raw, base / "raw")
    gone = reshape(base / "raw")
    vars_file = base / "vars.yml"
    vars_file.write_text(
        yaml.safe_dump({"nested_levels": LEVELS, "public_levels": [*LEVELS, "sozialraum"]}), encoding="utf-8"
    )
    # its levels render other generated dbt files: a dbt project of its own
    settings = settings_for(base).with_paths(vars_file=vars_file)
    # the reshaped files are no longer the demo generator's: they need keys of their own
    signing_key = base / "keys" / "signing.key"
    signing_key.parent.mkdir()
    write_key_pair(signing_key)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_KEY, "skipped-levels-test-key-0123456789")
        mp.setenv(ENV_SIGNING_KEY, str(signing_key))
        summary = run_pipeline(settings)
    return settings, summary, gone


def test_a_city_that_skips_levels_computes_the_same_values(reshaped_city, built_city):
    settings, summary, gone = reshaped_city
    assert summary.release is not None, summary

    query = (
        "select indicator_id, level, area_id, stichtag, numerator, denominator, value, flags "
        "from marts.fct_indicator_values"
    )
    new = warehouse_frame(settings, query)
    old = warehouse_frame(built_city, query)
    housing = set(
        warehouse_frame(
            settings,
            """select c.indicator_id from reference.indicator_catalogue as c
               join reference.measure_catalogue as m
                 on m.measure_id in (c.numerator_measure, c.denominator_measure)
               where m.source = ?""",
            [HOUSING],
        )["indicator_id"]
    )
    assert housing

    # the levels skipped publish no rows: no Stadtviertel in Bezirk 03, no Stadtbezirk 06
    viertel = new[new.level == "stadtviertel"]
    assert not viertel.area_id.isin(gone).any() and not viertel.empty
    assert not ((new.level == "stadtbezirk") & (new.area_id == WITHOUT_BEZIRK)).any()
    areas = warehouse_frame(settings, "select level, area_id, parent_level, parent_id from marts.dim_area")
    blocks_03 = areas[(areas.level == "baublock") & areas.parent_id.str.startswith(WITHOUT_VIERTEL)]
    assert set(blocks_03.parent_level) == {"stadtteil"}, blocks_03.head()
    teile_06 = areas[(areas.level == "stadtteil") & areas.area_id.str.startswith(WITHOUT_BEZIRK)]
    assert set(zip(teile_06.parent_level, teile_06.parent_id, strict=True)) == {("gemeinde", GEMEINDE)}
    assert set(areas.loc[areas.level == "sozialraum", "parent_level"]) == {"kreis"}

    # every value of the units both cities have is the same ...
    key = ["indicator_id", "level", "area_id", "stichtag"]
    both = old[old.level.isin(["stadtteil", "stadtbezirk", "gemeinde"])].merge(
        new, on=key, how="left", suffixes=("_old", "_new"), indicator=True
    )
    dropped = both[both._merge != "both"]
    assert set(zip(dropped.level, dropped.area_id, strict=True)) == {("stadtbezirk", WITHOUT_BEZIRK)}
    both = both[both._merge == "both"]
    same = pd.concat(
        [
            (both[f"{c}_old"] == both[f"{c}_new"]) | (both[f"{c}_old"].isna() & both[f"{c}_new"].isna())
            for c in ("numerator", "denominator", "value", "flags")
        ],
        axis=1,
    )
    differ = both[~same.all(axis=1)]
    # ... but for the housing stock where the file per Stadtviertel cannot cover the area: Bezirk 03,
    # its Stadtteile, and the Gemeinde that contains them. No partial sum is published as a count.
    uncovered = {("stadtbezirk", WITHOUT_VIERTEL), ("gemeinde", GEMEINDE)} | {
        ("stadtteil", a) for a in both.area_id if a.startswith(WITHOUT_VIERTEL) and len(a) == 3
    }
    assert set(differ.indicator_id) <= housing, differ.head(20).to_string()
    assert set(zip(differ.level, differ.area_id, strict=True)) == uncovered, differ.head(20).to_string()
    assert differ.numerator_new.isna().all() and differ.value_new.isna().all()
    assert differ.flags_new.str.contains("source_missing").all()

    # the Kreis is the Gemeinde, once more
    kreis = new[new.level == "kreis"].drop(columns=["level", "area_id"])
    gemeinde = new[new.level == "gemeinde"].drop(columns=["level", "area_id"])
    assert len(kreis) == len(gemeinde) > 0
    pd.testing.assert_frame_equal(
        kreis.sort_values(["indicator_id", "stichtag"]).reset_index(drop=True),
        gemeinde.sort_values(["indicator_id", "stichtag"]).reset_index(drop=True),
    )


def test_the_hierarchy_gate_checks_the_skipped_levels_and_passes(reshaped_city):
    settings, summary, _ = reshaped_city
    assert summary.gates is not None and summary.gates.outcome in ("passed", "passed_with_warnings")
    sums = warehouse_frame(settings, "select * from gates.gate_hierarchy")
    assert (sums.difference.abs() <= 0.001).all()
    pairs = set(zip(sums.child_level, sums.parent_level, sums.parent_id.str[:2], strict=True))
    assert ("baublock", "stadtteil", WITHOUT_VIERTEL) in pairs  # Baublöcke directly in their Stadtteil
    assert ("stadtbezirk,stadtteil", "gemeinde", GEMEINDE[:2]) in pairs  # Bezirke 01-05 and Stadtteile 06x
    assert ("gemeinde", "kreis", KREIS[:2]) in pairs and ("sozialraum", "kreis", KREIS[:2]) in pairs


def test_the_release_of_a_city_that_skips_levels_is_protected(reshaped_city):
    settings, summary, _ = reshaped_city
    release = settings.releases_dir / "latest"
    manifest = yaml.safe_load((release / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["disclosure_audit"]["passed"] is True
    assert {"kreis", "gemeinde", "stadtbezirk", "stadtteil", "stadtviertel", "sozialraum"} <= {
        p.stem for p in (release / "geo").glob("*.geojson")
    }
    # the independent attacker, on the public files only
    result = attack(release)
    assert_sound(result, true_counts(settings.warehouse_path, release))
    assert_no_leak(result)
