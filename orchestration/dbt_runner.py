"""dbt in this process, pointed at one run's warehouse. Low level: it knows the settings and dbt,
nothing of the pipeline. What has to happen before dbt (the catalogue's generated files, the cells
earlier releases published) is the pipeline's business (orchestration.pipeline.run_dbt)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .dbt_templates import compiled_templates_kept, folder_for
from .errors import SozialmonitorError
from .settings import DEFAULT_GENERATED, DEFAULT_WAREHOUSE_FILE, Settings
from .yaml_text import load_yaml

# The plan of an incremental build (orchestration.build_plan), as JSON, in the environment of the
# dbt process; empty: every Stichtag. The macros read it only while dbt executes
# (dbt_project/macros/build_plan.sql), so a new plan never makes dbt parse the project again.
PLAN_ENVIRONMENT = "SOZIALMONITOR_DBT_PLAN"
# profiles.yml's default target: the warehouse's DuckDB file (the Spark targets: spark_build.py)
DUCKDB_TARGET = "local"


# dbt's own log file, where dbt runs in this process (`run_dbt`): in the deployment's dbt target
# folder, not in the checkout's dbt_project/logs/, which every deployment and test city shared and
# which a read-only installation of the code cannot write; at level info (each node's result,
# warnings, errors) instead of dbt's debug, which wrote every statement of the build and took about
# 2 of a build's 22 s of CPU on the test city. Set in the environment, these win (e.g.
# DBT_LOG_LEVEL_FILE=debug for a build to be examined). The Dagster dbt asset's child keeps
# dagster-dbt's own choice (its debug log in the run's target folder); `sozialmonitor-dbt` run
# without dagster-dbt's log path logs as `run_dbt` does (`dbt_main`).
LOG_LEVEL_FILE = "info"


def log_environment(target_dir: Path) -> dict[str, str]:
    """DBT_LOG_PATH (`target_dir`/logs) and DBT_LOG_LEVEL_FILE for a dbt run in this process,
    unless already set."""
    chosen = {"DBT_LOG_PATH": str(target_dir / "logs"), "DBT_LOG_LEVEL_FILE": LOG_LEVEL_FILE}
    return {key: value for key, value in chosen.items() if key not in os.environ}


# dbt's saved parse of the project, in its target folder
PARTIAL_PARSE = "partial_parse.msgpack"


def parse_whatever_the_warehouse_file() -> None:
    """dbt uses its saved parse of the project (PARTIAL_PARSE) again only while the target's
    connection settings are those it was made with; dbt-duckdb's include the warehouse file's
    `path`, so every new warehouse (a test city, a bench run, a new deployment's first run) parsed
    the whole project again: 6-8 s of every first dbt call, where a saved parse takes 0.5 s. The
    path never enters the parse: no model, macro, test or config of this project reads
    `target.path`; the database name, which dbt-duckdb takes from the file's name, is a setting of
    its own and stays in the check, as do all other settings, the vars, dbt's version and every
    file's checksum (a file whose `env_var()`s changed is parsed again). So dbt's check leaves the path
    out. Applied in each process that runs dbt (`run_dbt`; the Dagster asset's dbt child through
    `dbt_main`); a process that does not (a plain `dbt` on PATH) only parses in full, as before.
    Idempotent."""
    from dbt.adapters.duckdb.credentials import DuckDBCredentials

    keys = DuckDBCredentials._connection_keys
    if getattr(keys, "without_path", False):
        return

    def connection_keys(self) -> tuple[str, ...]:
        return tuple(key for key in keys(self) if key != "path")

    connection_keys.without_path = True  # type: ignore[attr-defined]
    DuckDBCredentials._connection_keys = connection_keys


# dbt's record of its last invocation in its target folder, and each node's seconds in the latest
# build or run that ran it, kept in the deployment's target folder (SOZIALMONITOR_DBT_TARGET_DIR)
RUN_RESULTS = "run_results.json"
NODE_SECONDS = "node_seconds.json"
TARGET_ENV = "SOZIALMONITOR_DBT_TARGET_DIR"
TIMED_COMMANDS = ("build", "run")  # what a build's order is learnt from (not docs, test, seed, parse)
# ran to its end: a skipped node has no time, and one that stopped with an error (a lock, a typo)
# took less than it will once mended
TIMED_STATUSES = ("success", "pass", "warn", "fail")


def longest_path_first() -> None:
    """dbt hands a free thread the ready node of the lowest topological level (dbt-core's
    `GraphQueue._get_scores`): a data test of a shallow model goes before a deep model that many
    others wait for. At Berlin size the disclosure pattern, on the graph's longest path, waited 6 s
    for a thread behind the marts' tests. This scores each node by the longest path from it to the
    graph's end instead (the node included): list scheduling by longest remaining path, which
    keeps the threads on the chain that decides when the build ends. A path's length is in the
    seconds each node took in the latest build or run that ran it (`NODE_SECONDS`; a node without
    one counts as the middle of those known), or, before a deployment's first build, in nodes.
    Replayed on a Berlin-size build's graph and node times with two threads: 142.1 s in dbt's order,
    130.5 s by nodes, 126.8 s by seconds. Only the order changes: every node runs after everything
    it depends on, as before, and what a node computes does not depend on when it runs. Applied
    with `parse_whatever_the_warehouse_file` in each process that runs dbt; where dbt-core has no
    such method, dbt's own order stays (a test checks the pinned version's). Idempotent."""
    from dbt.graph.queue import GraphQueue

    scores = getattr(GraphQueue, "_get_scores", None)
    if scores is None or getattr(scores, "longest_path_first", False):
        return

    def longest_remaining(self, graph) -> dict[str, float]:
        import networkx as nx

        seconds = _node_seconds(_seconds_folder())
        known = sorted(seconds[node] for node in graph if node in seconds)
        default = known[len(known) // 2] if known else 1.0
        remaining: dict[str, float] = {}
        for node in reversed(list(nx.topological_sort(graph))):
            after = max((remaining[child] for child in graph.successors(node)), default=0.0)
            remaining[node] = seconds.get(node, default) + after
        return {node: -length for node, length in remaining.items()}

    longest_remaining.longest_path_first = True  # type: ignore[attr-defined]
    longest_remaining.dbt_scores = scores  # type: ignore[attr-defined]  # dbt's own, for comparison
    GraphQueue._get_scores = longest_remaining


def a_node_per_free_thread() -> None:
    """dbt's main loop takes the next ready node off its priority queue as soon as the previous one
    is handed to the thread pool (`GraphRunnableTask.run_queue`, `pool.apply_async`), not when a
    thread is free: the pool's own queue then holds the nodes in the order they became ready, and
    the scores decide only between nodes that became ready at the same moment. In the Berlin-size
    build of 2026-12-07 the pattern's inputs were done at 77.9 s, but the marts' series on today's
    Gebietsstand had been taken at 77.0 s, when it alone was ready, and waited in the pool: the
    pattern started at 94.5 s, behind it and a test, on the build's longest path. Here the main
    loop takes a node only while fewer nodes are in progress than dbt has threads, so a thread that
    comes free gets the ready node the scores put first (`longest_path_first`). The same nodes
    run, each after everything it depends on; only the order changes. (A microbatch model's batches
    take pool threads this count does not see; the project has none.) Idempotent; where dbt-core's
    queue or loop lacks what this relies on, dbt's own loop stays (a test checks the pinned
    version's)."""
    from dbt.graph.queue import GraphQueue
    from dbt.task.runnable import GraphRunnableTask

    get, run_queue = getattr(GraphQueue, "get", None), getattr(GraphRunnableTask, "run_queue", None)
    if get is None or run_queue is None:
        return
    if getattr(get, "a_node_per_free_thread", False) or hasattr(run_queue, "dbt_run_queue"):
        return
    # what the waiting reads of dbt's queue, set in its constructor
    if not {"lock", "in_progress", "some_task_done"} <= set(GraphQueue.__init__.__code__.co_names):
        return

    def get_when_a_thread_is_free(self, block: bool = True, timeout: float | None = None):
        threads = getattr(self, "free_threads_only", None)
        if threads and block:
            with self.lock:
                # dbt's callbacks mark a node done (and notify) when its thread has finished it
                while len(self.in_progress) >= threads:
                    self.some_task_done.wait(timeout=1.0)
        return get(self, block=block, timeout=timeout)

    def run_queue_a_node_per_free_thread(self, pool) -> None:
        threads = getattr(getattr(self, "config", None), "threads", None)
        if self.job_queue is not None and isinstance(threads, int) and threads > 0:
            self.job_queue.free_threads_only = threads
        return run_queue(self, pool)

    get_when_a_thread_is_free.a_node_per_free_thread = True  # type: ignore[attr-defined]
    get_when_a_thread_is_free.dbt_get = get  # type: ignore[attr-defined]
    run_queue_a_node_per_free_thread.dbt_run_queue = run_queue  # type: ignore[attr-defined]
    GraphQueue.get = get_when_a_thread_is_free
    GraphRunnableTask.run_queue = run_queue_a_node_per_free_thread


def lines_only_where_written() -> None:
    """dbt makes every event a protobuf message, and then for each of its loggers (the log file, the
    console) a formatted line scrubbed of secrets, before Python's logging drops the line whose
    level is below the logger's: at level info in the file and `--quiet` on the console, the
    roughly 5,700 events of the test city's build (a debug event per statement and connection)
    were all formatted, and nearly all dropped. Measured on that build on one thread: 2.4 of its
    18.7 s of CPU in dbt's events, 1.3 s of it in the loggers' lines. Here:

    - a logger formats a line only if its Python logger takes the event's level, the level it would
      be sent at (a print event as an error, as dbt does); and
    - an event at level debug or test becomes no message at all when no logger takes that level and
      nothing else listens: no callback but dbt's own `track_behavior_change_warn`, which every
      command adds and which acts on a `BehaviorChangeEvent` alone (that one is always handled);
      dbt's binary-serialisation check off. An event that a warning could turn into an error
      (`--warn-error`) is at level warn, and always handled by dbt.

    What is written is what dbt wrote: the same lines for the same events, in the same places
    (tests/orchestration/test_dbt_events.py compares both paths at the levels used here, and the
    test city's log file of a build, with and without this, had the same 410 lines at info and the
    same 20,850 at `DBT_LOG_LEVEL_FILE=debug`). A callback (the pipeline's fault point) still hears
    every event. Applied with the other patches in each process that runs dbt. Idempotent; where
    dbt_common lacks what this relies on, dbt's own path stays."""
    from dbt_common.events import base_types
    from dbt_common.events import logger as dbt_logger
    from dbt_common.events.event_manager import EventManager

    write_line, fire_event = getattr(dbt_logger._Logger, "write_line", None), getattr(EventManager, "fire_event", None)
    if write_line is None or fire_event is None or getattr(write_line, "lines_only_where_written", False):
        return
    is_print = getattr(dbt_logger, "_is_print_event", None)
    try:  # the callback every dbt command adds (dbt.events.logging.setup_event_logger): it reads one event
        from dbt.tracking import track_behavior_change_warn as tracked
    except ImportError:
        tracked = None
    tracked_event = "BehaviorChangeEvent"
    quiet_levels = {getattr(base_types.EventLevel, "DEBUG", None), getattr(base_types.EventLevel, "TEST", None)}
    # the Python logging level dbt's loggers send each event level at (dbt_common's own table)
    python_levels = {level.value: number for level, number in getattr(dbt_logger, "_log_level_map", {}).items()}
    if is_print is None or None in quiet_levels or "debug" not in python_levels:
        return

    def takes_debug(logger) -> bool:
        """Whether a dbt logger may write an event at level debug (one without a Python logger of its
        own may: what it does is not known here)."""
        python_logger = getattr(logger, "_python_logger", None)
        return python_logger is None or python_logger.isEnabledFor(python_levels["debug"])

    def write_line_if_taken(self, msg) -> None:
        python_logger = getattr(self, "_python_logger", None)
        level = "error" if is_print(msg) else msg.info.level
        taken = python_logger is None or level not in python_levels
        if not (taken or python_logger.isEnabledFor(python_levels[level])):
            return  # the line Python's logging would drop
        write_line(self, msg)

    def fire_event_if_taken(self, e, level=None, node=None, force_warn_or_error_handling=False) -> None:
        listened = (
            force_warn_or_error_handling
            or os.environ.get("DBT_TEST_BINARY_SERIALIZATION")
            or any(callback is not tracked or type(e).__name__ == tracked_event for callback in self.callbacks)
        )
        if not listened and (level or e.level_tag()) in quiet_levels and not any(map(takes_debug, self.loggers)):
            return  # no logger writes it, nobody listens: dbt would make the message for nothing
        fire_event(self, e, level, node, force_warn_or_error_handling)

    write_line_if_taken.lines_only_where_written = True  # type: ignore[attr-defined]
    write_line_if_taken.dbt_write_line = write_line  # type: ignore[attr-defined]
    fire_event_if_taken.dbt_fire_event = fire_event  # type: ignore[attr-defined]
    dbt_logger._Logger.write_line = write_line_if_taken
    EventManager.fire_event = fire_event_if_taken


def _invocation_target() -> Path:
    """The target folder of the dbt invocation in this process (dbt's default without one)."""
    from dbt.flags import get_flags

    flags = get_flags()
    project = Path(getattr(flags, "PROJECT_DIR", None) or ".")
    target = getattr(flags, "TARGET_PATH", None)
    if not target:
        return project / "target"
    return Path(target) if Path(target).is_absolute() else project / target


def _seconds_folder() -> Path:
    """Where the node seconds are kept: the deployment's dbt target folder, which stays the same
    from run to run (Dagster's dbt child gets a fresh target folder for every invocation)."""
    own = os.environ.get(TARGET_ENV)
    return Path(own) if own else _invocation_target()


def _node_seconds(folder: Path) -> dict[str, float]:
    """The kept node seconds; empty without them (or where they do not read)."""
    try:
        data = json.loads((folder / NODE_SECONDS).read_text(encoding="utf-8"))
        return {str(k): float(v) for k, v in data.items() if math.isfinite(float(v)) and float(v) >= 0}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def remember_node_seconds(run_results: Path, folder: Path) -> None:
    """Keep each node's seconds from `run_results` in `folder`'s NODE_SECONDS, over those of nodes it
    did not run: only if dbt wrote it in this process's last invocation (not a file an earlier
    command left, when this one stopped before writing or wrote none, as `--version` does), and
    only for a build or run that was not `--empty` (other commands time other things). Two
    processes finishing at once may lose one's update (the order only). Never fails a run."""
    try:
        from dbt_common.invocation import get_invocation_id

        data = json.loads(run_results.read_text(encoding="utf-8"))
        args = data.get("args", {})
        if data.get("metadata", {}).get("invocation_id") != get_invocation_id():
            return
        if args.get("which") not in TIMED_COMMANDS or args.get("empty"):
            return
        timed = {
            str(r["unique_id"]): float(r["execution_time"])
            for r in data["results"]
            if str(r.get("status")) in TIMED_STATUSES and math.isfinite(float(r["execution_time"]))
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError, ImportError):
        return
    if not timed:
        return
    kept = {**_node_seconds(folder), **timed}
    out = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=folder, prefix=f".{NODE_SECONDS}.", suffix=".tmp", delete=False, encoding="utf-8"
        ) as out:
            json.dump(dict(sorted(kept.items())), out, indent=0)
        os.chmod(out.name, 0o666 & ~_umask())  # as a file the user writes (the Dagster service's and an operator's)
        os.replace(out.name, folder / NODE_SECONDS)
        out = None
    except OSError:  # a read-only target folder: the next build is ordered by nodes
        pass
    finally:
        if out is not None:
            with contextlib.suppress(OSError):
                os.unlink(out.name)


def _umask() -> int:
    """This process's umask, read without setting it (os.umask sets it for every thread at once)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def shared_parse(settings: Settings, target: str = DUCKDB_TARGET) -> Path:
    """Where the checkout keeps a saved parse for the deployment's project files (its generated
    folder), database name (the warehouse file's name) and profile `target`: dbt_project/target/
    for the default ones, where `make run` and `dbt-parse` write theirs and where dagster-dbt looks
    for one to start its own target folders from; a folder of its own for any other (a Kreis with
    its own contracts or vars, a warehouse file of another name, a Spark target, whose build starts
    from an empty target folder every time), whose parse differs."""
    return _shared_parse_at(settings, settings.warehouse_path.stem, target)


def _shared_parse_at(settings: Settings, database: str, target: str) -> Path:
    """The layout of the checkout's saved parses (`shared_parse`), written once: `saved_parses`
    lists them by the same names, with `*` for any database or target."""
    home = settings.dbt_project_dir / "target"
    files = settings.generated_dir.name
    if (files, database, target) == (Path(DEFAULT_GENERATED).name, Path(DEFAULT_WAREHOUSE_FILE).stem, DUCKDB_TARGET):
        return home / PARTIAL_PARSE
    return home / "parse" / f"{files}-{database}-{target}" / PARTIAL_PARSE


def start_from_shared_parse(settings: Settings, target: str = DUCKDB_TARGET) -> None:
    """A target folder without a saved parse of its own starts from the checkout's (`shared_parse`).
    dbt checks it as it checks its own (versions, settings, vars, every file's checksum) and parses
    again what differs, everything if need be; so a copy of an older project costs time. Two cases
    dbt gets wrong are never copied (`is_stale`) and are removed by `drop_stale_parses` (which runs
    before this): a parse older than the generated models (a model file added beside the YAML file
    that documents it) and one made from another folder of the project (`made_elsewhere`). Nothing
    to copy, or a folder that cannot be written: dbt parses in full."""
    own, shared = settings.dbt_target_dir / PARTIAL_PARSE, shared_parse(settings, target)
    if own.exists() or not shared.exists() or own == shared or is_stale(shared, settings):
        return
    try:
        own.parent.mkdir(parents=True, exist_ok=True)
        _replace_atomically(shared, own)
    except OSError:
        return


def keep_shared_parse(settings: Settings, target: str = DUCKDB_TARGET) -> None:
    """The target folder's saved parse, after dbt succeeded, becomes the checkout's (`shared_parse`)
    when it differs, so that the next new warehouse starts from the project as it is now. Written
    whole and then renamed: a process copying it at the same time reads the old file or the new
    one. A checkout that cannot be written (installed read-only) keeps what it has."""
    own, shared = settings.dbt_target_dir / PARTIAL_PARSE, shared_parse(settings, target)
    if own == shared or not own.exists() or is_stale(own, settings):
        return
    try:
        if shared.exists() and shared.read_bytes() == own.read_bytes():
            return
        shared.parent.mkdir(parents=True, exist_ok=True)
        _replace_atomically(own, shared)
    except OSError:
        return


def saved_parses(settings: Settings) -> list[Path]:
    """Every saved parse of the deployment's project files: its target folder's and the
    checkout's (`shared_parse`) for every target and database name."""
    home = settings.dbt_project_dir / "target"
    default = _shared_parse_at(settings, Path(DEFAULT_WAREHOUSE_FILE).stem, DUCKDB_TARGET)
    others = _shared_parse_at(settings, "*", "*").relative_to(home)
    return sorted({settings.dbt_target_dir / PARTIAL_PARSE, default, *home.glob(str(others))})


def generated_models_changed(settings: Settings) -> float:
    """When a file of the deployment's generated models was last added, replaced or removed (the
    newest modification time of their folders; 0 without any)."""
    models = settings.generated_dir / "models"
    if not models.is_dir():
        return 0.0
    return max(folder.stat().st_mtime for folder in (models, *(p for p in models.rglob("*") if p.is_dir())))


def is_stale(parse: Path, settings: Settings) -> bool:
    """Whether a saved parse predates the last change of the deployment's generated models, or was
    made from another folder of the dbt project (`made_elsewhere`)."""
    try:
        return parse.stat().st_mtime < generated_models_changed(settings) or made_elsewhere(parse, settings)
    except OSError:  # none, or one this user cannot read (dbt cannot use it either): nothing to judge
        return False


def made_elsewhere(parse: Path, settings: Settings) -> bool:
    """Whether a saved parse was made from another folder of the dbt project than the deployment's
    (another checkout, or this one before it moved). dbt records the folder a seed is loaded from
    (its `root_path`) in the parse, and its check of a saved parse compares every file's checksum
    but not that folder. So a target folder that a second checkout had built in (a warehouse used by
    two clones of the project) gave this checkout the other one's seed paths: dbt loaded the
    catalogue's seeds from the other clone, or stopped with "No files found" once it was gone, and
    the checkout's shared parse (`keep_shared_parse`) passed the paths on to every new warehouse.

    Made elsewhere: the folder (in any form dbt may record it) is nowhere in the parse, or a seed's
    `root_path` is another. Read from the bytes (msgpack) in a few milliseconds where every string
    after a `root_path` is the folder; loading the parse (tens of milliseconds) settles the rest.
    OSError if the parse cannot be read."""
    data = parse.read_bytes()
    folder = settings.dbt_project_dir
    names = {
        str(folder), os.path.normpath(str(folder)), os.path.normpath(os.path.abspath(folder)), str(folder.resolve())
    }  # fmt: skip
    if not any(_msgpack_string(name) in data for name in names):
        return True
    if _strings_after(data, "root_path") <= names:
        return False
    return not _seed_roots(data) <= names


# msgpack's strings of 32 bytes and more: the header's first byte, then the length in that many bytes
_MSGPACK_LONG_STRINGS = {0xD9: 1, 0xDA: 2, 0xDB: 4}


def _strings_after(data: bytes, key: str) -> set[str]:
    """Every string that msgpack `data` holds right after the string `key` (a short one, fewer
    than 32 bytes): the values of that map key, and, where `key` is a value itself, the key after
    it (so a superset; `_seed_roots` reads the parse itself). Values that are no string are left out."""
    found = set()
    marker = _msgpack_string(key)
    at = data.find(marker)
    while at >= 0:
        head = at + len(marker)
        kind = data[head] if head < len(data) else 0xC0
        if 0xA0 <= kind <= 0xBF:
            start, size = head + 1, kind & 0x1F
        elif kind in _MSGPACK_LONG_STRINGS:
            width = _MSGPACK_LONG_STRINGS[kind]
            start, size = head + 1 + width, int.from_bytes(data[head + 1 : head + 1 + width], "big")
        else:
            start, size = head, -1
        if size >= 0:
            found.add(data[start : start + size].decode("utf-8", errors="replace"))
        at = data.find(marker, head)
    return found


def _seed_roots(data: bytes) -> set[str]:
    """The folders the seeds of a saved parse (msgpack `data`) are loaded from (their `root_path`),
    enabled or disabled. msgpack: dbt's own dependency, which writes the parse."""
    import msgpack

    manifest = msgpack.unpackb(data, raw=False, strict_map_key=False)
    nodes = list((manifest.get("nodes") or {}).values())
    nodes += [node for versions in (manifest.get("disabled") or {}).values() for node in versions or []]
    return {
        node["root_path"]
        for node in nodes
        if isinstance(node, dict) and node.get("resource_type") == "seed" and isinstance(node.get("root_path"), str)
    }


def _msgpack_string(text: str) -> bytes:
    """`text` as msgpack writes a string: a header with its length in bytes (1, 2, 3 or 5 bytes),
    then its UTF-8. The header makes a match whole: a folder is not found inside a longer one."""
    data = text.encode("utf-8")
    size = len(data)
    if size < 32:
        return bytes([0xA0 | size]) + data
    for marker, width in _MSGPACK_LONG_STRINGS.items():
        if size < 1 << (8 * width):
            return bytes([marker]) + size.to_bytes(width, "big") + data
    raise ValueError("a string longer than msgpack allows")


def drop_stale_parses(settings: Settings) -> None:
    """Remove the deployment's saved parses (`saved_parses`) made from another folder of the project
    (`made_elsewhere`) or before its generated models last changed, so that dbt parses the project
    in full once. dbt's partial parse gives a model file added beside a YAML file it already parsed
    neither the description nor the data tests that file holds for it, even when the YAML file
    changed too (dbt-core issue 10461; seen when the wide view `indicators_kreis` became a generated
    model beside its generated documentation: the Kreis's manifest had the model without its test,
    and dagster-dbt stopped on the test's result). The age is decided by the files' times, not by
    who wrote the model, so a run that died in between, or a parse made by a dbt run that started
    before, is caught by the next call too; the folder by the parse's own record of it.
    `keep_shared_parse` never shares such a parse, and `start_from_shared_parse` never starts from
    one. Called before every dbt call (pipeline.prepare_dbt)."""
    for parse in saved_parses(settings):
        if is_stale(parse, settings):
            parse.unlink(missing_ok=True)


def _replace_atomically(source: Path, destination: Path) -> None:
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(source.read_bytes())
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def dbt_target_of(command: list[str]) -> str:
    """The profile target a dbt `command` names (`--target`/`-t`), else profiles.yml's default."""
    for flag in ("--target", "-t"):
        if flag in command[:-1]:
            return command[command.index(flag) + 1]
    return os.environ.get("DBT_TARGET") or DUCKDB_TARGET


# dbt's flags for its version (dbt/cli/params.py)
VERSION_FLAGS = frozenset({"--version", "-V", "-v"})
# the packages whose versions `installed_versions` tells, as dbt names them (core, then the adapters)
DBT_PACKAGES = (("Core", "dbt-core"), ("duckdb", "dbt-duckdb"), ("spark", "dbt-spark"))


def installed_versions() -> str:
    """What `dbt --version` tells, from this environment alone: dbt-core's version first (which
    dagster-dbt reads from it), then each installed adapter's. dbt's own answer asks PyPI for the
    latest version of each package (a request with a second's timeout each): nothing in a run may
    depend on a service outside the machine, and dagster-dbt asks dbt's version once in every
    Dagster dbt step (2.9 s, 2.5 s of CPU, for the request, Python's start and dbt's imports)."""
    from importlib.metadata import PackageNotFoundError, version

    lines = []
    for name, package in DBT_PACKAGES:
        try:
            installed = version(package)
        except PackageNotFoundError:  # dbt-spark comes with `make spark` only
            continue
        lines += (
            ["Core:", f"  - installed: {installed}", "", "Plugins:"] if name == "Core" else [f"  - {name}: {installed}"]
        )
    return "\n".join(lines)


def _argument(argv: list[str], flag: str) -> str | None:
    """The value of `flag` on a command line (`flag value` or `flag=value`), the last one given."""
    value = None
    for at, word in enumerate(argv):
        if word == flag and at + 1 < len(argv):
            value = argv[at + 1]
        elif word.startswith(flag + "="):
            value = word[len(flag) + 1 :]
    return value


def dbt_main() -> None:  # pragma: no cover - console entry point, run by the Dagster dbt asset
    """`sozialmonitor-dbt`: dbt's own command line, with the saved parse kept across warehouse files
    (`parse_whatever_the_warehouse_file`). The Dagster dbt asset runs dbt as a child process
    (dagster-dbt), through this, so that it parses and orders its nodes as `run_dbt` does, and keeps
    the node seconds of its builds in the deployment's target folder (`remember_node_seconds`).
    Its version flag answers from the installed packages (`installed_versions`)."""
    import sys

    if VERSION_FLAGS & set(sys.argv[1:]):  # an eager flag: dbt too answers it alone, whatever else is given
        print(installed_versions())
        return
    from dbt.cli.main import cli

    if "DBT_LOG_PATH" not in os.environ and os.environ.get(TARGET_ENV):
        # not dagster-dbt's child (which sets the log path): a deployment's dbt, run by hand or by a
        # script, logs into the deployment's target folder as `run_dbt` does, not into the checkout
        os.environ.update(log_environment(Path(os.environ[TARGET_ENV])))
    parse_whatever_the_warehouse_file()
    longest_path_first()
    a_node_per_free_thread()
    lines_only_where_written()
    project = _argument(sys.argv[1:], "--project-dir") or os.environ.get("DBT_PROJECT_DIR")
    compiled_templates_kept(folder_for(Path(project)) if project else None)
    try:
        cli()  # exits (click's standalone mode)
    finally:
        remember_node_seconds(_invocation_target() / RUN_RESULTS, _seconds_folder())


def plan_environment(choices: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The environment variable that hands dbt the plan's `choices` (none: every Stichtag)."""
    return {PLAN_ENVIRONMENT: json.dumps(dict(choices), sort_keys=True) if choices else ""}


class DbtFailed(SozialmonitorError):
    exit_code = 4
    headline = "Run stopped in dbt:"


def with_deployment_vars(settings: Settings, command: list[str]) -> list[str]:
    """`command` with the deployment's vars (Settings.deployment_vars) given to dbt as `--vars`,
    under those the command gives itself. They are the same on every call of a deployment, so dbt's
    partial parse keeps working."""
    own = settings.deployment_vars
    if not own:
        return list(command)
    if "--vars" not in command:
        return [*command, "--vars", json.dumps(own, sort_keys=True)]
    at = command.index("--vars")
    given = load_yaml(command[at + 1]) or {}
    return [*command[:at], "--vars", json.dumps({**own, **given}, sort_keys=True), *command[at + 2 :]]


def dbt_args(settings: Settings, command: list[str]) -> list[str]:
    return [
        *with_deployment_vars(settings, command),
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target-path",
        str(settings.dbt_target_dir),
    ]


@contextmanager
def scoped_environment(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in os.environ while the block runs, the previous state afterwards. dbt in this
    process reads `env_var()` (profiles.yml: the warehouse path) from os.environ and nowhere else;
    the process's environment is left as it was found."""
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in before.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def run_dbt(
    settings: Settings,
    command: list[str],
    on_event: Callable | None = None,
    plan: Mapping[str, Any] | None = None,
):
    """dbt in this process (no interpreter start-up), pointed at this run's warehouse; `plan`: the
    choices of an incremental build (none: every Stichtag)."""
    from dbt.cli.main import dbtRunner  # lazy: importing dbt costs seconds that most commands never need

    parse_whatever_the_warehouse_file()
    longest_path_first()
    a_node_per_free_thread()
    lines_only_where_written()
    compiled_templates_kept(folder_for(settings.dbt_project_dir))
    target = dbt_target_of(command)
    start_from_shared_parse(settings, target)
    runner = dbtRunner(callbacks=[on_event] if on_event else [])
    with scoped_environment({**settings.env(), **plan_environment(plan), **log_environment(settings.dbt_target_dir)}):
        try:
            result = runner.invoke(dbt_args(settings, command))
        finally:
            _release_dbt_duckdb()
    remember_node_seconds(settings.dbt_target_dir / RUN_RESULTS, settings.dbt_target_dir)
    if result.success and "--vars" not in command:  # vars of its own: a parse of its own
        keep_shared_parse(settings, target)
    if not result.success:
        failed = []
        res = result.result
        for node in getattr(res, "results", None) or []:
            if str(node.status) in ("error", "fail"):
                failed.append(f"  - {node.node.unique_id}: {node.message}")
        detail = "\n".join(failed) or str(result.exception or "see dbt's output above")
        raise DbtFailed(f"dbt {' '.join(command)} failed:\n{detail}")
    return result


def _release_dbt_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB database open in the process after dbt returns; close it so that
    this process (and others) can open the warehouse file again with our own settings."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a pinned dependency
        return
    env = getattr(DuckDBConnectionManager, "_ENV", None)
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()
