"""The disclosure pattern of the public cells (see docs block `disclosure_pattern`).

Suppression (var disclosure_method = suppression): primary cells come from `disclosure_cells`; the
secondary cells are chosen one witness programme at a time (var disclosure_secondary_method:
incremental; or one mixed-integer programme per linked table: milp, HiGHS), each witness proving
for a withheld cell that an attacker who holds every public level, the Sozialräume and every
earlier release cannot narrow it to less than the protection width; exact integer bounds verify
the pattern and mend it.
Cell Key Method (cell_key): every cell gets its noise from the perturbation table instead.
Code: orchestration/disclosure/."""

import contextlib

COLUMNS = [
    "stichtag",
    "level",
    "area_id",
    "measure",
    "value",
    "min_count",
    "primary_reason",
    "reason",
    "status",
    "published_value",
    "earlier",
    "secondary_suppression",
]


def typed(pattern):
    """Fixed column types, also when a column is empty (else DuckDB guesses INTEGER for all-null)."""
    out = pattern[COLUMNS].copy()
    for column in ("level", "area_id", "measure", "primary_reason", "reason", "status", "earlier"):
        out[column] = out[column].astype("string")
    out["secondary_suppression"] = out["secondary_suppression"].astype("boolean")
    return out


def lagged_measures():
    """The lagged measures of the Kennzahlenkatalog and the measures they lag."""
    from orchestration.catalogue import default_path, load
    from orchestration.settings import Settings

    catalogue = load(default_path(Settings.from_env().dbt_project_dir))
    return frozenset(
        name for m in catalogue.measures if m.lag_years is not None for name in (m.id, m.of) if name is not None
    )


def pattern_memo(session):
    """The memo of earlier patterns: a table of the DuckDB warehouse, or on Spark a folder of the
    lake (orchestration/disclosure/pattern.py)."""
    from orchestration.disclosure.pattern import LAKE_MEMO_FOLDER, DuckDBMemo, LakeMemo
    from orchestration.settings import Settings

    if type(session).__module__.startswith("pyspark"):
        return LakeMemo(session, f"{Settings.from_env().lake}/{LAKE_MEMO_FOLDER}")
    return DuckDBMemo(session)


def model(dbt, session):
    from orchestration.engines import pandas_frame  # a DuckDB relation or a Spark DataFrame

    dbt.config(materialized="table")
    from orchestration.disclosure import DISCLOSURE_METHODS
    from orchestration.disclosure.linked import attacker_model
    from orchestration.disclosure.pattern import perturbation, suppression_pattern

    method = dbt.config.get("method")
    cells = pandas_frame(dbt.ref("disclosure_cells"))
    on_duckdb = not type(session).__module__.startswith("pyspark")
    memo_wanted = str(dbt.config.get("pattern_memo")).lower() in ("true", "1", "yes")
    if on_duckdb and (method != "suppression" or not memo_wanted):
        from orchestration.disclosure.pattern import drop_pattern_proofs

        drop_pattern_proofs(session)  # this pattern keeps no proofs: none of an earlier one stay
    if method == "cell_key":
        pattern = perturbation(cells)
        pattern["secondary_suppression"] = None
        return typed(pattern)
    if method != "suppression":
        raise ValueError(f"var disclosure_method must be one of {', '.join(DISCLOSURE_METHODS)}, not {method!r}")
    secondary = str(dbt.config.get("secondary_suppression")).lower() in ("true", "1", "yes")
    memo = pattern_memo(session) if memo_wanted else None
    try:
        pattern = suppression_pattern(
            cells,
            pandas_frame(dbt.ref("disclosure_area_atoms")),
            pandas_frame(dbt.ref("disclosure_atom_values")),
            pandas_frame(dbt.ref("disclosure_relations")),
            released=pandas_frame(dbt.ref("stg_ops__released_cells")),
            width=float(dbt.config.get("protection_width")),
            secondary=secondary,
            time_limit=float(dbt.config.get("solver_time_limit")),
            model=attacker_model(str(dbt.config.get("attacker_model"))),
            linked_across_time=lagged_measures(),
            memo=memo,
            method=str(dbt.config.get("secondary_method")),
        )
    except BaseException:
        # the patterns verified before the failure are kept, so a rerun need not solve them again
        # (the DuckDB memo writes each one as it is verified, and here the proofs it holds; the
        # lake's memo writes the patterns it holds); the failure is what is reported
        if hasattr(memo, "flush"):
            with contextlib.suppress(Exception):
                memo.flush()
        raise
    if hasattr(memo, "flush"):  # on Spark: the patterns solved now, all verified, in one file
        memo.flush()  # (the DuckDB memo has written its proofs by now: nothing left)
    pattern["secondary_suppression"] = secondary  # recorded, so a release states what was applied
    return typed(pattern)
