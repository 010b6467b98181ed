"""The release gates as code: one suite per concern, each a frame and a list of Great Expectations
expectations over that frame. The frames are dbt models (dbt_project/models/gates/, schema `gates`,
set-based views, so they stay small at any city size): a suite reads `select * from gates.<model>`,
restricted only by settings of gates.yml (levels, the smallest base compared); no SQL logic lives
here. The dbt tests assert_every_area_has_every_indicator and assert_counts_add_up_the_hierarchy read
the same models.

Severity follows Great Expectations: `critical` blocks the release, `warning` is carried into the
release's gate report. Thresholds come from `gates.yml` and, per indicator, from the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

BLOCK = "critical"
WARN = "warning"
GATES_SCHEMA = "gates"  # dbt_project/models/gates/


@dataclass(frozen=True)
class Catalogue:
    rows: list[dict[str, Any]]

    @property
    def ids(self) -> list[str]:
        return [r["indicator_id"] for r in self.rows]


@dataclass(frozen=True)
class PerIndicator:
    """A suite with one expectation per indicator checks one column per indicator: its frame (one
    row per indicator, level, unit and Stichtag) is spread to one row per level, unit and Stichtag
    with a column per indicator holding `value`. Great Expectations then checks each column as it
    is: the same values as a condition on `indicator_id` would select, without the pandas query
    that such a condition costs per metric (half of the gates' time on the demo city)."""

    value: str  # the column of the frame the expectations check
    key: tuple[str, ...] = ("level", "area_id", "stichtag")
    by: str = "indicator_id"


@dataclass(frozen=True)
class Suite:
    name: str
    target: str  # the mart this suite gates (a Dagster asset key, "schema/table")
    description: str
    model: str  # the dbt model in schema GATES_SCHEMA the suite reads (its frame)
    sql: Callable[[dict, Catalogue], str]
    expectations: Callable[[dict, Catalogue], list]
    per_indicator: PerIndicator | None = None


def _levels(config: dict) -> str:
    return ", ".join(f"'{level}'" for level in config["levels"])


def _model(model: str, order_by: str, columns: str = "*", where: str | None = None) -> str:
    """The query of a suite's frame: its dbt model in schema `gates`, in a fixed order (the examples
    of a failed expectation are the first offending rows)."""
    restriction = f" where {where}" if where else ""
    return f"select {columns} from {GATES_SCHEMA}.{model}{restriction} order by {order_by}"


def _where(column: str, value: str):
    """Restrict an expectation to the rows where `column` equals `value` (GX condition object)."""
    from great_expectations.expectations.row_conditions import Column

    return Column(column) == value


def _bound(value: float | None, open_end: str) -> str:
    return open_end if value is None else f"{value:g}"


# --- completeness ---------------------------------------------------------------------------------


def _introduced_levels(config: dict) -> list[dict[str, str]]:
    """gates.yml completeness.introduced: levels a city introduced after its first Stichtag, each with
    the first Stichtag that must have units of it, why, and who decided. A level missing at a
    Stichtag is otherwise a broken geometry delivery, so only what is named here is exempt."""
    entries = (config.get("completeness") or {}).get("introduced") or []
    out = []
    for number, entry in enumerate(entries, 1):
        missing = [key for key in ("level", "from", "reason", "by") if not (entry or {}).get(key)]
        if missing:
            raise ValueError(
                f"gates.yml completeness.introduced, entry {number}: it needs {', '.join(missing)} "
                "(the level, its first Stichtag as YYYY-MM-DD, why, and who decided)"
            )
        first = entry["from"]
        try:
            first = first if isinstance(first, date) else date.fromisoformat(str(first))
        except ValueError:
            raise ValueError(
                f"gates.yml completeness.introduced, entry {number}: from: {first!r} is no date; write YYYY-MM-DD"
            ) from None
        out.append({"level": str(entry["level"]), "from": first.isoformat(), "reason": str(entry["reason"]),
                    "by": str(entry["by"])})  # fmt: skip
    return out


def completeness_sql(config: dict, catalogue: Catalogue) -> str:
    """The model gate_completeness with gates.yml's introduced levels applied: `areas_required` is
    the number of units (null where the level is not yet introduced at that Stichtag: not checked)."""
    from orchestration.ingest.checks import lit

    introduced = _introduced_levels(config)
    before = " or ".join(f"(level = {lit(e['level'])} and stichtag < date {lit(e['from'])})" for e in introduced)
    return _model(
        "gate_completeness",
        "level, stichtag",
        columns=f"*, case when {before or 'false'} then null else areas end as areas_required",
    )


def completeness_expectations(config: dict, catalogue: Catalogue) -> list:
    import great_expectations as gx

    introduced = _introduced_levels(config)
    exempt = "".join(f" {e['level']} only from {e['from']} on ({e['reason']}; {e['by']})." for e in introduced)
    return [
        gx.expectations.ExpectColumnPairValuesToBeEqual(
            column_A="expected_values",
            column_B="present_values",
            severity=BLOCK,
            description="Every unit of every level has every catalogue indicator at every Stichtag.",
        ),
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="areas_required",
            min_value=1,
            severity=BLOCK,
            description="Every level has units at every Stichtag, unless gates.yml says it was introduced later "
            "(completeness.introduced)." + exempt,
        ),
        gx.expectations.ExpectColumnDistinctValuesToContainSet(
            column="level",
            value_set=list(config["levels"]),
            severity=BLOCK,
            description="Every gated level is present.",
        ),
    ] + (
        [
            gx.expectations.ExpectColumnDistinctValuesToContainSet(
                column="level",
                value_set=sorted({e["level"] for e in introduced}),
                severity=BLOCK,
                description="Every level named in gates.yml completeness.introduced is a level of the warehouse "
                "(a misspelt one would exempt nothing).",
            )
        ]
        if introduced
        else []
    )


# --- plausible ranges -----------------------------------------------------------------------------


def ranges_sql(config: dict, catalogue: Catalogue) -> str:
    return _model(
        "gate_plausible_ranges", "indicator_id, level, area_id, stichtag", where=f"level in ({_levels(config)})"
    )


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
                column=row["indicator_id"],  # the indicator's values (PerIndicator)
                min_value=low,
                max_value=high,
                severity=BLOCK,
                description=f"{row['indicator_id']} lies within its plausible range "
                f"[{_bound(low, '−∞')}, {_bound(high, '∞')}] {row['unit']}.",
            )
        )
    return out


# --- hierarchy ------------------------------------------------------------------------------------


def hierarchy_sql(config: dict, catalogue: Catalogue) -> str:
    return _model("gate_hierarchy", "child_level, parent_level, parent_id, stichtag, measure")  # its key


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
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="indicator_spread",
            min_value=0,
            max_value=tol,
            severity=BLOCK,
            description="The indicators that share a measure (a denominator) give the same sum over the member units.",
        ),
        gx.expectations.ExpectTableRowCountToBeBetween(
            min_value=1, severity=BLOCK, description="There are parent–child relations to check."
        ),
    ]


# --- reconciliation raw ↔ mart --------------------------------------------------------------------


def reconciliation_sql(config: dict, catalogue: Catalogue) -> str:
    return _model("gate_reconciliation", "stichtag")


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
    return _model("gate_address_assignment", "source, stichtag")


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
    """Only at the gated levels, and only where both values rest on at least `min_base` (small units
    swing by chance)."""
    min_base = int(config["year_over_year"]["min_base"])
    return _model(
        "gate_year_over_year",
        "indicator_id, level, area_id, stichtag",
        columns="* exclude (comparison_base)",
        where=f"level in ({_levels(config)}) and comparison_base >= {min_base}",
    )


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
                    column=row["indicator_id"],  # the indicator's changes (PerIndicator)
                    min_value=-float(limit),
                    max_value=float(limit),
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
    """Records loaded per source and Stichtag against the previous Stichtag of the same source (the
    model gate_record_counts), with the settings of gates.yml applied: each source's limit, the
    changes explained there, and the smallest deliveries compared."""
    from orchestration.ingest.checks import lit

    settings = _record_count_settings(config)
    limits = " ".join(f"when {lit(source)} then {limit!r}" for source, limit in sorted(settings["sources"].items()))
    limit_sql = f"case source {limits} else {settings['default']!r} end" if limits else repr(settings["default"])
    explained = [(str(e["source"]), str(e["stichtag"])) for e in settings["explained"]]
    explained_sql = (
        "(" + ", ".join(f"({lit(src)}, date {lit(day)})" for src, day in explained) + ")" if explained else None
    )
    is_explained = f"(source, stichtag) in {explained_sql}" if explained_sql else "false"
    small = f"previous_rows is null or previous_rows < {settings['min_records']} or rows < {settings['min_records']}"
    # beyond_limit_pct: how far the change goes beyond its limit (null: not compared: first
    # Stichtag, a small source, or a change explained in gates.yml)
    return _model(
        "gate_record_counts",
        "delivery, stichtag",
        columns=f"""delivery, source, stichtag, previous_stichtag, previous_rows, rows, change_pct,
        {limit_sql} as limit_pct,
        {is_explained} as explained,
        case when {small} or {is_explained} then null
             else round(abs_change_pct - {limit_sql}, 2) end as beyond_limit_pct""",
    )


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


# --- deliveries per Gemeinde (a Kreis) -------------------------------------------------------------


def deliveries_sql(config: dict, catalogue: Catalogue) -> str:
    """Per source delivered per Gemeinde, Stichtag and Gemeinde: `missing` when the Gemeinde's file
    is not loaded although the Gemeinde delivers the source (for other Stichtage) or gates.yml says
    every Gemeinde must (deliveries.every_gemeinde)."""
    from orchestration.ingest.checks import lit

    required = sorted((config.get("deliveries") or {}).get("every_gemeinde") or [])
    must = f"source in ({', '.join(lit(s) for s in required)})" if required else "false"
    return _model(
        "gate_deliveries",
        "source, stichtag, gemeinde",
        columns=f"""source, stichtag, gemeinde, gemeinde_name, delivered,
        not delivered and (delivers_source or {must}) as missing""",
    )


def deliveries_expectations(config: dict, catalogue: Catalogue) -> list:
    import great_expectations as gx

    required = sorted((config.get("deliveries") or {}).get("every_gemeinde") or [])
    return [
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="missing",
            value_set=[False],
            severity=BLOCK,
            description=(
                "In a Kreis, every Stadt's file of a source it delivers is there for every Stichtag of "
                "that source (and every Stadt delivers " + (", ".join(required) or "-") + "): a Kreis "
                "total without one Stadt would be wrong. The release waits for the late delivery; the "
                "examples name the Stadt, the source and the Stichtag."
            ),
        )
    ]


SUITES: tuple[Suite, ...] = (
    Suite(
        "completeness",
        "marts/fct_indicator_values",
        "Every unit of every level has every indicator at every Stichtag.",
        "gate_completeness",
        completeness_sql,
        completeness_expectations,
    ),
    Suite(
        "plausible_ranges",
        "marts/fct_indicator_values",
        "Shares within 0–100 and every indicator within its plausible range (catalogue).",
        "gate_plausible_ranges",
        ranges_sql,
        ranges_expectations,
        PerIndicator("value"),
    ),
    Suite(
        "hierarchy",
        "marts/fct_indicator_values",
        "Counts at a level add up to the level above.",
        "gate_hierarchy",
        hierarchy_sql,
        hierarchy_expectations,
    ),
    Suite(
        "reconciliation",
        "marts/fct_indicator_values",
        "Raw ↔ mart: residents per Stichtag equal the register's count.",
        "gate_reconciliation",
        reconciliation_sql,
        reconciliation_expectations,
    ),
    Suite(
        "record_counts",
        "marts/fct_indicator_values",
        "Every source's record count per Stichtag against the previous one: no unexplained drop or jump.",
        "gate_record_counts",
        record_counts_sql,
        record_counts_expectations,
    ),
    Suite(
        "deliveries",
        "marts/fct_indicator_values",
        "In a Kreis: every Stadt delivered each source it delivers, for every Stichtag.",
        "gate_deliveries",
        deliveries_sql,
        deliveries_expectations,
    ),
    Suite(
        "address_assignment",
        "marts/fct_address_assignment",
        "The share of records assigned to a Baublock is above its threshold for every source.",
        "gate_address_assignment",
        assignment_sql,
        assignment_expectations,
    ),
    Suite(
        "year_over_year",
        "marts/fct_indicator_values",
        "The change of each indicator against the previous Stichtag stays within its limits (catalogue).",
        "gate_year_over_year",
        year_over_year_sql,
        year_over_year_expectations,
        PerIndicator("change"),
    ),
)

SUITE_NAMES = tuple(s.name for s in SUITES)
