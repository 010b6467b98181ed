"""The release gates as code: one suite per concern, each a frame computed in DuckDB (set-based, so
it stays small at any city size) and a list of Great Expectations expectations over that frame.

Severity follows Great Expectations: `critical` blocks the release, `warning` is carried into the
release's gate report. Thresholds come from `gates.yml` and, per indicator, from the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestration.warehouse import valid_at

BLOCK = "critical"
WARN = "warning"


@dataclass(frozen=True)
class Catalogue:
    rows: list[dict[str, Any]]

    @property
    def ids(self) -> list[str]:
        return [r["indicator_id"] for r in self.rows]


@dataclass(frozen=True)
class Suite:
    name: str
    target: str  # the mart this suite gates (a Dagster asset key, "schema/table")
    description: str
    sql: Callable[[dict, Catalogue], str]
    expectations: Callable[[dict, Catalogue], list]


def _levels(config: dict) -> str:
    return ", ".join(f"'{level}'" for level in config["levels"])


def _where(column: str, value: str):
    """Restrict an expectation to the rows where `column` equals `value` (GX condition object)."""
    from great_expectations.expectations.row_conditions import Column

    return Column(column) == value


def _bound(value: float | None, open_end: str) -> str:
    return open_end if value is None else f"{value:g}"


# --- completeness ---------------------------------------------------------------------------------


def completeness_sql(config: dict, catalogue: Catalogue) -> str:
    return f"""
    with expected as (
        select a.level, s.stichtag, a.area_id, c.indicator_id
        from marts.dim_area as a
        inner join intermediate.int_stichtage as s
            on {valid_at("a", "s.stichtag")}
        cross join reference.indicator_catalogue as c
    ),
    joined as (
        select e.level, e.stichtag, e.area_id, e.indicator_id, v.indicator_id is not null as present
        from expected as e
        left join marts.fct_indicator_values as v
            on v.level = e.level and v.area_id = e.area_id
            and v.stichtag = e.stichtag and v.indicator_id = e.indicator_id
    )
    select
        level,
        stichtag,
        count(distinct area_id) as areas,
        count(*) as expected_values,
        count(*) filter (where present) as present_values,
        min(area_id || ' / ' || indicator_id) filter (where not present) as first_missing
    from joined
    group by level, stichtag
    order by level, stichtag
    """


def completeness_expectations(config: dict, catalogue: Catalogue) -> list:
    import great_expectations as gx

    return [
        gx.expectations.ExpectColumnPairValuesToBeEqual(
            column_A="expected_values",
            column_B="present_values",
            severity=BLOCK,
            description="Every unit of every level has every catalogue indicator at every Stichtag.",
        ),
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="areas",
            min_value=1,
            severity=BLOCK,
            description="Every level has units at every Stichtag.",
        ),
        gx.expectations.ExpectColumnDistinctValuesToContainSet(
            column="level",
            value_set=list(config["levels"]),
            severity=BLOCK,
            description="Every gated level is present.",
        ),
    ]


# --- plausible ranges -----------------------------------------------------------------------------


def ranges_sql(config: dict, catalogue: Catalogue) -> str:
    return f"""
    select v.indicator_id, v.level, v.area_id, v.stichtag, v.value
    from marts.fct_indicator_values as v
    where v.level in ({_levels(config)}) and v.value is not null
    order by v.indicator_id, v.level, v.area_id, v.stichtag
    """


def ranges_expectations(config: dict, catalogue: Catalogue) -> list:
    import great_expectations as gx

    out = []
    for row in catalogue.rows:
        low, high = row.get("plausible_min"), row.get("plausible_max")
        if row["unit"] == "%":  # a share unless the catalogue says otherwise (a change, a cross-source rate)
            low = 0.0 if low is None else low
            high = 100.0 if high is None else high
        if low is None and high is None:
            continue
        out.append(
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="value",
                min_value=low,
                max_value=high,
                row_condition=_where("indicator_id", row["indicator_id"]),
                severity=BLOCK,
                description=f"{row['indicator_id']} lies within its plausible range "
                f"[{_bound(low, '−∞')}, {_bound(high, '∞')}] {row['unit']}.",
            )
        )
    return out


# --- hierarchy ------------------------------------------------------------------------------------


def hierarchy_sql(config: dict, catalogue: Catalogue) -> str:
    return f"""
    with catalogue as (select * from reference.indicator_catalogue),
    measures as (
        select distinct v.level, v.area_id, v.stichtag, c.numerator_measure as measure, v.numerator as amount
        from marts.fct_indicator_values as v inner join catalogue as c using (indicator_id)
        union
        select distinct v.level, v.area_id, v.stichtag, c.denominator_measure as measure, v.denominator as amount
        from marts.fct_indicator_values as v inner join catalogue as c using (indicator_id)
        where c.denominator_measure is not null
    ),
    children as (
        select a.level, a.area_id, a.parent_level, a.parent_id, s.stichtag
        from marts.dim_area as a
        inner join intermediate.int_stichtage as s
            on {valid_at("a", "s.stichtag")}
        where a.parent_id is not null
    ),
    summed as (
        select ch.level as child_level, ch.parent_level, ch.parent_id, ch.stichtag, m.measure,
            sum(coalesce(m.amount, 0)) as children_sum, count(*) as children
        from children as ch
        inner join measures as m
            on m.level = ch.level and m.area_id = ch.area_id and m.stichtag = ch.stichtag
        group by ch.level, ch.parent_level, ch.parent_id, ch.stichtag, m.measure
    )
    select s.child_level, s.parent_level, s.parent_id, s.stichtag, s.measure, s.children,
        coalesce(p.amount, 0) as parent_value, s.children_sum,
        coalesce(p.amount, 0) - s.children_sum as difference
    from summed as s
    left join measures as p
        on p.level = s.parent_level and p.area_id = s.parent_id and p.stichtag = s.stichtag and p.measure = s.measure
    order by s.child_level, s.parent_id, s.stichtag, s.measure
    """


def hierarchy_expectations(config: dict, catalogue: Catalogue) -> list:
    import great_expectations as gx

    tol = float(config["hierarchy"]["tolerance"])
    return [
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="difference",
            min_value=-tol,
            max_value=tol,
            severity=BLOCK,
            description="Counts of every unit equal the sum over its member units (Baublock → … → Gemeinde, "
            "Sozialraum → Gemeinde), for every measure and Stichtag.",
        ),
        gx.expectations.ExpectTableRowCountToBeBetween(
            min_value=1, severity=BLOCK, description="There are parent–child relations to check."
        ),
    ]


# --- reconciliation raw ↔ mart --------------------------------------------------------------------


def reconciliation_sql(config: dict, catalogue: Catalogue) -> str:
    return """
    with register as (
        select stichtag, count(*) as records
        from staging.stg_register__persons where is_resident group by stichtag
    ),
    raw_register as (
        select stichtag, count(*) as raw_rows from raw.register_persons group by stichtag
    ),
    staged_register as (
        select stichtag, count(*) as staged_rows from staging.stg_register__persons group by stichtag
    ),
    unassigned as (
        select stichtag, count(*) as records
        from intermediate.int_persons_assigned_to_blocks
        where is_resident and block_id is null group by stichtag
    ),
    published as (
        select v.stichtag, v.numerator as records
        from marts.fct_indicator_values as v
        inner join reference.indicator_catalogue as c using (indicator_id)
        where v.level = 'gemeinde' and c.numerator_measure = 'residents' and c.denominator_measure is null
    )
    select
        'residents' as quantity,
        r.stichtag,
        rr.raw_rows,
        sr.staged_rows,
        r.records as register_records,
        coalesce(p.records, 0) as published_records,
        coalesce(u.records, 0) as unassigned_records,
        coalesce(p.records, 0) + coalesce(u.records, 0) as published_plus_unassigned
    from register as r
    full outer join published as p using (stichtag)
    left join unassigned as u using (stichtag)
    left join raw_register as rr using (stichtag)
    left join staged_register as sr using (stichtag)
    order by r.stichtag
    """


def reconciliation_expectations(config: dict, catalogue: Catalogue) -> list:
    import great_expectations as gx

    return [
        gx.expectations.ExpectColumnPairValuesToBeEqual(
            column_A="register_records",
            column_B="published_plus_unassigned",
            severity=BLOCK,
            description="Residents per Stichtag: the register's count equals the Gemeinde's published residents "
            "plus the residents whose address could not be assigned.",
        ),
        gx.expectations.ExpectColumnPairValuesToBeEqual(
            column_A="raw_rows",
            column_B="staged_rows",
            severity=BLOCK,
            description="Every loaded register row reaches staging (none dropped or duplicated).",
        ),
        gx.expectations.ExpectColumnValuesToNotBeNull(
            column="register_records",
            severity=BLOCK,
            description="Every Stichtag in the marts has a register extract.",
        ),
    ]


# --- address assignment ---------------------------------------------------------------------------


def assignment_sql(config: dict, catalogue: Catalogue) -> str:
    return """
    select source, stichtag, records, assigned, unassigned, assignment_rate
    from marts.fct_address_assignment
    order by source, stichtag
    """


def assignment_expectations(config: dict, catalogue: Catalogue) -> list:
    import great_expectations as gx

    settings = config["address_assignment"]
    sources = ["register_persons", "register_movements", "jobcenter_sgb2", "sozialamt_sgb12", "wohngeld"]
    sources = sorted(set(sources) | set(settings.get("sources") or {}))
    out = []
    for source in sources:
        limits = {**settings["default"], **((settings.get("sources") or {}).get(source) or {})}
        for key, severity in (("block_below", BLOCK), ("warn_below", WARN)):
            out.append(
                gx.expectations.ExpectColumnValuesToBeBetween(
                    column="assignment_rate",
                    min_value=float(limits[key]),
                    row_condition=_where("source", source),
                    severity=severity,
                    description=f"At least {limits[key]:g} % of the {source} records are assigned to a Baublock.",
                )
            )
    return out


# --- year over year -------------------------------------------------------------------------------


def year_over_year_sql(config: dict, catalogue: Catalogue) -> str:
    return f"""
    with days as (
        select stichtag, lag(stichtag) over (order by stichtag) as previous
        from intermediate.int_stichtage
    ),
    footprints as (
        select m.level, m.area_id, d.stichtag,
            md5(string_agg(m.block_id, ',' order by m.block_id)) as footprint
        from marts.dim_block_membership as m
        inner join days as d
            on {valid_at("m", "d.stichtag")}
        where m.level in ({_levels(config)})
        group by m.level, m.area_id, d.stichtag
    ),
    v as (
        select v.indicator_id, v.level, v.area_id, v.stichtag, v.value, c.unit,
            coalesce(v.denominator, v.numerator) as base
        from marts.fct_indicator_values as v
        inner join reference.indicator_catalogue as c using (indicator_id)
        where v.level in ({_levels(config)}) and v.value is not null
    )
    select cur.indicator_id, cur.level, cur.area_id, cur.stichtag, d.previous as previous_stichtag,
        prev.value as previous_value, cur.value,
        case when cur.unit = 'Anzahl' then 100.0 * (cur.value - prev.value) / nullif(prev.value, 0)
             else cur.value - prev.value end as change
    from v as cur
    inner join days as d on d.stichtag = cur.stichtag
    inner join v as prev
        on prev.indicator_id = cur.indicator_id and prev.level = cur.level
        and prev.area_id = cur.area_id and prev.stichtag = d.previous
    inner join footprints as f1
        on f1.level = cur.level and f1.area_id = cur.area_id and f1.stichtag = cur.stichtag
    inner join footprints as f2
        on f2.level = cur.level and f2.area_id = cur.area_id and f2.stichtag = d.previous
    where f1.footprint = f2.footprint
        and least(cur.base, prev.base) >= {int(config["year_over_year"]["min_base"])}
    order by cur.indicator_id, cur.level, cur.area_id, cur.stichtag
    """


def year_over_year_expectations(config: dict, catalogue: Catalogue) -> list:
    import great_expectations as gx

    out = []
    for row in catalogue.rows:
        unit = "%" if row["unit"] == "Anzahl" else ("percentage points" if row["unit"] == "%" else row["unit"])
        for key, severity, verb in (("change_block", BLOCK, "blocks"), ("change_warn", WARN, "warns")):
            limit = row.get(key)
            if limit is None:
                continue
            out.append(
                gx.expectations.ExpectColumnValuesToBeBetween(
                    column="change",
                    min_value=-float(limit),
                    max_value=float(limit),
                    row_condition=_where("indicator_id", row["indicator_id"]),
                    severity=severity,
                    description=f"{row['indicator_id']}: a change against the previous Stichtag beyond "
                    f"±{float(limit):g} {unit} {verb}.",
                )
            )
    return out


# --- record counts -------------------------------------------------------------------------------


def _record_count_settings(config: dict) -> dict:
    settings = config.get("record_counts") or {}
    return {
        "default": float((settings.get("default") or {}).get("block_change_pct", 15)),
        "sources": {k: float(v["block_change_pct"]) for k, v in (settings.get("sources") or {}).items()},
        "min_records": int(settings.get("min_records", 1000)),
        "explained": list(settings.get("explained") or []),
    }


def record_counts_sql(config: dict, catalogue: Catalogue) -> str:
    """Records loaded per source and Stichtag against the previous Stichtag of the same source. A
    delivery cut at a row boundary, a filtered export or a doubled one shows here as a jump."""
    from orchestration.ingest.checks import lit

    settings = _record_count_settings(config)
    limits = " ".join(f"when {lit(source)} then {limit!r}" for source, limit in sorted(settings["sources"].items()))
    limit_sql = f"case source {limits} else {settings['default']!r} end" if limits else repr(settings["default"])
    explained = [(str(e["source"]), str(e["stichtag"])) for e in settings["explained"]]
    explained_sql = (
        "(" + ", ".join(f"({lit(src)}, date {lit(day)})" for src, day in explained) + ")" if explained else None
    )
    is_explained = f"(source, stichtag) in {explained_sql}" if explained_sql else "false"
    return f"""
    with latest as (
        select source, stichtag, rows
        from raw._load_log
        where stichtag is not null
        qualify row_number() over (partition by source, stichtag order by loaded_at desc) = 1
    ),
    changes as (
        select source, stichtag, rows,
            lag(stichtag) over (partition by source order by stichtag) as previous_stichtag,
            lag(rows) over (partition by source order by stichtag) as previous_rows
        from latest
    )
    select source, stichtag, previous_stichtag, previous_rows, rows,
        round(100.0 * (rows - previous_rows) / previous_rows, 2) as change_pct,
        {limit_sql} as limit_pct,
        {is_explained} as explained,
        -- how far the change goes beyond its limit (null: not compared: first Stichtag, a small
        -- source, or a change explained in gates.yml)
        case when previous_rows is null or previous_rows < {settings["min_records"]}
                  or rows < {settings["min_records"]} or {is_explained} then null
             else round(abs(100.0 * (rows - previous_rows) / previous_rows) - {limit_sql}, 2) end as beyond_limit_pct
    from changes
    order by source, stichtag
    """


def record_counts_expectations(config: dict, catalogue: Catalogue) -> list:
    import great_expectations as gx

    settings = _record_count_settings(config)
    return [
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="beyond_limit_pct",
            max_value=0.0,
            severity=BLOCK,
            description=(
                "The records delivered per source change against the previous Stichtag by at most "
                f"{settings['default']:g} % ("
                + ", ".join(f"{k}: {v:g} %" for k, v in sorted(settings["sources"].items()))
                + "), unless the change is explained in gates.yml (record_counts.explained); an unexplained "
                "drop or jump is an incomplete or doubled delivery until someone says why."
            ),
        )
    ]


SUITES: tuple[Suite, ...] = (
    Suite(
        "completeness",
        "marts/fct_indicator_values",
        "Every unit of every level has every indicator at every Stichtag.",
        completeness_sql,
        completeness_expectations,
    ),
    Suite(
        "plausible_ranges",
        "marts/fct_indicator_values",
        "Shares within 0–100 and every indicator within its plausible range (catalogue).",
        ranges_sql,
        ranges_expectations,
    ),
    Suite(
        "hierarchy",
        "marts/fct_indicator_values",
        "Counts at a level add up to the level above.",
        hierarchy_sql,
        hierarchy_expectations,
    ),
    Suite(
        "reconciliation",
        "marts/fct_indicator_values",
        "Raw ↔ mart: residents per Stichtag equal the register's count.",
        reconciliation_sql,
        reconciliation_expectations,
    ),
    Suite(
        "record_counts",
        "marts/fct_indicator_values",
        "Every source's record count per Stichtag against the previous one: no unexplained drop or jump.",
        record_counts_sql,
        record_counts_expectations,
    ),
    Suite(
        "address_assignment",
        "marts/fct_address_assignment",
        "The share of records assigned to a Baublock is above its threshold for every source.",
        assignment_sql,
        assignment_expectations,
    ),
    Suite(
        "year_over_year",
        "marts/fct_indicator_values",
        "The change of each indicator against the previous Stichtag stays within its limits (catalogue).",
        year_over_year_sql,
        year_over_year_expectations,
    ),
)

SUITE_NAMES = tuple(s.name for s in SUITES)
