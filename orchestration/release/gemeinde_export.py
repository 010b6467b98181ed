"""A Stadt's own internal figures, out of a Kreis's warehouse (`sozialmonitor release gemeinde`).

In a Kreis the warehouse holds every Stadt's microdata and is the Kreis statistics office's alone
(docs/kreis.md, "Who sees what"). A Stadt's staff get this export instead: the internal,
not disclosure-controlled indicator values and indices of the Stadt's own units, and nothing
that rests on another Stadt's residents:

- a unit is the Stadt's when every Baublock it ever held lies in the Gemeinde (a Sozialraum across
  the border is not, and neither is the Kreis);
- only the levels the deployment publishes (no Baublock: those stay with the Kreis's office);
- the status and dynamics index within the Stadt where the catalogue has one (its areas are
  standardised among the Stadt's own), the county-wide index too (its values are published
  anyway).

One DuckDB file, written set-based from the warehouse (ATTACH, no rows through Python), with the
same rows for the same warehouse: no timestamps inside.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..errors import SozialmonitorError
from ..settings import Settings
from ..warehouse import connect, memory_limit, sql_string

EXPORT_TABLES = ("areas", "indicator_values", "indicator_series", "index_status_dynamics")


class GemeindeExportRefused(SozialmonitorError):
    exit_code = 2
    headline = "No export:"


@dataclass(frozen=True)
class GemeindeExport:
    path: Path
    gemeinde: str
    name: str
    rows: dict[str, int]


def export_gemeinde(settings: Settings, gemeinde: str, out: Path, force: bool = False) -> GemeindeExport:
    """Write the Gemeinde's own internal figures from the warehouse into the DuckDB file `out`."""
    if out.exists() and not force:
        raise GemeindeExportRefused(f"{out} exists; choose another file or pass --force to replace it")
    if not settings.warehouse_path.exists():
        raise GemeindeExportRefused(f"no warehouse at {settings.warehouse_path}: run the pipeline first")
    levels = [level for level in settings.project_vars.public_levels if level != "baublock"]
    con = connect(settings.warehouse_path, read_only=True, extensions=())
    try:
        found = con.execute(
            "select area_name from marts.dim_area where level = 'gemeinde' and area_id = ? order by valid_from desc",
            [gemeinde],
        ).fetchone()
        if found is None:
            query = "select distinct area_id from marts.dim_area where level = 'gemeinde'"
            known = [r[0] for r in con.execute(query).fetchall()]
            raise GemeindeExportRefused(
                f"'{gemeinde}' is no Gemeinde of the warehouse (its Gemeinden: {', '.join(sorted(known))})"
            )
    finally:
        con.close()
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    target = duckdb.connect(str(tmp), config={"autoinstall_known_extensions": False})
    target.execute(f"set memory_limit = '{memory_limit()}'")  # as the warehouse's own connections
    try:
        target.execute(f"attach {sql_string(settings.warehouse_path)} as wh (read_only)")
        target.execute(
            """create temp table own_units as
               with gemeinde_of_block as (
                   select distinct block_id, area_id as gemeinde
                   from wh.marts.dim_block_membership where level = 'gemeinde'
               )
               select m.level, m.area_id
               from wh.marts.dim_block_membership as m
               inner join gemeinde_of_block as g on g.block_id = m.block_id
               where m.level in (select unnest($levels))
               group by m.level, m.area_id
               having bool_and(g.gemeinde = $gemeinde)""",
            {"levels": levels, "gemeinde": gemeinde},
        )
        own = "(level, area_id) in (select level, area_id from own_units)"
        target.execute(f"create table areas as select * from wh.marts.dim_area where {own} order by all")
        target.execute(
            f"create table indicator_values as select * from wh.marts.fct_indicator_values where {own} order by all"
        )
        target.execute(
            f"create table indicator_series as select * from wh.marts.fct_indicator_values_current where {own} "
            "order by all"
        )
        target.execute(
            f"create table index_status_dynamics as select * from wh.marts.fct_index_status_dynamics where {own} "
            "order by all"
        )
        target.execute(
            "create table export as select $gemeinde as gemeinde, $name as gemeinde_name, "
            "'internal: not disclosure-controlled, for the Stadt''s own staff only' as use",
            {"gemeinde": gemeinde, "name": found[0]},
        )
        rows = {t: target.execute(f"select count(*) from {t}").fetchone()[0] for t in EXPORT_TABLES}
        target.execute("detach wh")
    finally:
        target.close()
    os.chmod(tmp, 0o600)  # internal figures: for the Stadt's own staff
    tmp.replace(out)
    return GemeindeExport(out, gemeinde, found[0], rows)
