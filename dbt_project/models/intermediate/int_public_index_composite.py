"""The published composite indices with their dimension sub-indices and rank bands, computed from
the published harmonised series (pub_indicator_series) only, withheld values estimated from
published ones: they cannot tell more about a protected count than the published values do.
Code: orchestration/indices/public.py.
Published as public.index_composite by the SQL model pub_index_composite, whose contract fixes the columns
(dbt enforces contracts on SQL models only)."""


def model(dbt, session):
    from orchestration.engines import pandas_frame  # a DuckDB relation or a Spark DataFrame

    dbt.config(materialized="table")
    from orchestration.indices.marts import needed_indicators
    from orchestration.indices.public import public_composite

    index_catalogue = pandas_frame(dbt.ref("index_catalogue"))
    series = pandas_frame(dbt.ref("pub_indicator_series").filter(needed_indicators(index_catalogue)))
    areas = pandas_frame(dbt.ref("pub_areas"))
    catalogue = pandas_frame(dbt.ref("pub_indicator_catalogue"))
    return public_composite(series, index_catalogue, catalogue, areas)
