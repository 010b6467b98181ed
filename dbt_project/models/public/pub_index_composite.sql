{#- The composite indices as published: int_public_index_composite (Python, computed from the
    published series only) under the enforced contract of _public.yml. -#}
{{ config(alias='index_composite') }}

select
    index_id,
    level,
    area_id,
    area_name,
    gebietsstand,
    stichtag,
    component,
    component_name,
    value,
    rank,
    indexed,
    reason,
    missing_indicators,
    estimated_inputs,
    median_rank,
    rank_p05,
    rank_p95,
    draws
from {{ ref('int_public_index_composite') }}
