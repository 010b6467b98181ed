"""The order in which dbt's threads take ready nodes (dbt_runner.longest_path_first): the longest
remaining path first, in the seconds of the latest build that ran each node, instead of dbt's lowest
topological level. On dbt-core's own GraphQueue, drained by one thread as dbt's workers drain it."""

from __future__ import annotations

import json
import os
from argparse import Namespace
from types import SimpleNamespace

import networkx as nx
import pytest
from dbt import flags
from dbt.graph.queue import GraphQueue

from orchestration import dbt_runner
from orchestration.dbt_runner import NODE_SECONDS, RUN_RESULTS, longest_path_first, remember_node_seconds


class Nodes:
    """What the queue asks of dbt's manifest: the node behind an id (`get`)."""

    def expect(self, unique_id):
        return SimpleNamespace(unique_id=unique_id)


def graph() -> nx.DiGraph:
    # the shape of the Berlin-size build where the pattern waited: when `cells` is done, the marts'
    # test (a lower level) and the pattern (on the longest path) are ready at once
    g = nx.DiGraph()
    g.add_edges_from(
        [
            ("model.p.base", "test.p.unique_fct"),
            ("model.p.base", "model.p.cells"),
            ("model.p.cells", "model.p.pattern"),
            ("model.p.pattern", "model.p.index"),
            ("model.p.index", "test.p.index_classes"),
        ]
    )
    return g


def drained(scores) -> list[str]:
    """The order in which one thread gets the nodes from dbt's queue with `scores`."""
    queue = GraphQueue.__new__(GraphQueue)
    queue._get_scores = lambda g: scores(queue, g)
    queue.__init__(graph(), Nodes(), set(graph()))
    order = []
    while not queue.empty():
        node = queue.get(block=False)
        order.append(node.unique_id)
        queue.mark_done(node.unique_id)
    return order


@pytest.fixture
def target(tmp_path, monkeypatch):
    """A dbt invocation's target folder; dbt's scores patched for this test only (the loop that
    takes a node per free thread stays applied, as every `run_dbt` applies it)."""
    monkeypatch.setattr(flags, "GLOBAL_FLAGS", Namespace(TARGET_PATH=str(tmp_path), PROJECT_DIR=None))
    monkeypatch.delenv(dbt_runner.TARGET_ENV, raising=False)
    own = getattr(GraphQueue._get_scores, "dbt_scores", GraphQueue._get_scores)
    monkeypatch.setattr(GraphQueue, "_get_scores", own)
    longest_path_first()
    dbt_runner.a_node_per_free_thread()
    return tmp_path


def build_results(
    target, seconds: dict[str, float], which: str = "build", status: str = "success", **args
) -> None:  # fmt: skip
    """A run_results.json as this process's last dbt invocation writes it, then remembered."""
    from dbt_common.invocation import get_invocation_id

    results = [{"unique_id": node, "execution_time": s, "status": status} for node, s in seconds.items()]
    data = {"metadata": {"invocation_id": get_invocation_id()}, "args": {"which": which, **args}, "results": results}
    (target / RUN_RESULTS).write_text(json.dumps(data), encoding="utf-8")
    remember_node_seconds(target / RUN_RESULTS, target)


def test_the_pattern_goes_before_a_shallower_test(target):
    build_results(
        target,
        {"model.p.base": 30, "test.p.unique_fct": 7, "model.p.cells": 1, "model.p.pattern": 40, "model.p.index": 2},
    )
    ours = drained(GraphQueue._get_scores)
    assert ours.index("model.p.pattern") < ours.index("test.p.unique_fct")
    # dbt's own order ran the test first: its level (1) is below the pattern's (2)
    dbts = drained(GraphQueue._get_scores.dbt_scores)
    assert dbts.index("test.p.unique_fct") < dbts.index("model.p.pattern")
    assert sorted(ours) == sorted(dbts) == sorted(graph())


def test_the_seconds_decide_not_the_number_of_nodes(target):
    # the test takes longer than the whole chain after `cells`: then it goes first
    build_results(target, {"test.p.unique_fct": 60, "model.p.pattern": 1, "model.p.index": 1})
    scores = GraphQueue._get_scores(None, graph())
    assert scores["test.p.unique_fct"] < scores["model.p.cells"]
    # a node no build ran counts as the middle of those known (1, 1, 60: 1)
    assert scores["model.p.cells"] == -(1 + 1 + 1 + 1)
    assert drained(GraphQueue._get_scores)[:2] == ["model.p.base", "test.p.unique_fct"]


def test_seconds_are_learnt_from_builds_only_and_kept_for_nodes_a_build_skipped(target):
    build_results(target, {"model.p.pattern": 40, "test.p.unique_fct": 7})
    # `docs generate` and `test` time other things, in the same run_results.json
    build_results(target, {"model.p.pattern": 0.1}, which="generate")
    build_results(target, {"test.p.unique_fct": 0.1}, which="test")
    # a build that stopped early: the nodes it skipped keep their seconds, and so does one that
    # stopped with an error (it will take longer once mended)
    build_results(target, {"model.p.pattern": 0.0}, status="skipped")
    build_results(target, {"model.p.pattern": 0.2}, status="error")
    build_results(target, {"model.p.index": float("nan")})
    build_results(target, {"model.p.pattern": 0.01}, empty=True)  # `build --empty` reads no rows
    kept = json.loads((target / NODE_SECONDS).read_text(encoding="utf-8"))
    assert kept == {"model.p.pattern": 40, "test.p.unique_fct": 7}
    build_results(target, {"model.p.pattern": 35.5}, status="fail")  # a failing test ran to its end
    assert json.loads((target / NODE_SECONDS).read_text(encoding="utf-8"))["model.p.pattern"] == 35.5
    # a run_results.json an earlier invocation left (this one stopped before writing): not again
    data = json.loads((target / RUN_RESULTS).read_text(encoding="utf-8"))
    data["metadata"]["invocation_id"] = "an-earlier-invocation"
    data["results"][0]["execution_time"] = 99.0
    (target / RUN_RESULTS).write_text(json.dumps(data), encoding="utf-8")
    remember_node_seconds(target / RUN_RESULTS, target)
    assert json.loads((target / NODE_SECONDS).read_text(encoding="utf-8"))["model.p.pattern"] == 35.5
    assert [p.name for p in target.iterdir() if p.name.endswith(".tmp")] == []
    assert (target / NODE_SECONDS).stat().st_mode & 0o777 == 0o666 & ~dbt_runner._umask()
    assert dbt_runner._umask() == os.umask(os.umask(0o022))  # read as the process has it


def test_the_deployments_folder_holds_the_seconds_whatever_the_invocations_target(
    target, tmp_path_factory, monkeypatch
):
    # Dagster's dbt child gets a fresh target folder per invocation; the deployment's stays
    deployment = tmp_path_factory.mktemp("deployment")
    monkeypatch.setenv(dbt_runner.TARGET_ENV, str(deployment))
    build_results(target, {"test.p.unique_fct": 60})
    assert not (deployment / NODE_SECONDS).exists()  # written where it was told
    remember_node_seconds(target / RUN_RESULTS, dbt_runner._seconds_folder())
    assert GraphQueue._get_scores(None, graph())["test.p.unique_fct"] == -60


def test_without_seconds_each_node_counts_one(target):
    assert not (target / NODE_SECONDS).exists()
    scores = GraphQueue._get_scores(None, graph())
    assert scores == {
        "model.p.base": -5,
        "test.p.unique_fct": -1,
        "model.p.cells": -4,
        "model.p.pattern": -3,
        "model.p.index": -2,
        "test.p.index_classes": -1,
    }
    (target / NODE_SECONDS).write_text("{not json", encoding="utf-8")  # a hand-edited file
    assert GraphQueue._get_scores(None, graph()) == scores


def test_applied_once_on_the_pinned_dbt(target):
    patched = GraphQueue._get_scores
    longest_path_first()
    assert GraphQueue._get_scores is patched
    assert patched.longest_path_first
    # dbt's own scoring is still a method of that name on this dbt-core (else the order falls back to it)
    assert patched.dbt_scores.__qualname__ == "GraphQueue._get_scores"


def berlin_end() -> nx.DiGraph:
    """The end of the Berlin-size build where the pattern waited: one thread runs a mart (`fct`)
    while the other finishes the area measures on today's Gebietsstand; then the other mart
    (`fct_current`) and the disclosure cells are ready at once. The cells are quick, and the
    pattern needs them and their test, which is ready only when the cells are done."""
    g = nx.DiGraph()
    g.add_edges_from(
        [
            ("model.p.base", "model.p.fct"),
            ("model.p.base", "model.p.area"),
            ("model.p.area", "model.p.fct_current"),
            ("model.p.area", "model.p.cells"),
            ("model.p.cells", "test.p.cells_unique"),
            ("model.p.cells", "model.p.pattern"),
            ("test.p.cells_unique", "model.p.pattern"),
            ("model.p.pattern", "model.p.index"),
        ]
    )
    return g


def started_by_dbts_loop(seconds: dict[str, float], run_queue, threads: int = 2) -> list[str]:
    """The nodes of `berlin_end` in the order dbt's own main loop (`GraphRunnableTask.run_queue`:
    take a ready node off the queue, hand it to the thread pool) with `threads` threads starts them,
    each taking its `seconds`."""
    import threading
    import time

    from dbt.graph.thread_pool import DbtThreadPool

    started: list[str] = []
    lock = threading.Lock()

    class Task:
        config = SimpleNamespace(threads=threads)

        def __init__(self):
            self.job_queue = GraphQueue(berlin_end(), Nodes(), set(berlin_end()))

        def handle_job_queue(self, pool, callback):  # dbt's, less the runner objects
            node = self.job_queue.get()
            pool.apply_async(self.run, args=[node], callback=callback)

        def run(self, node):
            with lock:
                started.append(node.unique_id)
            time.sleep(seconds.get(node.unique_id, 0.01))
            return SimpleNamespace(node=node)

        def _handle_result(self, result):
            pass

        def _raise_set_error(self):
            pass

    Task.run_queue = run_queue  # the loop under test: dbt-core's own, or ours around it
    pool = DbtThreadPool(threads)
    try:
        Task().run_queue(pool)
    finally:
        pool.close()
        pool.join()
    return started


def test_a_free_thread_takes_the_ready_node_the_scores_put_first(target, monkeypatch):
    """dbt's main loop hands every node to the pool as soon as it is ready, so the pool's queue, not
    the scores, decided what a free thread ran next: here the mart on today's Gebietsstand, taken
    while the cells ran, before the cells' test and the pattern. One node per free thread: the
    pattern starts as soon as its inputs are done."""
    from dbt.task.runnable import GraphRunnableTask

    monkeypatch.setattr(flags, "GLOBAL_FLAGS", Namespace(TARGET_PATH=str(target), PROJECT_DIR=None, FAIL_FAST=False))
    kept = {"model.p.fct": 10, "model.p.area": 6, "model.p.fct_current": 17, "model.p.cells": 1, "model.p.pattern": 30}
    build_results(target, kept)
    seconds = {
        "model.p.fct": 0.8, "model.p.area": 0.1, "model.p.fct_current": 0.6,
        "model.p.cells": 0.1, "model.p.pattern": 0.6,
    }  # fmt: skip
    ours = started_by_dbts_loop(seconds, GraphRunnableTask.run_queue)
    assert ours.index("model.p.pattern") < ours.index("model.p.fct_current"), ours
    # dbt's own loop (the queue's `get` and the loop as dbt-core has them), the same scores
    ours_get = GraphQueue.get
    monkeypatch.setattr(GraphQueue, "get", ours_get.dbt_get)
    dbts = started_by_dbts_loop(seconds, GraphRunnableTask.run_queue.dbt_run_queue)
    assert dbts.index("model.p.fct_current") < dbts.index("model.p.pattern"), dbts
    assert sorted(ours) == sorted(dbts) == sorted(berlin_end())
    # one thread: strictly by the scores
    monkeypatch.setattr(GraphQueue, "get", ours_get)
    one = started_by_dbts_loop({}, GraphRunnableTask.run_queue, threads=1)
    assert one[:5] == ["model.p.base", "model.p.area", "model.p.cells", "test.p.cells_unique", "model.p.pattern"], one


def test_one_node_per_free_thread_on_the_pinned_dbt():
    from dbt.task.runnable import GraphRunnableTask

    dbt_runner.a_node_per_free_thread()
    get, loop = GraphQueue.get, GraphRunnableTask.run_queue
    dbt_runner.a_node_per_free_thread()
    assert GraphQueue.get is get and GraphRunnableTask.run_queue is loop  # once
    # what the waiting relies on: dbt-core's own loop hands nodes to the pool one `get` at a time,
    # and its queue counts the nodes in progress under a lock with a condition that `mark_done` notifies
    assert get.dbt_get.__qualname__ == "GraphQueue.get"
    assert loop.dbt_run_queue.__qualname__ == "GraphRunnableTask.run_queue"
    queue = GraphQueue(graph(), Nodes(), set(graph()))
    assert isinstance(queue.in_progress, set) and hasattr(queue.some_task_done, "notify_all")


def test_run_dbt_and_the_dagster_child_order_by_and_keep_the_seconds_of_their_builds(tmp_path, monkeypatch):
    """Both ways dbt runs here apply the order and keep what their builds took: `run_dbt` in this
    process, and `sozialmonitor-dbt`, the Dagster asset's child, whose target folder is a fresh one
    per invocation (dagster-dbt's), into the deployment's folder."""
    import os
    import subprocess
    from pathlib import Path

    from orchestration.dbt_runner import dbt_args, run_dbt
    from orchestration.definitions import build_definitions
    from tests.helpers import settings_for

    settings = settings_for(tmp_path / "deployment")
    settings.warehouse_path.parent.mkdir(parents=True)
    for key, value in settings.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(
        GraphQueue, "_get_scores", getattr(GraphQueue._get_scores, "dbt_scores", GraphQueue._get_scores)
    )
    seed = "seed.sozialmonitor.indicator_catalogue"
    run_dbt(settings, ["build", "--select", "indicator_catalogue", "--resource-type", "seed", "--quiet"])
    assert GraphQueue._get_scores.longest_path_first
    kept = settings.dbt_target_dir / NODE_SECONDS
    assert 0 <= json.loads(kept.read_text(encoding="utf-8"))[seed] < 600

    kept.write_text(json.dumps({seed: 999.0}), encoding="utf-8")
    executable = build_definitions(settings).resources["dbt"].dbt_executable
    fresh = tmp_path / "dagster_invocation"
    command = dbt_args(settings, ["build", "--select", "indicator_catalogue", "--resource-type", "seed", "--quiet"])
    command[command.index("--target-path") + 1] = str(fresh)
    done = subprocess.run([executable, *command], env={**os.environ, **settings.env()}, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (Path(fresh) / RUN_RESULTS).is_file() and not (Path(fresh) / NODE_SECONDS).exists()
    learnt = json.loads(kept.read_text(encoding="utf-8"))[seed]
    assert learnt != 999.0

    # dagster-dbt asks `sozialmonitor-dbt --version` in the project folder, whose target/ may hold
    # another build's run_results.json: nothing of it is learnt
    project = tmp_path / "project"
    (project / "target").mkdir(parents=True)
    other = json.loads((Path(fresh) / RUN_RESULTS).read_text(encoding="utf-8"))
    for result in other["results"]:
        result["execution_time"] = 123.0
    (project / "target" / RUN_RESULTS).write_text(json.dumps(other), encoding="utf-8")
    done = subprocess.run(
        [executable, "--version"], cwd=project, env={**os.environ, **settings.env()}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(kept.read_text(encoding="utf-8"))[seed] == learnt
