{#- Every spatial unit of every level with its name, its parent in the hierarchy (nested levels)
    and the period it is valid in. A unit whose parent changed (a recut) has one row per period.
    The parent is of the next nested level or, where the Gebietsgliederung skips one, of a higher
    one (parent_level): a Baublock's parent is its unit of the lowest nested level its Gemeinde has
    (a Stadtviertel, or a Stadtteil), a Stadtteil's the Gemeinde where there are no Stadtbezirke. -#}
{%- set nested = var('nested_levels') -%}
{%- set levels = [var('block_level')] + nested + var('non_nested_levels') -%}

with areas as (
    select * from {{ ref('stg_geo__areas') }}
),

block_parents as (
    select * from {{ ref('stg_geo__block_memberships') }}
    where level in ({{ sql_list(nested) }})
),

blocks as (
    select
        '{{ var("block_level") }}' as level,
        block_id as area_id,
        'Baublock ' || block_id as area_name,
        level as parent_level,
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
        parent_level,
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
