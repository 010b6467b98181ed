"""The session cities' sharing between xdist workers (tests/shared.py), with real processes: built
once however many ask at once, a failed build reported to everyone who asks, a builder killed
halfway replaced by a clean build."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.shared import SharedBuildFailed, build_log, shared_build

PROJECT = Path(__file__).resolve().parents[1]

# a "worker": asks for the shared folder `city` under argv[1]; its build takes argv[2] seconds
WORKER = """
import sys, time
from pathlib import Path
from tests.shared import shared_build

root, seconds = Path(sys.argv[1]), float(sys.argv[2])

def build(folder):
    (folder / "half").write_text("started")
    with (root / "builds").open("a") as fh:
        fh.write("one build\\n")
    time.sleep(seconds)
    (folder / "city").write_text("complete")

print(shared_build(root, "city", build))
"""


def _worker(root: Path, seconds: float, name: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "PYTEST_XDIST_WORKER": name}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(root), str(seconds)], env=env, stdout=subprocess.PIPE, text=True
    )


def test_workers_asking_at_once_share_one_build(tmp_path):
    workers = [_worker(tmp_path, 1.0, f"gw{i}") for i in range(3)]
    outputs = [w.communicate(timeout=60)[0].strip() for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0]
    assert outputs == [str(tmp_path / "city")] * 3
    assert (tmp_path / "builds").read_text() == "one build\n"
    assert (tmp_path / "city" / "city").read_text() == "complete"
    entries = build_log(tmp_path)["city"]
    assert sorted(e["event"] for e in entries) == ["built", "reused", "reused"]


def test_a_failed_build_is_reported_to_every_worker_that_asks(tmp_path, monkeypatch):
    def broken(folder):
        raise ValueError("the generator broke")

    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    with pytest.raises(ValueError, match="the generator broke"):
        shared_build(tmp_path, "city", broken)
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    with pytest.raises(SharedBuildFailed, match="(?s)worker gw0.*the generator broke"):
        shared_build(tmp_path, "city", lambda folder: pytest.fail("built again after a failure"))
    # and a worker started later neither hangs nor uses the half-built folder
    late = _worker(tmp_path, 0, "gw2")
    assert late.wait(timeout=60) != 0
    assert "builds" not in os.listdir(tmp_path)


def test_a_builder_killed_halfway_is_replaced_by_a_clean_build(tmp_path):
    builder = _worker(tmp_path, 60.0, "gw0")
    deadline = time.monotonic() + 30
    while not (tmp_path / "city" / "half").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "city" / "half").exists(), "the builder never started"
    os.kill(builder.pid, signal.SIGKILL)
    builder.wait(timeout=30)

    folder = shared_build(tmp_path, "city", lambda folder: (folder / "city").write_text("rebuilt"))
    assert sorted(os.listdir(folder)) == ["city"]  # the killed builder's file is gone
    assert (folder / "city").read_text() == "rebuilt"
    assert [e["event"] for e in build_log(tmp_path)["city"]] == ["built"]
