{#- The spatial units of the public levels with their names, parents and Gebietsstand. -#}
{{ config(alias='areas') }}

select
    level,
    level_rank,
    is_nested,
    area_id,
    area_name,
    parent_level,
    parent_id,
    valid_from,
    valid_to
from {{ ref('dim_area') }}
where level in ({{ sql_list(var('public_levels')) }})
