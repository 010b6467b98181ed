"""What every `sozialmonitor` command shares: how it ends on an expected failure (one place that
turns an error into its message and exit code), how it reads a Stichtag, and plain output when it
does not write to a terminal."""

from __future__ import annotations

import errno
import os
import sys
from datetime import date, datetime
from typing import NoReturn

import typer
from rich.console import Console

from .errors import EXIT_ENVIRONMENT, SozialmonitorError

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

GERMAN_DATE = "%d.%m.%Y"  # the form `status` prints
STICHTAG_FORMATS = ("%Y-%m-%d", GERMAN_DATE)
STICHTAG_HELP = "YYYY-MM-DD or DD.MM.YYYY"

_OS_HINTS = {
    errno.ENOSPC: "free disk space (or point SOZIALMONITOR_WAREHOUSE/…_RELEASES_DIR at a larger disk)",
    errno.EACCES: "give the pipeline's user write access to that folder",
    errno.EROFS: "the folder is on a read-only file system: point the setting at a writable one",
    errno.EPERM: "give the pipeline's user write access to that folder",
}


def fail(exc: SozialmonitorError | OSError, settings=None, rejections_shown: bool = False) -> NoReturn:
    """End the command on an expected failure: its headline, message and hint, and its exit code
    (the class's `exit_code`; an OSError is the machine's, 10). Never a traceback. `settings`: for
    refused extracts, also name every file in raw/ that no contract claims. `rejections_shown`: the
    command named each refused extract as it happened (run's progress lines): of refused extracts,
    only the message's first line is repeated."""
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        hint = _OS_HINTS.get(exc.errno or 0, "check the folder and the machine, then run again")
        err.print("\n[red]Run stopped: the machine refused an operation[/]", end="")
        err.print(f"{where}: {exc.strerror or exc}.", markup=False)
        err.print(f"Fix: {hint}. Nothing was published; the previous release is untouched.")
        raise typer.Exit(EXIT_ENVIRONMENT) from exc
    from .ingest import IngestFailed

    refused = isinstance(exc, IngestFailed)
    if settings is not None and refused:
        print_unrecognised(settings, exc.report)  # the whole delivery, also now
    message = str(exc).splitlines()[0] if refused and rejections_shown and str(exc) else str(exc)
    if exc.headline and "\n" not in message:
        err.print(f"\n[red]{exc.headline}[/] ", end="")
        err.print(message, markup=False)
    else:
        if exc.headline:
            err.print(f"\n[red]{exc.headline}[/]")
        err.print(message, style=None if exc.headline else "red", markup=False)
    if exc.hint:
        err.print(exc.hint, markup=False)
    raise typer.Exit(exc.exit_code) from exc


def print_unrecognised(settings, report) -> None:
    """Every entry in raw/ that no contract loads, named, whether the run went on or stopped."""
    from .ingest.loader import describe_unrecognised

    for line in describe_unrecognised(settings, report):
        console.print(f"[yellow]! {line}[/]")


def parse_stichtag(text: str, option: str = "--stichtag") -> date:
    """A Stichtag as the CLI takes it: 2024-12-31 or 31.12.2024. Anything else is a usage error."""
    value = text.strip()
    for form in STICHTAG_FORMATS:
        try:
            return datetime.strptime(value, form).date()
        except ValueError:
            continue
    raise typer.BadParameter(f"{text!r} is not a date: write it as 2024-12-31 or 31.12.2024.", param_hint=option)


def release_ident(text: str) -> str:
    """A release as the CLI takes it (`latest`, `<Stichtag>`, `<Stichtag>/v<N>`, a folder) with a
    German Stichtag written the ISO way: `31.12.2024/v2` → `2024-12-31/v2`. Anything else unchanged."""
    day, slash, rest = text.partition("/")
    try:
        return datetime.strptime(day.strip(), GERMAN_DATE).date().isoformat() + slash + rest
    except ValueError:
        return text


def plain_output_wanted() -> bool:
    """No colour codes: NO_COLOR is set (no-color.org), or stdout is not a terminal (a pipe, a file)."""
    if os.environ.get("NO_COLOR"):
        return True
    try:
        return not sys.stdout.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return True


def quiet_tools() -> None:
    """Tools that colour their output by themselves (dbt does, terminal or not) stay plain when the
    output is piped or NO_COLOR is set. An explicit DBT_USE_COLORS wins."""
    if plain_output_wanted():
        os.environ.setdefault("DBT_USE_COLORS", "false")
