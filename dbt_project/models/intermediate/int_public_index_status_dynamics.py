"""The published status and dynamics index (method of Berlin's MSS), computed from the published
harmonised series (pub_indicator_series) only, withheld values estimated from published ones: it
cannot tell more about a protected count than the published values do. The indices are those of the
published catalogue (int_public_index_catalogue: with the indices computed within each Gemeinde of a
Kreis). Code: orchestration/indices/public.py.
Published as public.index_status_dynamics by the SQL model pub_index_status_dynamics, whose contract fixes the columns
(dbt enforces contracts on SQL models only)."""


def model(dbt, session):
    from orchestration.engines import pandas_frame  # a DuckDB relation or a Spark DataFrame

    dbt.config(materialized="table")
    from orchestration.indices.marts import needed_indicators
    from orchestration.indices.public import public_status_dynamics

    index_catalogue = pandas_frame(dbt.ref("int_public_index_catalogue"))
    series = pandas_frame(dbt.ref("pub_indicator_series").filter(needed_indicators(index_catalogue)))
    areas = pandas_frame(dbt.ref("pub_areas"))
    catalogue = pandas_frame(dbt.ref("pub_indicator_catalogue"))
    return public_status_dynamics(series, index_catalogue, catalogue, areas)
