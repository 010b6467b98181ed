"""The index specifications as published (seed index_catalogue): indicators, thresholds, minimum
population, exclusions, dimensions, weights and the uncertainty settings, so that a reader can
recompute every published index from the release. Code: orchestration/indices/public.py.
Published as public.index_catalogue by the SQL model pub_index_catalogue, whose contract fixes the columns
(dbt enforces contracts on SQL models only)."""


def model(dbt, session):
    dbt.config(materialized="table")
    from orchestration.indices.public import index_catalogue_public

    return index_catalogue_public(dbt.ref("index_catalogue").df())
