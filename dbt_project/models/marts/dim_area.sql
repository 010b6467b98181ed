{#- Every spatial unit of every level with its name, its parent in the hierarchy (nested levels)
    and the period it is valid in. A unit whose parent changed (a recut) has one row per period. -#}
{%- set nested = var('nested_levels') -%}
{%- set levels = [var('block_level')] + nested + var('non_nested_levels') -%}

with areas as (
    select * from {{ ref('stg_geo__areas') }}
),

block_parents as (
    select * from {{ ref('stg_geo__block_memberships') }}
    where level = '{{ nested[0] }}'
),

blocks as (
    select
        '{{ var("block_level") }}' as level,
        block_id as area_id,
        'Baublock ' || block_id as area_name,
        '{{ nested[0] }}' as parent_level,
        area_id as parent_id,
        valid_from,
        valid_to
    from block_parents
),

upper_levels as (
    select
        level,
        area_id,
        area_name,
        case level
            {%- for level in nested[:-1] %}
            when '{{ level }}' then '{{ nested[loop.index] }}'
            {%- endfor %}
            {%- for level in var('non_nested_levels') %}
            when '{{ level }}' then '{{ nested[-1] }}'
            {%- endfor %}
        end as parent_level,
        parent_id,
        valid_from,
        valid_to
    from areas
),

unioned as (
    select * from blocks
    union all
    select * from upper_levels
),

final as (
    select
        level,
        case level
            {%- for level in levels %}
            when '{{ level }}' then {{ loop.index }}
            {%- endfor %}
        end as level_rank,
        level in ('{{ var("block_level") }}'{% for l in nested %}, '{{ l }}'{% endfor %}) as is_nested,
        area_id,
        area_name,
        parent_level,
        parent_id,
        valid_from,
        valid_to
    from unioned
)

select * from final
