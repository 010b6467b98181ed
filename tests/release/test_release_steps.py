"""The release's fixed costs kept small without changing what it does: the quality gates beside
the export and the audit (a blocking gate still stops the release, first), the lineage docs in a
process of their own beside the audit, the German tables and the PDFs (reading the warehouse
read-only; an error stops the release), and in a dbt target folder of their own (so that the
build's partial parse and the docs' stay valid)."""

from __future__ import annotations

import json
import shutil
from contextlib import nullcontext
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from data_quality import GateFailed, GateReport
from data_quality.beside import GatesBeside, GatesDidNotRun
from data_quality.gates import ExpectationResult
from orchestration.dbt_read_only import READ_ONLY_SETTING, Plugin
from orchestration.dbt_runner import DbtFailed
from orchestration.release import build as release_build
from orchestration.release.lineage import LINEAGE_TARGET, PARTIAL_PARSE, STATIC_INDEX, LineageBeside, lineage_target
from orchestration.release.lineage import MEMO_FOLDER as LINEAGE_MEMO
from orchestration.release.lineage import digest as lineage_digest
from orchestration.release.reproducible import scrub_lineage
from orchestration.release.store import MEMO_DIR
from tests.helpers import settings_for


def _report(*, blocked: bool) -> GateReport:
    result = ExpectationResult(
        suite="address_assignment", target="marts/x", expectation="expect_column_min_to_be_between",
        description="share of addresses assigned", severity="block", success=not blocked, observed="observed 95.0",
    )  # fmt: skip
    return GateReport(results=[result], config_path="gates.yml", config_sha256="0" * 64, checked_at="2026-12-01")


def test_gates_that_cannot_run_say_why_and_leave_nothing_behind(tmp_path):
    settings = settings_for(tmp_path)  # no warehouse there
    gates = GatesBeside(settings)
    with pytest.raises(GatesDidNotRun, match="does not exist"):
        gates()
    with pytest.raises(GatesDidNotRun, match="does not exist"):
        gates()  # waited for again (publish's error path does): the same error
    # a warehouse file its process cannot open: the child's own last line, and its folder is removed
    settings.warehouse_path.parent.mkdir()
    settings.warehouse_path.write_bytes(b"not a DuckDB file")
    gates = GatesBeside(settings)
    with pytest.raises(GatesDidNotRun, match="ended with code 1") as raised:
        gates()
    assert str(raised.value).endswith("it is not a valid DuckDB database file!")
    assert list(settings.warehouse_path.parent.iterdir()) == [settings.warehouse_path]


def test_a_blocking_gate_is_reported_before_the_error_of_a_step_beside_it():
    step = release_build.ReleaseRefused("the audit found a problem")
    with pytest.raises(GateFailed, match="blocking quality gate") as raised:
        release_build._gates_first(lambda: _report(blocked=True), step)
    assert raised.value.__cause__ is step
    # gates that pass, or that failed themselves, leave the step's own error to be raised
    release_build._gates_first(lambda: _report(blocked=False), step)

    def broken():
        raise OSError("gates broke")

    release_build._gates_first(broken, step)


def _release_build(settings, tmp: Path) -> SimpleNamespace:
    """What the release's lineage steps use of a release being built."""
    tmp.mkdir()
    return SimpleNamespace(
        settings=settings, stichtag=date(2024, 12, 31), tmp=tmp, seconds={}, said=[], lineage_memo=None,
        step=lambda *a: nullcontext(), say=lambda message: None,
    )  # fmt: skip


def test_the_lineage_docs_read_the_warehouse_beside_other_readers_and_are_kept_for_the_next_release(
    released_copy, tmp_path
):
    """dbt's docs run in a process of their own, read-only: a reader of the warehouse (the gates'
    process, the audit) does not keep them out, and the page is the lineage of the project. A
    published release keeps the page; the next one with the same project and catalog reads it
    (the same public bytes, no dbt), anything else makes it again."""
    settings = released_copy
    settings.releases_dir.joinpath(MEMO_DIR).mkdir(exist_ok=True)
    shutil.rmtree(settings.releases_dir / MEMO_DIR / LINEAGE_MEMO, ignore_errors=True)
    first = _release_build(settings, tmp_path / "first")
    assert release_build._kept_lineage(first) is None  # nothing kept yet
    reader = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        lineage = LineageBeside(settings)
        release_build._lineage(first, lineage, None)
    finally:
        reader.close()
    assert lineage.target == settings.dbt_target_dir / LINEAGE_TARGET
    page = (first.tmp / "lineage.html").read_text(encoding="utf-8")
    assert "model.sozialmonitor.fct_indicator_values" in page and first.seconds["lineage_process"] > 0
    kept = settings.releases_dir / MEMO_DIR / LINEAGE_MEMO
    assert not kept.exists()  # held until the release is published
    first.lineage_memo.keep()
    [entry] = kept.iterdir()
    # kept as published: none of the machine's folders in it
    assert str(settings.dbt_target_dir) not in entry.read_text(encoding="utf-8")

    # the next release: the page read, not made, with the same public bytes
    second = _release_build(settings, tmp_path / "second")
    public = release_build._kept_lineage(second)
    assert public == page and second.lineage_memo.hit
    release_build._lineage(second, None, public)
    assert (second.tmp / "lineage.html").read_bytes() == (first.tmp / "lineage.html").read_bytes()
    assert "lineage_process" not in second.seconds
    # another Stichtag's release: the kept page with that Stichtag's times, as dbt's page scrubbed for it
    other = _release_build(settings, tmp_path / "other")
    other.stichtag = date(2023, 12, 31)
    raw = (lineage.target / STATIC_INDEX).read_text(encoding="utf-8")
    roots = release_build._lineage_roots(settings)
    assert release_build._kept_lineage(other) == scrub_lineage(raw, roots, other.stichtag)
    assert release_build._kept_lineage(other) != page

    # a column described otherwise in the warehouse: another page (dbt's catalog shows the comment)
    column = "marts.fct_indicator_values.value"
    con = duckdb.connect(str(settings.warehouse_path))
    (described,) = con.execute(
        "select comment from duckdb_columns() where schema_name = 'marts' and table_name = 'fct_indicator_values' "
        "and column_name = 'value'"
    ).fetchone()
    con.execute(f"comment on column {column} is 'described otherwise'")
    con.close()
    assert release_build._kept_lineage(_release_build(settings, tmp_path / "third")) is None
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute(f"comment on column {column} is '{described.replace(chr(39), chr(39) * 2)}'")
    con.close()
    assert release_build._kept_lineage(_release_build(settings, tmp_path / "fourth")) == page  # as it was
    # a kept page that does not read as dbt's is made again
    entry.write_text("<html>half a page", encoding="utf-8")
    assert release_build._kept_lineage(_release_build(settings, tmp_path / "fifth")) is None


def test_the_lineage_digest_covers_the_projects_files_env_vars_and_catalog_and_nothing_else(tmp_path, monkeypatch):
    project = tmp_path / "dbt_project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "a.sql").write_text("select 1 as x -- {{ env_var('CITY_SETTING', 'x') }}\n")
    (project / "target").mkdir()
    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create table t (x integer)")
    con.close()
    (project / "generated" / "default").mkdir(parents=True)
    (project / "generated" / "default" / "seed.csv").write_text("a\n1\n")
    (project / "dbt_output").mkdir()  # dbt's target folder, named by SOZIALMONITOR_DBT_TARGET_DIR
    settings = SimpleNamespace(
        dbt_project_dir=project, dbt_target_dir=project / "dbt_output", project_dir=tmp_path, warehouse_path=warehouse,
        generated_dir=project / "generated" / "default", contracts_dir=tmp_path / "contracts", deployment_vars={},
        engine="duckdb", env=lambda: {},
    )  # fmt: skip
    monkeypatch.delenv("CITY_SETTING", raising=False)
    base = lineage_digest(settings)
    # dbt's own output in the project, and environment variables the project does not read: the same
    (project / "target" / "manifest.json").write_text("{}")
    (project / "dbt_output" / "manifest.json").write_text("{}")
    (project / "dbt_output" / "static_index.html").write_text("<html>")
    (project / ".user.yml").write_text("id: 1")
    (project / "logs").mkdir()
    (project / "logs" / "dbt.log").write_text("log")
    monkeypatch.setenv("SOZIALMONITOR_KILL_AT", "release:before-rename")
    (project / "generated" / "a_kreis").mkdir()  # another deployment's generated files
    (project / "generated" / "a_kreis" / "seed.csv").write_text("a\n2\n")
    assert lineage_digest(settings) == base
    (project / "generated" / "default" / "seed.csv").write_text("a\n3\n")  # this deployment's
    assert lineage_digest(settings) != base
    (project / "generated" / "default" / "seed.csv").write_text("a\n1\n")
    assert lineage_digest(settings) == base
    # what dbt reads: another
    monkeypatch.setenv("CITY_SETTING", "y")
    assert lineage_digest(settings) not in (base,)
    monkeypatch.delenv("CITY_SETTING")
    (project / "models" / "b.sql").write_text("select 2 as y\n")
    changed = lineage_digest(settings)
    assert changed != base
    settings.deployment_vars = {"public_levels": ["gemeinde"]}
    assert lineage_digest(settings) not in (base, changed)
    settings.deployment_vars = {}
    # the data tests and the contracts are part of it too
    (project / "tests").mkdir()
    (project / "tests" / "assert_none.sql").write_text("select 1 where false\n")
    tested = lineage_digest(settings)
    assert tested not in (base, changed)
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "register.yml").write_text("source: register\n")
    assert lineage_digest(settings) not in (base, changed, tested)
    con = duckdb.connect(str(warehouse))
    con.execute("alter table t add column y varchar")
    con.close()
    assert lineage_digest(settings) not in (base, changed)


def test_lineage_docs_that_fail_say_why_and_a_stopped_one_ends(tmp_path):
    settings = settings_for(tmp_path).with_paths(dbt_project_dir=tmp_path / "no_project")
    with pytest.raises(DbtFailed, match="lineage docs"):
        LineageBeside(settings).html()
    running = LineageBeside(settings)
    running.stop()
    code, _ = running._child.wait()
    assert code == -9  # killed, not ended on its own


def test_the_read_only_switch_is_read_when_dbt_connects(monkeypatch):
    plugin = Plugin(name="dbt_read_only", plugin_config={})
    config: dict = {}
    monkeypatch.delenv(READ_ONLY_SETTING, raising=False)
    plugin.update_connection_config(None, config)
    assert config == {}  # the build writes
    monkeypatch.setenv(READ_ONLY_SETTING, "1")
    plugin.update_connection_config(None, config)
    assert config == {"access_mode": "READ_ONLY"}


def test_lineage_target_is_a_folder_of_its_own_seeded_once_with_the_builds_parse(tmp_path: Path):
    import msgpack  # dbt's own dependency: its saved parse is msgpack

    settings = settings_for(tmp_path / "city")
    target = settings.dbt_target_dir
    target.mkdir(parents=True)

    def parse(text: str, folder: Path = settings.dbt_project_dir) -> bytes:
        """A saved parse in dbt's form as far as the check reads it: a seed and the folder it is loaded from."""
        seed = {"resource_type": "seed", "root_path": str(folder)}
        return msgpack.packb({"nodes": {"seed.sozialmonitor.s": seed}, "text": text})

    (target / PARTIAL_PARSE).write_bytes(parse("build parse 1"))
    docs = lineage_target(settings)
    assert docs == target / LINEAGE_TARGET and docs.is_dir()
    assert (docs / PARTIAL_PARSE).read_bytes() == parse("build parse 1")
    # later builds write their own parse; the docs keep theirs (dbt updates it when the project changes)
    (target / PARTIAL_PARSE).write_bytes(parse("build parse 2"))
    (docs / PARTIAL_PARSE).write_bytes(parse("docs parse"))
    lineage_target(settings)
    assert (docs / PARTIAL_PARSE).read_bytes() == parse("docs parse")
    # but not one made from another folder of the project (dbt_runner.made_elsewhere), nor seeded with one
    (docs / PARTIAL_PARSE).write_bytes(parse("docs parse", tmp_path / "other" / "dbt_project"))
    (target / PARTIAL_PARSE).write_bytes(parse("build parse 3", tmp_path / "other" / "dbt_project"))
    lineage_target(settings)
    assert not (docs / PARTIAL_PARSE).exists()


def test_lineage_target_without_a_build_parse(tmp_path: Path):
    docs = lineage_target(SimpleNamespace(dbt_target_dir=tmp_path / "t"))
    assert docs.is_dir() and not (docs / PARTIAL_PARSE).exists()


class _GatesStillRunning:
    """Gates whose process still runs until they are called: notes what the release's folder
    held when its report was awaited."""

    def __init__(self, releases_dir: Path, running: bool):
        self.releases_dir, self.running, self.folder_held = releases_dir, running, None

    def __call__(self) -> GateReport:
        if self.folder_held is None:
            [tmp] = self.releases_dir.glob(".tmp-*")
            self.folder_held = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
        self.running = False
        return _report(blocked=False)


def test_with_a_kept_lineage_page_the_documents_are_made_while_the_gates_still_run(released_copy):
    """Releases of earlier Stichtage of the released city, the gates' process still running when
    the documents could be made:
    - without a kept lineage page (2023-12-31) the documents wait for the gates' report, to be made
      beside dbt's docs; that release keeps its page;
    - with it (2021-12-31) the German tables, the atlas page and the PDFs are made before the
      report is awaited;
    - and they are the same files, byte for byte (but the DuckDB file, which never is), as the
      release of 2021-12-31 made again with gates that had ended first (documents after the
      report, as before).
    2021-12-31 lies before the test city's latest Gebietsstand (2022-01-01: Stadtviertel 0522 split
    into 0523 and 0524), on which the harmonised series are: the release's areas hold the units of
    both, so that its index is recomputed from the release alone (the audit refused it when the
    areas stopped at the Stichtag)."""
    settings = released_copy

    def publish(stichtag: date, running: bool) -> tuple[release_build.PublishResult, bool]:
        gates = _GatesStillRunning(settings.releases_dir, running)
        result = release_build.publish(settings, gates, stichtag=stichtag)
        assert result.created
        assert "quality/gates.json" not in gates.folder_held  # the report is written once it is in
        made_first = "LIESMICH.txt" in gates.folder_held and any(f.endswith(".xlsx") for f in gates.folder_held)
        return result, made_first

    result, made_first = publish(date(2023, 12, 31), running=True)
    assert not made_first and "lineage_process" in result.seconds  # no page kept yet: dbt's docs beside
    result, made_first = publish(date(2021, 12, 31), running=True)
    assert made_first and "lineage_process" not in result.seconds
    con = duckdb.connect()
    try:
        data = result.release.path / "data"
        units = con.execute(
            f"select area_id, valid_from::varchar, valid_to::varchar from '{data}/areas.parquet' "
            "where level = 'stadtviertel' and area_id in ('0522', '0523', '0524') order by 1"
        ).fetchall()
        series = con.execute(f"select distinct gebietsstand::varchar from '{data}/indicator_series.parquet'").fetchall()
    finally:
        con.close()
    assert units == [("0522", "2000-01-01", "2021-12-31"), ("0523", "2022-01-01", None), ("0524", "2022-01-01", None)]
    assert series == [("2022-01-01",)]
    path = result.release.path
    early = {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    release_build.make_writable(path.parent)
    shutil.rmtree(path.parent)  # this test's own copy: the same release made once more
    result, made_first = publish(date(2021, 12, 31), running=False)
    assert not made_first and result.release.path == path
    late = {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    assert sorted(early) == sorted(late)
    # every file byte for byte but the release's DuckDB file, whose pages are not byte-stable
    # (tests/release/test_metadata.py), and the manifest and its signature, which list its checksum
    differing = {name for name in early if early[name] != late[name]}
    assert differing <= {"sozialmonitor.duckdb", "manifest.json", "manifest.sig"}
    outputs = [json.loads(files["manifest.json"])["outputs"] for files in (early, late)]
    assert [[o for o in out if o["path"] != "sozialmonitor.duckdb"] for out in outputs] == [
        [o for o in outputs[1] if o["path"] != "sozialmonitor.duckdb"]
    ] * 2
