"""Rank uncertainty of the composite indices: median rank and 5-95 % band under random alternative choices.

Configured in the Kennzahlenkatalog (seed index_catalogue), computed on today's Gebietsstand
(fct_indicator_values_current). Code: orchestration/indices/marts.py."""


def model(dbt, session):
    from orchestration.engines import pandas_frame  # a DuckDB relation or a Spark DataFrame

    dbt.config(materialized="table")
    from orchestration.indices.marts import needed_filter, uncertainty

    index_catalogue = pandas_frame(dbt.ref("index_catalogue"))
    values = pandas_frame(dbt.ref("fct_indicator_values_current").filter(needed_filter(index_catalogue)))
    return uncertainty(values, index_catalogue)
