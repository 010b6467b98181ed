"""Status and dynamics index (method of Berlin's MSS) per index, level, Stichtag and area.

Configured in the Kennzahlenkatalog (seed index_catalogue), computed on today's Gebietsstand
(fct_indicator_values_current). An index with `also_within` (a Kreis: `gemeinde`) is computed a
second time within each unit of that level, as `<index_id>__innerhalb_<level>`, where its areas lie
in two or more such units (each area's unit from dim_block_membership on today's Gebietsstand).
Code: orchestration/indices/marts.py, orchestration/indices/within.py."""


def model(dbt, session):
    from orchestration.engines import pandas_frame  # a DuckDB relation or a Spark DataFrame

    dbt.config(materialized="table")
    from orchestration.indices.marts import needed_filter, status_dynamics
    from orchestration.indices.within import expand_from_memberships, requested

    index_catalogue = pandas_frame(dbt.ref("index_catalogue"))
    if requested(index_catalogue):
        today = pandas_frame(dbt.ref("int_current_gebietsstand"))["current_date"].iloc[0]
        memberships = pandas_frame(dbt.ref("dim_block_membership"))
        index_catalogue = expand_from_memberships(index_catalogue, memberships, today)
    values = pandas_frame(dbt.ref("fct_indicator_values_current").filter(needed_filter(index_catalogue)))
    return status_dynamics(values, index_catalogue)
