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
keep their own partial parse."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .. import dbt_read_only
from ..dbt_runner import DbtFailed
from ..provenance import Beside
from ..settings import Settings

LINEAGE_TARGET = "lineage"
PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's saved parse of the project, in its target folder
STATIC_INDEX = "static_index.html"


def lineage_target(settings: Settings) -> Path:
    """dbt's target folder for the lineage docs: a folder of its own inside the build's, so that
    each keeps its own partial parse. dbt parses the whole project again (2-3 s of CPU) whenever
    the vars differ from those its saved parse was made with; a build of some Stichtage has vars of
    its own (rebuild_stichtage), the docs have none, and sharing one folder made the build and the
    docs parse everything again in every run. The first time, the build's parse is copied in (dbt
    uses it when the vars agree, a full build's). The build's manifest and run results stay as the
    build wrote them."""
    docs = settings.dbt_target_dir / LINEAGE_TARGET
    docs.mkdir(parents=True, exist_ok=True)
    parsed, kept = settings.dbt_target_dir / PARTIAL_PARSE, docs / PARTIAL_PARSE
    if parsed.exists() and not kept.exists():
        shutil.copyfile(parsed, kept)
    return docs


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
            {**os.environ, **settings.env()},
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
