"""The order in which dbt's threads take ready nodes (dbt_runner.longest_path_first): the longest
remaining path first, in seconds of dbt's last invocation, instead of dbt's lowest topological level.
On dbt-core's own GraphQueue, drained by one thread as dbt's workers drain it."""

from __future__ import annotations

import json
from argparse import Namespace
from types import SimpleNamespace

import networkx as nx
import pytest
from dbt import flags
from dbt.graph.queue import GraphQueue

from orchestration.dbt_runner import RUN_RESULTS, longest_path_first


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
    monkeypatch.setattr(flags, "GLOBAL_FLAGS", Namespace(TARGET_PATH=str(tmp_path), PROJECT_DIR=None))
    longest_path_first()
    return tmp_path


def write_seconds(target, seconds: dict[str, float]) -> None:
    results = [{"unique_id": node, "execution_time": s} for node, s in seconds.items()]
    (target / RUN_RESULTS).write_text(json.dumps({"results": results}), encoding="utf-8")


def test_the_pattern_goes_before_a_shallower_test(target):
    write_seconds(
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
    write_seconds(target, {"test.p.unique_fct": 60, "model.p.pattern": 1, "model.p.index": 1})
    scores = GraphQueue._get_scores(None, graph())
    assert scores["test.p.unique_fct"] < scores["model.p.cells"]
    # a node the last invocation did not run counts as the median of those it ran (1, 1, 60: 1)
    assert scores["model.p.cells"] == -(1 + 1 + 1 + 1)
    assert drained(GraphQueue._get_scores)[:2] == ["model.p.base", "test.p.unique_fct"]


def test_without_a_last_invocation_each_node_counts_one(target):
    assert not (target / RUN_RESULTS).exists()
    scores = GraphQueue._get_scores(None, graph())
    assert scores == {
        "model.p.base": -5,
        "test.p.unique_fct": -1,
        "model.p.cells": -4,
        "model.p.pattern": -3,
        "model.p.index": -2,
        "test.p.index_classes": -1,
    }
    (target / RUN_RESULTS).write_text("{not json", encoding="utf-8")  # a run killed while writing it
    assert GraphQueue._get_scores(None, graph()) == scores


def test_applied_once_on_the_pinned_dbt(target):
    patched = GraphQueue._get_scores
    longest_path_first()
    assert GraphQueue._get_scores is patched
    assert patched.longest_path_first
    # dbt's own scoring is still a method of that name on this dbt-core (else the order falls back to it)
    assert patched.dbt_scores.__qualname__ == "GraphQueue._get_scores"
