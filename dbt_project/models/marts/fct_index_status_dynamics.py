"""Status and dynamics index (method of Berlin's MSS) per index, level, Stichtag and area.

Configured in the Kennzahlenkatalog (seed index_catalogue), computed on today's Gebietsstand
(fct_indicator_values_current). Code: orchestration/indices/marts.py."""


def model(dbt, session):
    dbt.config(materialized="table")
    from orchestration.indices.marts import needed_filter, status_dynamics

    index_catalogue = dbt.ref("index_catalogue").df()
    values = dbt.ref("fct_indicator_values_current").filter(needed_filter(index_catalogue)).df()
    return status_dynamics(values, index_catalogue)
