"""dbt's events only where something takes them (dbt_runner.lines_only_where_written): the same lines
in the same logs as dbt's own path, with no message made for a debug event that no logger writes
and nobody listens to. On dbt_common's own EventManager and loggers, writing real files."""

from __future__ import annotations

import io
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from dbt import tracking as dbt_tracking
from dbt.adapters.events.types import ConnectionUsed, SQLQuery
from dbt.events.logging import cleanup_event_logger, setup_event_logger
from dbt.events.types import LogStartLine
from dbt_common.events import event_manager as dbt_event_manager
from dbt_common.events import logger as dbt_logger
from dbt_common.events.base_types import EventLevel
from dbt_common.events.event_manager import EventManager
from dbt_common.events.event_manager_client import get_event_manager
from dbt_common.events.functions import capture_stdout_logs, stop_capture_stdout_logs
from dbt_common.events.functions import fire_event as fire_event_of_dbt
from dbt_common.events.types import Note, PrintEvent

from orchestration.dbt_runner import lines_only_where_written


@pytest.fixture(autouse=True, scope="module")
def patched():
    lines_only_where_written()  # as every process that runs dbt does; idempotent


def _events():
    """What a build fires, by kind: statements and connections at debug, a node's line at info, a
    print event (which dbt sends as an error, so that --quiet shows it), a warning, a secret."""
    node = {"node_name": "fct_indicator_values", "unique_id": "model.sozialmonitor.fct_indicator_values"}
    return [
        (SQLQuery(conn_name="model.x", sql="select 1 -- s3cr3t", node_info=node), None),
        (ConnectionUsed(conn_type="duckdb", conn_name="model.x", node_info=node), None),
        (LogStartLine(description="sql table model marts.fct", index=1, total=2, node_info=node), None),
        (PrintEvent(msg="printed"), None),
        (Note(msg="a warning with s3cr3t"), EventLevel.WARN),
        (Note(msg="a debug note"), EventLevel.DEBUG),
    ]


def _fire(tmp_path: Path, name: str, file_level: str, console_level: str, callbacks=(), dbts=False, json=False):
    """Fire `_events` through dbt's own event manager as a dbt command sets it up
    (`setup_event_logger`: the log file, the console, dbt's own callback), with dbt's own methods
    (`dbts`) or the patched ones. The lines written, timestamps and ids taken out."""
    write_line, fire_event = dbt_logger._Logger.write_line, EventManager.fire_event
    console, folder = io.StringIO(), tmp_path / name
    flags = SimpleNamespace(
        LOG_PATH=str(folder), LOG_LEVEL=console_level, LOG_FORMAT="json" if json else "text",
        QUIET=console_level == "error", DEBUG=False, USE_COLORS=False, LOG_CACHE_EVENTS=False,
        LOG_LEVEL_FILE=file_level, LOG_FORMAT_FILE="json" if json else "debug", USE_COLORS_FILE=False,
        LOG_FILE_MAX_BYTES=10 * 1024 * 1024,
    )  # fmt: skip
    capture_stdout_logs(console)
    try:
        setup_event_logger(flags, callbacks=list(callbacks))
        if dbts:
            dbt_logger._Logger.write_line = write_line.dbt_write_line
            EventManager.fire_event = fire_event.dbt_fire_event
        for event, level in _events():
            fire_event_of_dbt(event, level=level)
    finally:
        dbt_logger._Logger.write_line, EventManager.fire_event = write_line, fire_event
        get_event_manager().flush()
        cleanup_event_logger()
        stop_capture_stdout_logs()
    varying = re.compile(r'\d\d:\d\d:\d\d(\.\d+)?|"(ts|pid|invocation_id|thread)": "?[^",]*"?')
    return [varying.sub("T", line) for line in (folder / "dbt.log").read_text().splitlines()], [
        varying.sub("T", line) for line in console.getvalue().splitlines()
    ]


@pytest.mark.parametrize(
    ("file_level", "console_level", "json"),
    [
        ("info", "error", False),  # run_dbt: the file at info, the console --quiet
        ("info", "info", False),  # dbt by hand
        ("debug", "info", True),  # dagster-dbt's child: JSON on the console, its log file at debug
        ("debug", "debug", False),  # DBT_LOG_LEVEL_FILE=debug and --log-level debug
        ("none", "info", True),  # no log file
    ],
)
def test_the_logs_get_the_lines_dbt_writes(tmp_path, monkeypatch, file_level, console_level, json):
    monkeypatch.setenv("DBT_ENV_SECRET_PASSWORD", "s3cr3t")
    if file_level == "none":
        (tmp_path / "ours").mkdir()
        (tmp_path / "ours" / "dbt.log").write_text("")
        (tmp_path / "dbts").mkdir()
        (tmp_path / "dbts" / "dbt.log").write_text("")
    ours = _fire(tmp_path, "ours", file_level, console_level, json=json)
    dbts = _fire(tmp_path, "dbts", file_level, console_level, json=json, dbts=True)
    assert ours == dbts
    file, console = ours
    assert any("printed" in line for line in console)  # a print event passes even --quiet
    assert not any("s3cr3t" in line for line in file + console)
    assert any("warning with *****" in line for line in file + console)
    assert any("select 1" in line for line in file + console) == ("debug" in (file_level, console_level))
    if file_level != "none":
        assert any("marts.fct" in line for line in file)


def test_a_debug_event_nobody_takes_becomes_no_message(tmp_path, monkeypatch):
    made = []
    message = dbt_event_manager.msg_from_base_event

    def counted(event, level=None):
        made.append(type(event).__name__)
        return message(event, level=level)

    monkeypatch.setattr(dbt_event_manager, "msg_from_base_event", counted)
    _fire(tmp_path, "quiet", "info", "error")
    # with dbt's own callback only (test_dbts_own_callback_still_gets_the_event_it_reads): the two
    # debug events and the debug note are never made; info, print and warning are
    assert made == ["LogStartLine", "PrintEvent", "Note"]

    made.clear()
    _fire(tmp_path, "debug", "debug", "error")  # a logger at debug takes them all
    assert len(made) == len(_events())

    made.clear()
    heard = []
    _fire(tmp_path, "listened", "info", "error", callbacks=[lambda msg: heard.append(msg.info.name)])
    # a callback of ours (the pipeline's fault point) hears every event, as from dbt
    assert heard == [type(event).__name__ for event, _ in _events()] and len(made) == len(_events())

    made.clear()
    monkeypatch.setenv("DBT_TEST_BINARY_SERIALIZATION", "1")  # dbt's own check of every message
    _fire(tmp_path, "serialised", "info", "error")
    assert len(made) == len(_events())


def test_dbts_own_callback_still_gets_the_event_it_reads(tmp_path, monkeypatch):
    """`track_behavior_change_warn`, which every dbt command adds, acts on a BehaviorChangeEvent alone:
    that event is made and handed to it whatever its level; and a debug event that dbt is told to
    handle as a warning or error is made too."""
    from dbt_common.events.types import BehaviorChangeEvent

    made, heard = [], []
    message = dbt_event_manager.msg_from_base_event

    def counted(event, level=None):
        made.append(type(event).__name__)
        return message(event, level)

    monkeypatch.setattr(dbt_event_manager, "msg_from_base_event", counted)
    monkeypatch.setattr(dbt_tracking, "active_user", None)  # dbt's tracking off, as in every run of ours
    flags = SimpleNamespace(
        LOG_PATH=str(tmp_path), LOG_LEVEL="error", LOG_FORMAT="text", QUIET=True, DEBUG=False, USE_COLORS=False,
        LOG_CACHE_EVENTS=False, LOG_LEVEL_FILE="info", LOG_FORMAT_FILE="debug", USE_COLORS_FILE=False,
        LOG_FILE_MAX_BYTES=10 * 1024 * 1024,
    )  # fmt: skip
    setup_event_logger(flags)
    manager = get_event_manager()
    try:
        assert manager.callbacks == [dbt_tracking.track_behavior_change_warn]
        event = BehaviorChangeEvent(flag_name="f", flag_source="s", description="d", docs_url="u")
        manager.callbacks.append(lambda msg: heard.append(msg.info.name))
        fire_event_of_dbt(event, level=EventLevel.DEBUG)
        manager.callbacks.pop()
        fire_event_of_dbt(event, level=EventLevel.DEBUG)
        fire_event_of_dbt(Note(msg="handled"), level=EventLevel.DEBUG, force_warn_or_error_handling=True)
        fire_event_of_dbt(Note(msg="dropped"), level=EventLevel.DEBUG)
        assert heard == ["BehaviorChangeEvent"]
        assert made == ["BehaviorChangeEvent", "BehaviorChangeEvent", "Note"]
    finally:
        cleanup_event_logger()


def test_it_is_applied_once(tmp_path):
    write_line, fire_event = dbt_logger._Logger.write_line, EventManager.fire_event
    lines_only_where_written()
    assert (dbt_logger._Logger.write_line, EventManager.fire_event) == (write_line, fire_event)
    assert not hasattr(write_line.dbt_write_line, "dbt_write_line")
