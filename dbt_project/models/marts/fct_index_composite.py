"""Composite indices (child participation) with their dimension sub-indices.

Configured in the Kennzahlenkatalog (seed index_catalogue), computed on today's Gebietsstand
(fct_indicator_values_current). Code: orchestration/indices/marts.py."""


def model(dbt, session):
    from orchestration.engines import pandas_frame  # a DuckDB relation or a Spark DataFrame

    dbt.config(materialized="table")
    from orchestration.indices.marts import composite, needed_filter

    index_catalogue = pandas_frame(dbt.ref("index_catalogue"))
    values = pandas_frame(dbt.ref("fct_indicator_values_current").filter(needed_filter(index_catalogue)))
    return composite(values, index_catalogue)
