"""The base class of the project's own errors: each says how the command line ends on it.

Low level on purpose: this module imports nothing from the project, so that every package
(data_quality too) can derive its errors from it. The exit codes are documented in
docs/operations.md ("Exit codes of `sozialmonitor run` / `ingest`"); keep both in step."""

from __future__ import annotations

# The exit code that is no error class of the project's (docs/operations.md). A wrong call (an
# unknown option value, an invalid date) is a usage error, click's exit code 2.
EXIT_ENVIRONMENT = 10  # the machine refused: disk full, no permission, read-only folder (an OSError)


class SozialmonitorError(Exception):
    """An expected failure: the CLI prints `headline`, the message and `hint`, and exits with
    `exit_code`, never with a traceback.

    exit_code: the process's exit code (docs/operations.md).
    headline:  the first words printed, e.g. "Run stopped in dbt:" ("" for none).
    hint:      what to do now, or which doc section explains it ("" for none)."""

    exit_code: int = 1
    headline: str = ""
    hint: str = ""
