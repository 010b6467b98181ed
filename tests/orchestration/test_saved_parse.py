"""A new warehouse starts from the checkout's saved dbt parse (orchestration/dbt_runner.py): dbt's
check of its saved parse leaves the warehouse file's path out, nothing else, and the manifest it
then uses is the one a full parse makes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration import dbt_runner
from orchestration.pipeline import run_dbt
from tests.helpers import own_kreis_vars, remove_deployment_files, settings_for


def parsed_files(settings) -> int:
    """How many files dbt's last parse in the settings' target folder parsed (0: its saved parse as
    it was)."""
    return json.loads((settings.dbt_target_dir / "perf_info.json").read_text("utf-8"))["parsed_path_count"]


def nodes(settings) -> dict:
    """The manifest's nodes, macros and sources: everything but its metadata (invocation, time)."""
    manifest = json.loads((settings.dbt_target_dir / "manifest.json").read_text("utf-8"))
    return {key: manifest[key] for key in ("nodes", "macros", "sources", "unit_tests", "parent_map")}


def test_a_new_warehouse_starts_from_the_saved_parse_and_gets_the_same_manifest(tmp_path):
    first = settings_for(tmp_path / "first")
    run_dbt(first, ["parse", "--quiet"])
    shared = dbt_runner.shared_parse(first)
    # the checkout's default place: the one dagster-dbt also starts its target folders from
    assert shared == first.dbt_project_dir / "target" / dbt_runner.PARTIAL_PARSE
    assert shared.exists() and (first.dbt_target_dir / dbt_runner.PARTIAL_PARSE).exists()

    # another warehouse file in another folder, a target folder without a parse of its own
    second = settings_for(tmp_path / "second")
    assert second.warehouse_path != first.warehouse_path
    assert not second.dbt_target_dir.exists()
    run_dbt(second, ["parse", "--quiet"])
    assert parsed_files(second) == 0, "dbt parsed the project again for a warehouse in another place"
    assert nodes(second) == nodes(first)
    assert {node["database"] for node in nodes(second)["nodes"].values()} == {"sozialmonitor"}


def test_dbt_logs_into_the_deployments_target_folder_at_level_info(tmp_path, monkeypatch):
    """dbt's log file goes to the deployment's dbt target folder (not the checkout's
    dbt_project/logs/, shared by every deployment), without dbt's debug lines (every statement);
    DBT_LOG_LEVEL_FILE / DBT_LOG_PATH set by whoever runs it still win."""
    monkeypatch.delenv("DBT_LOG_LEVEL_FILE", raising=False)
    monkeypatch.delenv("DBT_LOG_PATH", raising=False)
    settings = settings_for(tmp_path / "city")
    run_dbt(settings, ["parse", "--quiet"])
    log = (settings.dbt_target_dir / "logs" / "dbt.log").read_text("utf-8")
    assert "Running with dbt=" in log  # an info line
    assert "[debug]" not in log
    # this invocation (the manifest it wrote names it) logged here, not into the checkout's log, which
    # another test's dbt in the other worker could write at the same time (none of the suite's should)
    manifest = json.loads((settings.dbt_target_dir / "manifest.json").read_text("utf-8"))
    invocation = manifest["metadata"]["invocation_id"]
    assert invocation in log
    checkout_log = settings.dbt_project_dir / "logs" / "dbt.log"
    assert not checkout_log.exists() or invocation not in checkout_log.read_text("utf-8", errors="replace")
    assert "DBT_LOG_LEVEL_FILE" not in os.environ  # scoped to the dbt call

    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "own_logs"))
    run_dbt(settings, ["parse", "--quiet"])
    assert "[debug]" in (tmp_path / "own_logs" / "dbt.log").read_text("utf-8")


@pytest.mark.slow
def test_what_enters_the_parse_is_still_checked(tmp_path):
    """A warehouse file of another name is another database to dbt-duckdb: its models' relations
    differ, so dbt parses in full and keeps that parse apart from the default one."""
    settings = settings_for(tmp_path / "city")
    run_dbt(settings, ["parse", "--quiet"])  # the default parse, saved

    other = settings.with_paths(
        warehouse_path=tmp_path / "other" / "warehouse" / "statistik.duckdb", dbt_target_dir=tmp_path / "other" / "t"
    )
    # a run of this test before left the checkout a parse for this database name: without it, the
    # only saved parse there is to start from is the default one, which must not serve
    dbt_runner.shared_parse(other).unlink(missing_ok=True)
    run_dbt(other, ["parse", "--quiet"])
    assert parsed_files(other) > 0
    assert {node["database"] for node in nodes(other)["nodes"].values()} == {"statistik"}
    assert dbt_runner.shared_parse(other) != dbt_runner.shared_parse(settings)
    assert dbt_runner.shared_parse(other).exists()  # kept apart: the default one stays the default's


def test_a_parse_made_from_another_folder_of_the_project_is_never_used(tmp_path, monkeypatch):
    """A target folder that another clone of the project built in (a warehouse two checkouts used)
    holds a parse with that clone's folder: dbt's check of a saved parse compares the files'
    checksums, not their folder, and loaded the seeds from the other clone ("No files found" once it
    was gone; the checkout's shared parse then passed the paths on to every new warehouse). Such a
    parse is removed before dbt runs, never shared, never started from, and never copied into the
    lineage docs' folder."""
    from orchestration.release.lineage import lineage_target

    settings = settings_for(tmp_path / "city")
    run_dbt(settings, ["parse", "--quiet"])
    own = settings.dbt_target_dir / dbt_runner.PARTIAL_PARSE
    good = own.read_bytes()
    assert not dbt_runner.made_elsewhere(own, settings)
    # what the other clone's dbt wrote: the same parse with its folder (one of the same length, so
    # that the file stays readable as dbt's msgpack)
    here = str(settings.dbt_project_dir).encode()
    foreign = good.replace(here, b"/" + b"x" * (len(here) - 1))
    assert foreign != good
    own.write_bytes(foreign)
    assert dbt_runner.made_elsewhere(own, settings) and dbt_runner.is_stale(own, settings)
    # as this checkout's dbt left such a parse: the files it parsed again with this folder, the
    # seeds still loaded from the other one
    import msgpack  # dbt's own dependency: its saved parse is msgpack

    other = "/" + "x" * (len(here) - 1)
    key = msgpack.packb("root_path")
    mixed = good.replace(key + msgpack.packb(here.decode()), key + msgpack.packb(other))
    assert mixed != good and here in mixed
    own.write_bytes(mixed)
    assert dbt_runner.made_elsewhere(own, settings)
    # a value `root_path` (a column's name, say) is no folder of a seed
    seed = {"resource_type": "seed", "root_path": here.decode()}
    column = {"name": "root_path", "description": "a column"}
    own.write_bytes(msgpack.packb({"nodes": {"seed.sozialmonitor.s": seed}, "columns": column}))
    assert not dbt_runner.made_elsewhere(own, settings)
    own.write_bytes(foreign)

    # the checkout's shared parse (a place of this test's own): not replaced by it, nor started from
    shared = tmp_path / "checkout" / dbt_runner.PARTIAL_PARSE
    shared.parent.mkdir()
    monkeypatch.setattr(dbt_runner, "shared_parse", lambda _settings, _target=dbt_runner.DUCKDB_TARGET: shared)
    dbt_runner.keep_shared_parse(settings)
    assert not shared.exists()
    # nor copied into the lineage docs' folder, whose own such parse goes too
    docs = lineage_target(settings) / dbt_runner.PARTIAL_PARSE
    assert not docs.exists()
    docs.write_bytes(foreign)
    lineage_target(settings)
    assert not docs.exists()

    # removed before dbt runs (pipeline.prepare_dbt); a shared one made elsewhere is not started from
    dbt_runner.drop_stale_parses(settings)
    assert not own.exists()
    shared.write_bytes(foreign)
    dbt_runner.start_from_shared_parse(settings)
    assert not own.exists()

    # from the checkout's own parse, dbt's seeds are this folder's again
    shared.write_bytes(good)
    run_dbt(settings, ["parse", "--quiet"])
    assert parsed_files(settings) == 0
    manifest = json.loads((settings.dbt_target_dir / "manifest.json").read_text("utf-8"))
    seeds = [node for node in manifest["nodes"].values() if node["resource_type"] == "seed"]
    assert seeds and {node["root_path"] for node in seeds} == {str(settings.dbt_project_dir)}
    assert not dbt_runner.made_elsewhere(own, settings)


def test_a_spark_build_starts_from_the_saved_parse_of_its_target(tmp_path):
    """A Spark build empties its target folder in the lake every time (spark_build.BUILD_FOLDERS):
    it starts from the checkout's parse for the Spark target, kept apart from DuckDB's, whatever
    the lake's path (dbt-spark's check never held it; the lake enters the parse through a macro's
    env_var, which dbt checks itself)."""
    pytest.importorskip("dbt.adapters.spark")
    from orchestration.dbt_runner import scoped_environment
    from orchestration.settings import LAKE_SETTING
    from orchestration.spark_build import SPARK_TARGET, spark_settings

    def parse(name: str):
        settings = settings_for(tmp_path / name)
        spark = spark_settings(settings)
        with scoped_environment({LAKE_SETTING: str(settings.lake)}):
            run_dbt(spark, ["parse", "--quiet", "--target", SPARK_TARGET])
        return spark

    first, second = parse("first"), parse("second")
    assert first.lake != second.lake
    assert parsed_files(second) == 0
    assert nodes(second) == nodes(first)
    assert dbt_runner.shared_parse(second, SPARK_TARGET) != dbt_runner.shared_parse(second)


@pytest.mark.slow
def test_the_dagster_dbt_child_keeps_the_saved_parse_too(tmp_path, monkeypatch):
    """The Dagster dbt asset runs dbt as a child process (dagster-dbt) through `sozialmonitor-dbt`,
    which checks the saved parse as `run_dbt` does: a target folder given the checkout's parse (as
    dagster-dbt gives its own folders) and a new warehouse file parse nothing."""
    monkeypatch.delenv("DBT_LOG_PATH", raising=False)  # as dagster-dbt's child would not see it
    first = settings_for(tmp_path / "first")
    # the definitions' module builds those of the environment's settings when it is imported: these,
    # parsed first (the checkout's own target may hold no manifest yet, as in a fresh clone)
    for key, value in first.env().items():
        monkeypatch.setenv(key, value)
    run_dbt(first, ["parse", "--quiet"])
    from orchestration.definitions import build_definitions

    executable = build_definitions(first).resources["dbt"].dbt_executable
    assert Path(executable).name == "sozialmonitor-dbt"

    child = settings_for(tmp_path / "child")
    child.dbt_target_dir.mkdir(parents=True)
    (child.dbt_target_dir / dbt_runner.PARTIAL_PARSE).write_bytes(dbt_runner.shared_parse(first).read_bytes())
    done = subprocess.run(
        [executable, "parse", "--quiet", *dbt_runner.dbt_args(child, [])],
        env={**os.environ, **child.env()},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert parsed_files(child) == 0
    assert nodes(child) == nodes(first)
    # without dagster-dbt's log path, into the deployment's target folder, as `run_dbt` logs
    log = (child.dbt_target_dir / "logs" / "dbt.log").read_text("utf-8")
    assert "Running with dbt=" in log and "[debug]" not in log

    # the plain `dbt` beside it checks the path, as dbt does: a full parse (the behaviour the
    # wrapper exists for; if dbt itself stopped checking the path, the wrapper could go)
    plain = settings_for(tmp_path / "plain")
    plain.dbt_target_dir.mkdir(parents=True)
    (plain.dbt_target_dir / dbt_runner.PARTIAL_PARSE).write_bytes(dbt_runner.shared_parse(first).read_bytes())
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "parse", "--quiet", *dbt_runner.dbt_args(plain, [])],
        # dbt alone logs into the project's logs/ folder: the checkout's, which the suite keeps clean
        env={**os.environ, **plain.env(), "DBT_LOG_PATH": str(plain.dbt_target_dir / "logs")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert parsed_files(plain) > 0


@pytest.mark.slow
def test_a_model_file_added_beside_its_documentation_gets_it(tmp_path, request):
    """dbt's saved parse does not give a model file added later the description and data tests
    that a YAML file it already parsed holds for it (dbt-core issue 10461). A deployment of a
    checkout from before the wide views were generated per level has exactly that: the
    documentation of `indicators_kreis` without its model. Saved parses older than the generated
    models are dropped before dbt runs, and dbt parses in full."""
    vars_file = own_kreis_vars(tmp_path, "tests/orchestration/test_saved_parse.py")
    settings = settings_for(tmp_path / "kreis").with_paths(vars_file=vars_file)
    request.addfinalizer(lambda: remove_deployment_files(settings))
    model = settings.generated_dir / "models" / "marts" / "indicators_kreis.sql"
    test_prefix = "test.sozialmonitor.unique_combination_indicators_kreis_"

    def child_parse(full: bool = False) -> dict:
        """dbt as the Dagster asset's child runs it: the generated files as they are, not rendered;
        `full`: without a saved parse to start from (dbt saves the one it makes)."""
        if full:
            (settings.dbt_target_dir / dbt_runner.PARTIAL_PARSE).unlink()
        done = subprocess.run(
            [str(Path(sys.executable).parent / "sozialmonitor-dbt"), "parse", "--quiet",
             *dbt_runner.dbt_args(settings, [])],
            env={**os.environ, **settings.env()}, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return nodes(settings)["nodes"]

    run_dbt(settings, ["parse", "--quiet"])
    assert any(key.startswith(test_prefix) for key in nodes(settings)["nodes"])
    rendered = model.read_text("utf-8")
    model.unlink()  # what such a checkout left: the documentation, no model; dbt's parse saved
    assert "model.sozialmonitor.indicators_kreis" not in child_parse(full=True)

    model.write_text(rendered, "utf-8")  # dbt alone, from its saved parse: the model, undocumented
    found = child_parse()
    assert found["model.sozialmonitor.indicators_kreis"]["description"] == ""
    assert not any(key.startswith(test_prefix) for key in found), "dbt fixed issue 10461: the workaround may go"

    for written_by in ("the generated files", "a run that died before dbt ran"):
        model.unlink()
        child_parse(full=True)  # the saved parse again: without the model
        if written_by != "the generated files":
            model.write_text(rendered, "utf-8")  # the model is there, nothing new to render
        run_dbt(settings, ["parse", "--quiet"])  # the saved parse predates the model: dropped
        assert parsed_files(settings) > 0, written_by
        found = nodes(settings)["nodes"]
        assert found["model.sozialmonitor.indicators_kreis"]["description"].startswith("Wide view"), written_by
        assert any(key.startswith(test_prefix) for key in found), written_by
        assert not dbt_runner.is_stale(settings.dbt_target_dir / dbt_runner.PARTIAL_PARSE, settings)
