"""dbt's events only where something takes them (dbt_runner.lines_only_where_written): the same lines
in the same logs as dbt's own path, with no message made for a debug event that no logger writes
and nobody listens to. On dbt_common's own EventManager and loggers, writing real files."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from dbt.adapters.events.types import ConnectionUsed, SQLQuery
from dbt.events.types import LogStartLine
from dbt_common.events import event_manager as dbt_event_manager
from dbt_common.events import logger as dbt_logger
from dbt_common.events.base_types import EventLevel
from dbt_common.events.event_manager import EventManager
from dbt_common.events.functions import env_scrubber
from dbt_common.events.logger import LineFormat, LoggerConfig
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


def _fire(tmp_path: Path, name: str, file_level: EventLevel, console_level: EventLevel, callbacks=(), dbts=False):
    """Fire `_events` through an EventManager with a log file and a console as dbt sets them up; with
    dbt's own methods (`dbts`) or the patched ones. The lines written, timestamps taken out."""
    write_line, fire_event = dbt_logger._Logger.write_line, EventManager.fire_event
    manager, console = EventManager(), io.StringIO()
    file = tmp_path / f"{name}.log"
    manager.add_logger(
        LoggerConfig(
            name=f"file-{name}", line_format=LineFormat.DebugText, level=file_level,
            scrubber=env_scrubber, output_file_name=str(file),
        )
    )  # fmt: skip
    manager.add_logger(
        LoggerConfig(name=f"console-{name}", level=console_level, scrubber=env_scrubber, output_stream=console)
    )
    for callback in callbacks:
        manager.add_callback(callback)
    if dbts:
        dbt_logger._Logger.write_line = write_line.dbt_write_line
        EventManager.fire_event = fire_event.dbt_fire_event
    try:
        for event, level in _events():
            manager.fire_event(event, level=level)
    finally:
        dbt_logger._Logger.write_line, EventManager.fire_event = write_line, fire_event
    manager.flush()
    stamp = re.compile(r"\d\d:\d\d:\d\d(\.\d+)?")
    return [stamp.sub("T", line) for line in file.read_text().splitlines()], [
        stamp.sub("T", line) for line in console.getvalue().splitlines()
    ]


@pytest.mark.parametrize(
    ("file_level", "console_level"),
    [
        (EventLevel.INFO, EventLevel.ERROR),  # run_dbt: the file at info, the console --quiet
        (EventLevel.INFO, EventLevel.INFO),  # dbt by hand
        (EventLevel.DEBUG, EventLevel.INFO),  # DBT_LOG_LEVEL_FILE=debug, and dagster-dbt's child
        (EventLevel.DEBUG, EventLevel.DEBUG),  # --debug
    ],
)
def test_the_logs_get_the_lines_dbt_writes(tmp_path, monkeypatch, file_level, console_level):
    monkeypatch.setenv("DBT_ENV_SECRET_PASSWORD", "s3cr3t")
    ours = _fire(tmp_path, "ours", file_level, console_level)
    dbts = _fire(tmp_path, "dbts", file_level, console_level, dbts=True)
    assert ours == dbts
    file, console = ours
    assert any("printed" in line for line in console)  # a print event passes even --quiet
    assert any("warning with *****" in line for line in file) and not any("s3cr3t" in line for line in file + console)
    assert any("select 1" in line for line in file) == (file_level == EventLevel.DEBUG)
    assert any("fct_indicator_values" in line or "marts.fct" in line for line in file)


def test_a_debug_event_nobody_takes_becomes_no_message(tmp_path, monkeypatch):
    made = []
    message = dbt_event_manager.msg_from_base_event

    def counted(event, level=None):
        made.append(type(event).__name__)
        return message(event, level=level)

    monkeypatch.setattr(dbt_event_manager, "msg_from_base_event", counted)
    _fire(tmp_path, "quiet", EventLevel.INFO, EventLevel.ERROR)
    # the two debug events and the debug note are never made; info, print and warning are
    assert made == ["LogStartLine", "PrintEvent", "Note"]

    made.clear()
    _fire(tmp_path, "debug", EventLevel.DEBUG, EventLevel.ERROR)  # a logger at debug takes them all
    assert len(made) == len(_events())

    made.clear()
    heard = []
    _fire(tmp_path, "listened", EventLevel.INFO, EventLevel.ERROR, callbacks=[lambda msg: heard.append(msg.info.name)])
    # a callback (the pipeline's fault point, Dagster's) hears every event, as from dbt
    assert heard == [type(event).__name__ for event, _ in _events()] and len(made) == len(_events())

    made.clear()
    monkeypatch.setenv("DBT_TEST_BINARY_SERIALIZATION", "1")  # dbt's own check of every message
    _fire(tmp_path, "serialised", EventLevel.INFO, EventLevel.ERROR)
    assert len(made) == len(_events())


def test_it_is_applied_once(tmp_path):
    write_line, fire_event = dbt_logger._Logger.write_line, EventManager.fire_event
    lines_only_where_written()
    assert (dbt_logger._Logger.write_line, EventManager.fire_event) == (write_line, fire_event)
    assert not hasattr(write_line.dbt_write_line, "dbt_write_line")
