{#- Every Baublock's unit at every level, with the period in which that holds.
    The Baublock itself is a level (identity). The first nested level and every non-nested level
    come from the membership file; each further nested level follows the parent codes of the
    Gebietsgliederung, intersecting the validity periods on the way, so a recut at any level
    reaches all levels above it. -#}
{%- set nested = var('nested_levels') -%}

with memberships as (
    select * from {{ ref('stg_geo__block_memberships') }}
),

areas as (
    select * from {{ ref('stg_geo__areas') }}
),

blocks as (
    -- every Baublock of the Gebietsgliederung, also those without any address (parks, fields)
    select block_id, min(valid_from) as valid_from,
        case when count(*) = count(valid_to) then max(valid_to) end as valid_to
    from memberships
    where level = '{{ nested[0] }}'
    group by block_id
),

level_{{ var('block_level') }} as (
    select block_id, '{{ var("block_level") }}' as level, block_id as area_id, valid_from, valid_to
    from blocks
),

level_{{ nested[0] }} as (
    select block_id, level, area_id, valid_from, valid_to
    from memberships
    where level = '{{ nested[0] }}'
),
{% for level in nested[1:] %}
{%- set child = nested[loop.index0] %}
level_{{ level }} as (
    select
        c.block_id,
        '{{ level }}' as level,
        a.parent_id as area_id,
        greatest(c.valid_from, a.valid_from) as valid_from,
        case
            when c.valid_to is null then a.valid_to
            when a.valid_to is null then c.valid_to
            else least(c.valid_to, a.valid_to)
        end as valid_to
    from level_{{ child }} as c
    inner join areas as a
        on a.level = '{{ child }}'
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
    {% for level in nested %}
    union all
    select * from level_{{ level }}
    {% endfor %}
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
