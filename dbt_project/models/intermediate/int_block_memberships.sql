{#- Every Baublock's unit at every level, with the period in which that holds.
    The Baublock itself is a level (identity). The membership file gives each Baublock one unit of
    a nested level - the lowest its Gemeinde has: a Stadtviertel, or a Stadtteil where the Gemeinde
    has no Stadtviertel - and its unit of every non-nested level. The nested units above follow the
    parents of the Gebietsgliederung (stg_geo__areas.parent_level/parent_id, which may skip a level:
    the Stadtteile of a Gemeinde without Stadtbezirke), intersecting the validity periods on the
    way, so a recut at any level reaches all levels above it. A level the Baublock's chain skips
    has no row for it.
    The walk is unrolled by Jinja, one step per nested level above the lowest (a parent is always
    of a higher level, so no chain is longer), rather than a recursive CTE: plain SQL that every
    engine runs. -#}
{%- set nested = var('nested_levels') -%}

with memberships as (
    select * from {{ ref('stg_geo__block_memberships') }}
),

areas as (
    select * from {{ ref('stg_geo__areas') }}
    where level in ({{ sql_list(nested) }})
        and parent_level in ({{ sql_list(nested) }})
        and parent_id is not null
),

blocks as (
    -- every Baublock of the Gebietsgliederung, also those without any address (parks, fields)
    select block_id, min(valid_from) as valid_from,
        case when count(*) = count(valid_to) then max(valid_to) end as valid_to
    from memberships
    where level in ({{ sql_list(nested) }})
    group by block_id
),

level_{{ var('block_level') }} as (
    select block_id, '{{ var("block_level") }}' as level, block_id as area_id, valid_from, valid_to
    from blocks
),

step_0 as (
    -- the nested unit each Baublock is assigned to
    select block_id, level, area_id, valid_from, valid_to
    from memberships
    where level in ({{ sql_list(nested) }})
),
{% for _ in nested[1:] %}
step_{{ loop.index }} as (
    -- the parents of the units of the step before
    select
        c.block_id,
        a.parent_level as level,
        a.parent_id as area_id,
        greatest(c.valid_from, a.valid_from) as valid_from,
        case
            when c.valid_to is null then a.valid_to
            when a.valid_to is null then c.valid_to
            else least(c.valid_to, a.valid_to)
        end as valid_to
    from step_{{ loop.index0 }} as c
    inner join areas as a
        on a.level = c.level
        and a.area_id = c.area_id
        and a.valid_from <= coalesce(c.valid_to, date '9999-12-31')
        and coalesce(a.valid_to, date '9999-12-31') >= c.valid_from
),
{% endfor %}
non_nested as (
    select block_id, level, area_id, valid_from, valid_to
    from memberships
    where level in ({{ sql_list(var('non_nested_levels')) }})
),

unioned as (
    select * from level_{{ var('block_level') }}
    {%- for _ in nested %}
    union all
    select * from step_{{ loop.index0 }}
    {%- endfor %}
    union all
    select * from non_nested
),

final as (
    select
        block_id,
        level,
        area_id,
        level in ('{{ var("block_level") }}'{% for level in nested %}, '{{ level }}'{% endfor %}) as is_nested,
        valid_from,
        valid_to
    from unioned
)

select * from final
