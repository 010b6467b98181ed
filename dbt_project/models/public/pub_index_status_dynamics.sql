{#- The status and dynamics index as published: int_public_index_status_dynamics (Python, computed
    from the published series only) under the enforced contract of _public.yml. -#}
{{ config(alias='index_status_dynamics') }}

select
    index_id,
    level,
    area_id,
    area_name,
    gebietsstand,
    stichtag,
    population,
    indexed,
    reason,
    estimated_inputs,
    status_z,
    status_class,
    dynamics_z,
    dynamics_class,
    dynamics_years,
    index_group
from {{ ref('int_public_index_status_dynamics') }}
