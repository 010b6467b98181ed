"""The index specifications as published (seed index_catalogue): indicators, thresholds, minimum
population, exclusions, dimensions, weights and the uncertainty settings, so that a reader can
recompute every published index from the release. An index with `also_within` (a Kreis: `gemeinde`)
gets a second row `<index_id>__innerhalb_<level>` where its areas lie in two or more units of that
level, whose config names each area's unit (from dim_block_membership on today's Gebietsstand).
Code: orchestration/indices/public.py, orchestration/indices/within.py.
Published as public.index_catalogue by the SQL model pub_index_catalogue, whose contract fixes the columns
(dbt enforces contracts on SQL models only)."""


def model(dbt, session):
    from orchestration.engines import pandas_frame  # a DuckDB relation or a Spark DataFrame

    dbt.config(materialized="table")
    from orchestration.indices.public import index_catalogue_public
    from orchestration.indices.within import expand_from_memberships, requested

    index_catalogue = pandas_frame(dbt.ref("index_catalogue"))
    if requested(index_catalogue):
        today = pandas_frame(dbt.ref("int_current_gebietsstand"))["current_date"].iloc[0]
        memberships = pandas_frame(dbt.ref("dim_block_membership"))
        index_catalogue = expand_from_memberships(index_catalogue, memberships, today)
    return index_catalogue_public(index_catalogue)
