"""The index specifications as published (seed index_catalogue): indicators, thresholds, minimum
population, exclusions, dimensions, weights and the uncertainty settings, so that a reader can
recompute every published index from the release. Code: orchestration/indices/public.py."""


def model(dbt, session):
    dbt.config(materialized="table", alias="index_catalogue")
    from orchestration.indices.public import index_catalogue_public

    return index_catalogue_public(dbt.ref("index_catalogue").df())
