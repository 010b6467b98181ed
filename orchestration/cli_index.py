"""`sozialmonitor index …`: composite indices computed from a table of indicator values."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .cli_common import fail

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

index_app = typer.Typer(
    help="Composite indices from a CSV of indicator values: the status/dynamics index (MSS method).",
    no_args_is_help=True,
    add_completion=False,
)


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@index_app.command("mss")
def mss_command(
    values: Path = typer.Option(..., "--values", help="CSV of indicator values, one row per area (, or ; separated)."),
    id_column: str = typer.Option(..., "--id-column", help="Column with the area id (kept as text)."),
    population_column: str = typer.Option(..., "--population-column", help="Column with the residents."),
    status: str = typer.Option(..., "--status", help="Status indicator columns, comma separated."),
    dynamics: str = typer.Option("", "--dynamics", help="Dynamics indicator columns, comma separated (none: omit)."),
    min_population: float = typer.Option(300.0, "--min-population", help="Areas with fewer residents: not indexed."),
    exclude: str = typer.Option("", "--exclude", help="Area ids not to index (e.g. industrial estates), comma sep."),
    out: Path = typer.Option(..., "--out", help="Result CSV: id,indexed,status_z,status_class,dynamics_z,..."),
) -> None:
    """Status and dynamics index after Berlin's Monitoring Soziale Stadtentwicklung: z-scores with the
    population sd, equal weights, the sum standardised again, classes at -1 / 1 / 1.5. Areas too small
    or excluded are written as not indexed. Exit code 2 on bad input."""
    from .indices.mss import (
        DYNAMICS_CLASSES,
        STATUS_CLASSES,
        MssConfig,
        MssInputError,
        compute_mss,
        read_values,
        unknown_exclusions,
        write_result,
    )

    try:
        config = MssConfig(
            status=_names(status),
            dynamics=_names(dynamics),
            min_population=min_population,
            exclude=_names(exclude),
        )
        if not values.is_file():
            raise MssInputError(f"{values}: no such file")
        frame = read_values(values, id_column=id_column, numeric_columns=(population_column, *config.columns))
        result = compute_mss(frame, config, id_column, population_column)
    except MssInputError as exc:
        fail(exc)  # exit code 2: bad input
    except OSError as exc:  # the input file: a wrong argument (2), not the machine (10)
        err.print(f"✗ {values}: {exc.strerror or exc}", style="red", markup=False)
        raise typer.Exit(MssInputError.exit_code) from exc
    try:
        write_result(result, out)
    except OSError as exc:
        err.print(f"✗ cannot write {out}: {exc.strerror or exc}", style="red", markup=False)
        raise typer.Exit(MssInputError.exit_code) from exc

    indexed = int(result["indexed"].sum())
    console.print(f"[bold]MSS index[/] of {values}: {indexed} of {len(result)} areas indexed → {out}")
    reasons = Counter(result.loc[~result["indexed"], "reason"])
    for reason, count in sorted(reasons.items()):
        console.print(f"  not indexed, {reason}: {count}", markup=False)
    unknown = unknown_exclusions(frame, config, id_column)
    if unknown:
        err.print(f"! excluded ids not in the file: {', '.join(unknown)}", style="yellow", markup=False)

    table = Table(title="Areas per class" if not config.dynamics else "Areas per status (rows) and dynamics class")
    table.add_column("status")
    columns = DYNAMICS_CLASSES if config.dynamics else ()
    for col in (*columns, "total"):
        table.add_column(col, justify="right")
    done = result[result["indexed"]]
    pairs = Counter(zip(done["status_class"], done["dynamics_class"], strict=True))
    for s in STATUS_CLASSES:
        cells = [str(pairs[(s, d)]) for d in columns]
        table.add_row(s, *cells, str(sum(n for (a, _), n in pairs.items() if a == s)))
    if config.dynamics:
        totals = [str(sum(n for (_, b), n in pairs.items() if b == d)) for d in columns]
        table.add_row("total", *totals, str(indexed), style="bold")
    console.print(table)
