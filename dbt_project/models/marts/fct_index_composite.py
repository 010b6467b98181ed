"""Composite indices (child participation) with their dimension sub-indices.

Configured in the Kennzahlenkatalog (seed index_catalogue), computed on today's Gebietsstand
(fct_indicator_values_current). Code: orchestration/indices/marts.py."""


def model(dbt, session):
    dbt.config(materialized="table")
    from orchestration.indices.marts import composite, needed_filter

    index_catalogue = dbt.ref("index_catalogue").df()
    values = dbt.ref("fct_indicator_values_current").filter(needed_filter(index_catalogue)).df()
    return composite(values, index_catalogue)
