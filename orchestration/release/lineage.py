"""The release's lineage docs (`dbt docs generate --static`) in a process of their own, beside the
German tables and the PDFs.

dbt's docs generate is Python (Jinja) for most of its time. On a thread beside the German tables
(openpyxl, Python too) both held Python's global lock by turns: on the 20,000-resident test city
the pair took 16 s where the tables and PDFs alone took 5 s. The child reads the warehouse
read-only (orchestration/dbt_read_only.py), beside any other reader. It starts once nothing refuses
the release any more (gates, audit, an unforced correction): earlier, beside the export, the audit
and the gates' process, it took a core from the release's longest path (1M residents, a Stichtag
added: the release 38 s instead of 25 s), and a refused release would have made it for nothing.
Like the gates' process (data_quality.beside), the child dies with the process that started it,
and a release that stops early ends it.

dbt writes into a target folder of its own (`lineage_target`), so that the build and the docs each
keep their own partial parse.

The page depends on the dbt project, its vars and environment, dbt's versions and the warehouse's
catalog (relations, columns, types, comments; dbt-duckdb's catalog holds no row counts or other
figures of the data), never on the rows. A published release keeps its page (as published: the
machine's paths and dbt's ids scrubbed, reproducible.scrub_lineage) in `releases/.memo/lineage/`
under the digest of all that (`LineageMemo`); the next release with the same digest (a Stichtag
added, a correction, the same code and schema) reads it, with its times set to its own Stichtag,
instead of running dbt (15-30 s of CPU beside the German tables)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb

from .. import dbt_read_only
from ..dbt_runner import PARTIAL_PARSE, DbtFailed, is_stale
from ..project_state import env_var_names, project_fingerprint, tests_fingerprint
from ..provenance import Beside
from ..settings import Settings
from ..warehouse import connect
from .store import keep_memo_entry

LINEAGE_TARGET = "lineage"
MEMO_FOLDER = "lineage"  # in the releases' memo folder (store.MEMO_DIR)
MEMO_KEEP = 4  # pages kept, the most recently used first
STATIC_INDEX = "static_index.html"


def lineage_target(settings: Settings) -> Path:
    """dbt's target folder for the lineage docs: a folder of its own inside the build's, so that
    each keeps its own partial parse. dbt parses the whole project again (2-3 s of CPU) whenever
    the vars differ from those its saved parse was made with; a build of some Stichtage has vars of
    its own (rebuild_stichtage), the docs have none, and sharing one folder made the build and the
    docs parse everything again in every run. The first time, the build's parse is copied in (dbt
    uses it when the vars agree, a full build's). A parse that dbt would get wrong (made from another
    folder of the project, or before its generated models changed: dbt_runner.is_stale) is neither
    kept nor copied. The build's manifest and run results stay as the build wrote them."""
    docs = settings.dbt_target_dir / LINEAGE_TARGET
    docs.mkdir(parents=True, exist_ok=True)
    parsed, kept = settings.dbt_target_dir / PARTIAL_PARSE, docs / PARTIAL_PARSE
    if is_stale(kept, settings):  # made from another folder of the project, or before its models changed
        kept.unlink(missing_ok=True)
    if parsed.exists() and not kept.exists() and not is_stale(parsed, settings):
        shutil.copyfile(parsed, kept)
    return docs


def docs_environment(settings: Settings) -> dict[str, str]:
    """The environment of the docs' process: this process's, pointed at the places of `settings`
    (what dbt reads with env_var() when it makes the page, and so part of `digest`)."""
    return {**os.environ, **settings.env()}


class LineageBeside:
    """`dbt docs generate --static` for the warehouse of `settings`, started in a child process;
    `html()` waits for it and returns the page, `stop()` ends it if it still runs."""

    def __init__(self, settings: Settings):
        self.target = lineage_target(settings)
        (self.target / STATIC_INDEX).unlink(missing_ok=True)  # never the page of an earlier run
        # the release's environment as it is (the child switches dbt to read-only itself)
        self._child = Beside(
            dbt_read_only.__name__,
            [str(os.getpid()), str(settings.dbt_project_dir), str(self.target)],
            docs_environment(settings),
        )

    @property
    def seconds(self) -> float:
        """The child's wall-clock time, start-up included (0 until waited for)."""
        return self._child.seconds

    def html(self) -> str:
        """The static lineage page, once dbt is done (DbtFailed if it failed)."""
        code, error = self._child.wait()
        if code != 0:
            raise DbtFailed(f"dbt docs generate (the release's lineage docs) ended with code {code}:\n{error}")
        return (self.target / STATIC_INDEX).read_text(encoding="utf-8")

    def stop(self) -> None:
        """End the child if it still runs (the release stopped before it needed the page)."""
        self._child.stop()


class LineageMemo:
    """The lineage pages of published releases, kept in `folder` (the releases' memo folder) as they
    were published, under the SHA-256 of everything dbt's page is made from (`digest`). `page` gives a
    kept page for `settings` and the warehouse as they are, or None (then dbt runs and `hold` takes
    its page); `keep`, called once the release is published, writes a held page and prunes the
    folder. A refused release leaves no file; deleting the folder is always safe (the next release
    runs dbt). A kept page is trusted as the warehouse is (docs/operations.md)."""

    def __init__(self, folder: Path):
        self.folder = folder / MEMO_FOLDER
        self.hit = False
        self._path: Path | None = None
        self._pending: tuple[Path, str | None] | None = None

    def page(self, settings: Settings) -> str | None:
        try:
            self._path = self.folder / f"{digest(settings)}.html"
        except (duckdb.Error, OSError):
            # the catalog cannot be read here (the file open otherwise in this process), or a file of
            # the project changed while it was read (a deployment rendering its files): dbt runs
            self._path = None
            return None
        try:
            page = self._path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):  # none yet, or unreadable: dbt makes the page again
            return None
        self.hit = True
        self._pending = (self._path, None)  # used: kept when the folder is pruned
        return page

    def hold(self, page: str) -> None:
        """The page made because `page` found none (scrubbed), to be kept once the release is published."""
        if self._path is not None:
            self.hit = False
            self._pending = (self._path, page)

    def keep(self) -> None:
        """Write the held page, or mark a used one as recently used; keep the `MEMO_KEEP` most
        recent (store.keep_memo_entry)."""
        if self._pending is None:
            return
        path, page = self._pending
        self._pending = None
        write = None if page is None else (lambda aside: aside.write_text(page, encoding="utf-8"))
        keep_memo_entry(path, write, MEMO_KEEP)


def digest(settings: Settings) -> str:
    """The SHA-256 of what `dbt docs generate` makes the page of `settings`' warehouse from:

    - the dbt project as a build sees it (project_state.project_fingerprint: every file that shapes
      a table, this deployment's generated files, the contracts, the deployment's vars, the
      versions of dbt and the engine) and its data tests (project_state.tests_fingerprint);
    - the value of every environment variable the project's files read with env_var(), as the
      docs' process gets them, and every DBT_* variable (dbt's own flags);
    - the folders whose paths dbt writes into the page (scrubbed from the public copy);
    - the warehouse's catalog: every table and view with its comment, every column with its
      position, type and comment.
    """
    environment = docs_environment(settings)
    variables = {name: environment.get(name) for name in sorted(env_var_names(settings))}
    variables |= {name: value for name, value in sorted(environment.items()) if name.startswith("DBT_")}
    con = connect(settings.warehouse_path, read_only=True, extensions=())
    try:
        relations = con.execute(
            """select schema_name, table_name, 'table', comment from duckdb_tables()
                where database_name = current_database()
            union all
            select schema_name, view_name, 'view', comment from duckdb_views()
                where database_name = current_database() and not internal
            order by all"""
        ).fetchall()
        columns = con.execute(
            """select schema_name, table_name, column_index, column_name, data_type, comment from duckdb_columns()
                where database_name = current_database() and not internal
            order by all"""
        ).fetchall()
    finally:
        con.close()
    key: dict[str, Any] = {
        "project": project_fingerprint(settings),
        "tests": tests_fingerprint(settings),
        "environment": variables,
        "folders": [
            str(settings.dbt_project_dir.resolve()),
            str(settings.dbt_target_dir.resolve()),
            str(settings.project_dir.resolve()),
        ],
        "catalog": [relations, columns],
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode("utf-8")).hexdigest()
