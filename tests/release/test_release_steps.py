"""The release's fixed costs kept small without changing what it does: the quality gates beside
the export and the audit (a blocking gate still stops the release, first), the lineage docs beside
the German tables and PDFs (errors still stop the release, and only once both have stopped), and in
a dbt target folder of their own (so that the build's partial parse and the docs' stay valid)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from data_quality import GateFailed, GateReport
from data_quality.beside import GatesBeside, GatesDidNotRun
from data_quality.gates import ExpectationResult
from orchestration.release import build as release_build
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


def _build_with(lineage):
    return SimpleNamespace(lineage=lineage)


def test_lineage_runs_beside_the_work_and_both_finish(monkeypatch):
    seen = []
    lineage_started = threading.Event()

    def lineage(_build):
        lineage_started.set()
        time.sleep(0.05)
        seen.append("lineage")

    def work():
        assert lineage_started.wait(5), "the lineage docs did not start beside the work"
        seen.append("work")

    monkeypatch.setattr(release_build, "_lineage", lineage)
    release_build._lineage_beside(_build_with(None), work)
    assert sorted(seen) == ["lineage", "work"]  # returns only once both are done


def test_an_error_of_the_work_is_raised_after_the_lineage_has_stopped(monkeypatch):
    stopped = []

    def lineage(_build):
        time.sleep(0.1)
        stopped.append(True)

    def work():
        raise RuntimeError("tables failed")

    monkeypatch.setattr(release_build, "_lineage", lineage)
    with pytest.raises(RuntimeError, match="tables failed"):
        release_build._lineage_beside(_build_with(None), work)
    assert stopped == [True]  # nothing still writes into the folder that is about to be discarded


def test_an_error_of_the_lineage_is_raised_in_the_calling_thread(monkeypatch):
    def lineage(_build):
        raise release_build.ReleaseRefused("dbt docs generate failed")

    monkeypatch.setattr(release_build, "_lineage", lineage)
    done = []
    with pytest.raises(release_build.ReleaseRefused, match="docs generate failed"):
        release_build._lineage_beside(_build_with(None), lambda: done.append(True))
    assert done == [True]


def test_lineage_target_is_a_folder_of_its_own_seeded_once_with_the_builds_parse(tmp_path: Path):
    target = tmp_path / "target"
    target.mkdir()
    (target / release_build.PARTIAL_PARSE).write_bytes(b"build parse 1")
    settings = SimpleNamespace(dbt_target_dir=target)
    docs = release_build._lineage_target(settings)
    assert docs == target / release_build.LINEAGE_TARGET and docs.is_dir()
    assert (docs / release_build.PARTIAL_PARSE).read_bytes() == b"build parse 1"
    # later builds write their own parse; the docs keep theirs (dbt updates it when the project changes)
    (target / release_build.PARTIAL_PARSE).write_bytes(b"build parse 2")
    (docs / release_build.PARTIAL_PARSE).write_bytes(b"docs parse")
    release_build._lineage_target(settings)
    assert (docs / release_build.PARTIAL_PARSE).read_bytes() == b"docs parse"


def test_lineage_target_without_a_build_parse(tmp_path: Path):
    docs = release_build._lineage_target(SimpleNamespace(dbt_target_dir=tmp_path / "t"))
    assert docs.is_dir() and not (docs / release_build.PARTIAL_PARSE).exists()
