"""Releases: what `make run` ends with, what they hold, that nobody can change them unnoticed, and
that a correction becomes a new version. (That the same inputs give the same bytes, every file of
the release, is shown by two builds of the test city in two places: the CLI's and Dagster's,
tests/orchestration/test_one_pipeline.py.)"""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from data_quality import GateFailed
from orchestration.cli import app
from orchestration.ingest import IngestFailed
from orchestration.ingest.contracts import load_contracts
from orchestration.ingest.loader import discover, sha256_file
from orchestration.pipeline import gate_and_publish, run_pipeline
from orchestration.release import ReleaseRefused, diff, find_release, list_releases, verify
from orchestration.release import build as release_build
from orchestration.release.disclosure_audit import proofs_path
from orchestration.release.gis import MEMO_FOLDER
from orchestration.release.lineage import MEMO_FOLDER as LINEAGE_MEMO
from orchestration.release.lineage import digest as lineage_digest
from orchestration.release.store import MEMO_DIR
from tests.helpers import accept_as_demo, published_gates, tree_digest

runner = CliRunner()


def test_the_run_ends_with_a_release_that_verifies(built_city):
    settings = built_city
    release = find_release(settings.releases_dir, "latest")
    assert release.id == "2024-12-31/v1"
    assert verify(release) == []
    m = release.manifest()

    # inputs: every extract in raw/, with the checksum of the very file
    extracts, _ = discover(settings, load_contracts(settings.contracts_dir, settings.project_vars))
    assert len(m["inputs"]) == len(extracts)
    by_file = {i["file"]: i["sha256"] for i in m["inputs"]}
    for e in extracts:
        assert by_file[e.path.relative_to(settings.raw_dir).as_posix()] == sha256_file(e.path)

    # outputs: every file of the release, each with its checksum
    paths = {o["path"] for o in m["outputs"]}
    for expected in (
        "sozialmonitor.duckdb",
        "data/indicator_values.parquet",
        "data/areas.parquet",
        "data/indicator_catalogue.parquet",
        "geo/stadtteil.geojson",
        "geo/sozialraum.geojson",
        "lineage.html",
        "quality/gates.html",
        "quality/gates.json",
        "LIESMICH.txt",
        "tabellen/stadtteil.xlsx",
        "tabellen/stadtteil.csv",
        "kennzahlenkatalog.html",
        "atlas/index.html",
        "atlas/data.js",
    ):
        assert expected in paths
    assert m["code"]["git_commit"] and m["tools"]["duckdb"] == duckdb.__version__
    assert m["tools"]["engine"] == "duckdb" and m["tools"]["dbt_target"] == "local"  # what built the tables
    assert m["gates"]["outcome"] in ("passed", "passed_with_warnings")
    assert m["rules"]["disclosure"]["method"] == "suppression"
    assert "default 3" in m["rules"]["disclosure"]["primary"]["count_below"]
    assert m["disclosure_audit"]["passed"] is True
    assert m["public_tables"]["indicator_values"]["rows"] > 0

    # the lineage docs and the gate report read offline: no external references
    for page in ("lineage.html", "quality/gates.html", "kennzahlenkatalog.html"):
        text = (release.path / page).read_text(encoding="utf-8")
        assert "https://cdn" not in text and '<script src="http' not in text

    # GeoJSON in WGS84 with one feature per unit
    geo = json.loads((release.path / "geo" / "stadtteil.geojson").read_text(encoding="utf-8"))
    geometry = geo["features"][0]["geometry"]
    rings = geometry["coordinates"] if geometry["type"] == "Polygon" else geometry["coordinates"][0]
    lon, lat = rings[0][0]
    assert 5 < lon < 16 and 47 < lat < 56
    assert len(geo["features"]) == m["geo"]["stadtteil"]["features"]

    # the release is read-only on disk
    assert not (release.path / "manifest.json").stat().st_mode & 0o222


def test_public_tables_hold_no_baublock_and_no_small_counts(built_city):
    release = find_release(built_city.releases_dir, "latest")
    con = duckdb.connect(str(release.path / "sozialmonitor.duckdb"), read_only=True)
    try:
        levels = {r[0] for r in con.execute("select distinct level from indicator_values").fetchall()}
        assert "baublock" not in levels and "stadtteil" in levels
        small = con.execute(
            "select count(*) from indicator_values v join indicator_catalogue c using (indicator_id) "
            "where (c.disclosure_rule = 'count' and numerator between 1 and 2) or denominator between 1 and 2"
        ).fetchone()[0]
        assert small == 0
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        assert not any(t.startswith(("stg_", "int_", "raw")) for t in tables)
        assert con.execute("select count(*) from indicators_stadtteil").fetchone()[0] > 0
        assert con.execute("select max(stichtag) from indicator_values").fetchone()[0].isoformat() == "2024-12-31"
    finally:
        con.close()


def test_verify_notices_any_change_to_a_release(released_copy):
    settings = released_copy
    release = find_release(settings.releases_dir, "latest")
    assert runner.invoke(app, ["release", "verify"], env=settings.env()).exit_code == 0
    target = release.path / "data" / "indicator_values.parquet"
    release.path.joinpath("data").chmod(0o755)
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    (release.path / "data" / "extra.csv").write_text("a,b\n")
    problems = verify(release)
    assert any("indicator_values.parquet: checksum" in p for p in problems)
    assert any("extra.csv: not in the manifest" in p for p in problems)
    result = runner.invoke(app, ["release", "verify", release.id], env=settings.env())
    assert result.exit_code == 1 and "problem" in result.output


def test_a_correction_for_a_released_stichtag_needs_force_and_becomes_a_new_version(released_copy, monkeypatch):
    settings = released_copy
    before = tree_digest(settings.releases_dir)
    path = settings.raw_dir / "wohngeld" / "Wohngeld_20221231.csv"
    data = path.read_bytes()
    lines = data.split(b"\r\n")
    corrected = b"\r\n".join(lines[:4] + lines[5:])  # the Wohngeldstelle withdrew one record
    path.write_bytes(corrected)

    with pytest.raises(IngestFailed, match="already released"):
        run_pipeline(settings)
    assert tree_digest(settings.releases_dir) == before

    # the engineer puts the corrected file back and publishes the correction on purpose
    [quarantined] = [p for p in (settings.quarantine_dir / "wohngeld").iterdir() if p.suffix == ".csv"]
    shutil.move(quarantined, path)
    accept_as_demo(settings.raw_dir, path)  # the corrected file stands for the generator's own
    summary = run_pipeline(settings, force_release=True)
    assert summary.release.created and summary.release.release.id == "2024-12-31/v2"
    assert [r.id for r in list_releases(settings.releases_dir)] == ["2024-12-31/v1", "2024-12-31/v2"]
    v1, v2 = find_release(settings.releases_dir, "2024-12-31/v1"), find_release(settings.releases_dir, "latest")
    assert v2.id == "2024-12-31/v2" and v2.manifest()["supersedes"] == "2024-12-31/v1"
    assert verify(v1) == [] and verify(v2) == []
    # the Gebietsstand is the same: v2's unit polygons are v1's, read from the memo v1 left (GIS
    # files with the values of 2024, which the correction of 2022 did not change: the same bytes)
    assert [p.suffix for p in (settings.releases_dir / MEMO_DIR / MEMO_FOLDER).iterdir()] == [".parquet"]
    assert v2.manifest()["geopackage"]["sha256"] == v1.manifest()["geopackage"]["sha256"]
    # the project and the warehouse's catalog are the same: the same lineage page, made in another
    # folder or read from the memo (release/lineage.py)
    assert (v2.path / "lineage.html").read_bytes() == (v1.path / "lineage.html").read_bytes()
    assert (settings.releases_dir / MEMO_DIR / LINEAGE_MEMO / f"{lineage_digest(settings)}.html").is_file()
    # the Stichtage the correction left alone are proven protected by v1's proofs, checked again,
    # the corrected one by its new pattern's proofs (tests/disclosure/test_audit_proofs.py): no more
    # programmes than v1's audit, which had the pattern's proofs of every Stichtag; they show true
    # values: kept beside the warehouse
    first_audit, audit = v1.manifest()["disclosure_audit"], v2.manifest()["disclosure_audit"]
    assert audit["passed"] and audit["linear_programmes"] <= first_audit["linear_programmes"]
    assert proofs_path(settings.warehouse_path).is_file()
    assert not [p for p in settings.releases_dir.rglob("*") if "proof" in p.name]

    change = diff(v1, v2)
    assert change["inputs_changed"] == [
        "~ wohngeld 2022-12-31: wohngeld/Wohngeld_20221231.csv → wohngeld/Wohngeld_20221231.csv (new checksum)"
    ]
    changed_days = {str(row["stichtag"]) for row in change["largest"]}
    assert changed_days <= {"2022-12-31"}
    result = runner.invoke(app, ["release", "diff", "2024-12-31/v1", "latest"], env=settings.env())
    assert result.exit_code == 0 and "wohngeld" in result.output

    # the same build again publishes nothing new (and audits nothing: v2 was audited when it was made)
    monkeypatch.setattr(release_build, "audit_release", lambda *a, **k: pytest.fail("nothing new was audited again"))
    again = run_pipeline(settings)
    assert again.release.created is False
    # v2 came from the build before: its cells are that build's own, so dbt had nothing to build
    assert again.build.unchanged, again.build.describe()


def test_a_failing_blocking_gate_stops_the_release(released_copy, tmp_path, monkeypatch):
    settings = released_copy
    before = tree_digest(settings.releases_dir)
    strict = tmp_path / "strict_gates.yml"
    config = (settings.project_dir / "data_quality" / "gates.yml").read_text()
    strict.write_text(config.replace("block_below: 97.0", "block_below: 99.99"))
    monkeypatch.setenv("SOZIALMONITOR_GATES_CONFIG", str(strict))
    with pytest.raises(GateFailed) as exc:
        run_pipeline(settings)
    assert "address_assignment" in str(exc.value)
    assert tree_digest(settings.releases_dir) == before
    with pytest.raises(GateFailed):
        gate_and_publish(settings)
    assert tree_digest(settings.releases_dir) == before
    result = runner.invoke(app, ["gates", "--suite", "address_assignment"], env=settings.env())
    assert result.exit_code == 5 and "blocked" in result.output


def test_release_create_refuses_different_numbers_without_force(released_copy, monkeypatch):
    settings = released_copy
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("update public.indicator_values set value = value + 1 where indicator_id = 'sgb2_quote'")
    con.close()
    # a release refused for want of --force needs no lineage docs: their process is not started
    monkeypatch.setattr(release_build, "LineageBeside", lambda *a: pytest.fail("lineage docs of a refused release"))
    with pytest.raises(ReleaseRefused, match="already released as 2024-12-31/v1"):
        release_build.publish(settings, published_gates(settings))  # the marts as released: their gates
    monkeypatch.undo()
    result = runner.invoke(app, ["release", "create"], env=settings.env())
    assert result.exit_code == 6 and "--force" in result.output


def test_release_create_takes_an_earlier_stichtag_only_one_the_warehouse_has(released_copy):
    """`release create --stichtag` publishes an earlier Stichtag (tests/release/test_release_steps.py
    makes such releases); a date that is no Stichtag of the warehouse is refused, naming those it has,
    since the release would show the Stichtage before it under its date."""
    env = released_copy.env()
    result = runner.invoke(app, ["release", "create", "--stichtag", "31.13.2024"], env=env)
    assert result.exit_code == 2 and "2024-12-31 or 31.12.2024" in result.output
    result = runner.invoke(app, ["release", "create", "--stichtag", "30.06.2024"], env=env)
    assert result.exit_code == 6, result.output
    assert "no values for the Stichtag 30.06.2024" in result.output and "31.12.2023, 31.12.2024" in result.output
    assert [r.id for r in list_releases(released_copy.releases_dir)] == ["2024-12-31/v1"]


def test_release_list_and_show(built_city):
    result = runner.invoke(app, ["release", "list"], env=built_city.env())
    assert result.exit_code == 0 and "2024-12-31/v1" in result.output and "latest" in result.output
    result = runner.invoke(app, ["release", "show", "2024-12-31"], env=built_city.env())
    assert result.exit_code == 0
    assert "register_persons" in result.output and "indicator_values" in result.output
    result = runner.invoke(app, ["release", "show", "2019-12-31"], env=built_city.env())
    assert result.exit_code == 1 and "no release" in result.output


def _own_dbt_project(settings, tmp_path, generated: bool = False):
    """`settings` with a copy of the dbt project to change (the manifest in the city's target stays);
    with the files generated from the catalogue when `generated` (else a parse renders them)."""
    copy = tmp_path / "dbt_project"
    left_out = ("target", "logs") if generated else ("target", "logs", "generated")
    shutil.copytree(settings.dbt_project_dir, copy, ignore=shutil.ignore_patterns(*left_out))
    return settings.with_paths(dbt_project_dir=copy)


def test_what_is_no_reviewed_dbt_model_never_leaves_the_warehouse(released_copy):
    """The schema `public` may hold only the reviewed dbt models, with exactly their contracts' columns."""
    settings = released_copy
    before = tree_digest(settings.releases_dir)
    gates = published_gates(settings)  # the marts stay as released: their gates' report

    def refused_after(*statements: str, match: str, gates_beside: bool = False) -> None:
        con = duckdb.connect(str(settings.warehouse_path))
        for statement in statements:
            con.execute(statement)
        con.close()
        with pytest.raises(ReleaseRefused, match=match):
            gate_and_publish(settings) if gates_beside else release_build.publish(settings, gates)

    # the first as a run refuses it, the gates' process beside it: when the refusal comes, that
    # process has let go of the warehouse (the next statements write to it)
    refused_after(
        "create table public.person_list as select 'K0001' as person_key",
        match=r"public\.person_list is no dbt model of the manifest",
        gates_beside=True,
    )
    refused_after(
        "drop table public.person_list",
        "alter table public.areas add column person_key varchar",
        match=r"public\.areas does not have .*columns not in the contract: person_key",
    )
    # a view is refused too, not skipped
    refused_after(
        "alter table public.areas drop column person_key",
        "create view public.person_view as select 'K0001' as person_key",
        match=r"public\.person_view: a view in the schema public",
    )
    assert tree_digest(settings.releases_dir) == before


def test_a_public_model_without_the_review_mark_refuses_the_release(released_copy, tmp_path):
    """A model put into `public` by mistake - Baublock counts, with a contract - is built by dbt but
    never published: its yml entry has no disclosure-review mark, and the message says what to do."""
    from orchestration.pipeline import run_dbt

    settings = _own_dbt_project(released_copy, tmp_path)
    before = tree_digest(settings.releases_dir)
    public = settings.dbt_project_dir / "models" / "public"
    (public / "pub_block_persons.sql").write_text(
        "select block_id, cast(count(*) as bigint) as persons\n"
        "from {{ ref('int_persons_assigned_to_blocks') }}\ngroup by block_id\n",
        encoding="utf-8",
    )
    (public / "_block_persons.yml").write_text(
        """version: 2
models:
  - name: pub_block_persons
    config:
      contract: {enforced: true}
    columns:
      - name: block_id
        data_type: varchar
      - name: persons
        data_type: bigint
""",
        encoding="utf-8",
    )
    run_dbt(settings, ["run", "--select", "pub_block_persons"])  # writes the manifest, as the pipeline's run does
    with pytest.raises(ReleaseRefused) as exc:
        release_build.publish(settings, published_gates(settings))  # the marts as released: their gates
    message = str(exc.value)
    assert "public.pub_block_persons (model pub_block_persons) has no disclosure-review mark" in message
    assert "meta: {disclosure: reviewed}" in message
    assert tree_digest(settings.releases_dir) == before


def test_a_release_needs_the_manifest_of_the_dbt_run(released_copy, tmp_path):
    settings = released_copy
    before = tree_digest(settings.releases_dir)
    gates = published_gates(settings)  # the marts stay as released: their gates' report
    # a model changed since dbt built the warehouse: the manifest no longer says what is published
    changed = _own_dbt_project(settings, tmp_path, generated=True)  # only the model below differs
    areas = changed.dbt_project_dir / "models" / "public" / "pub_areas.sql"
    areas.write_text(areas.read_text(encoding="utf-8") + "-- changed\n", encoding="utf-8")
    with pytest.raises(ReleaseRefused, match=r"manifest .* is stale: models/public/pub_areas.sql changed"):
        release_build.publish(changed, gates)
    # no manifest at all
    (settings.dbt_target_dir / "manifest.json").unlink()
    with pytest.raises(ReleaseRefused, match="there is no dbt manifest"):
        release_build.publish(settings, gates)
    result = runner.invoke(app, ["release", "create"], env=settings.env())
    assert result.exit_code == 6 and "no dbt manifest" in result.output
    assert tree_digest(settings.releases_dir) == before
