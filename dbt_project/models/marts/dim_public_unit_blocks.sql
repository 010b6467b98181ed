{#- Which Baublöcke form each unit of the public levels, per Gebietsstand: one row per Gebietsstand,
    unit and Baublock, with the unit's name on that Gebietsstand.

    A Gebietsstand starts on every day the composition or a name of a public unit changes (a
    membership or a unit begins, or ends the day before); it holds until the next one starts
    (`gebietsstand_to`, inclusive; null for the last). All rows of one Gebietsstand share its
    first day, so the geography of any date is the rows of the latest `gebietsstand` on or before
    it: the release's GIS export selects them without validity logic of its own. -#}
{%- set public_levels -%}
    ({{ sql_list(var('public_levels')) }})
{%- endset %}

with memberships as (
    select level, area_id, block_id, valid_from, valid_to
    from {{ ref('dim_block_membership') }}
    where level in {{ public_levels }}
),

areas as (
    select level, area_id, area_name, valid_from, valid_to
    from {{ ref('dim_area') }}
    where level in {{ public_levels }}
),

changes as (
    select valid_from as gebietsstand from memberships
    union
    select cast({{ dbt.dateadd('day', 1, 'valid_to') }} as date) from memberships
    where valid_to is not null
    union
    select valid_from from areas
    union
    select cast({{ dbt.dateadd('day', 1, 'valid_to') }} as date) from areas
    where valid_to is not null
),

gebietsstaende as (
    select
        gebietsstand,
        cast({{ dbt.dateadd('day', -1, 'lead(gebietsstand) over (order by gebietsstand)') }} as date)
            as gebietsstand_to
    from changes
)

select
    g.gebietsstand,
    g.gebietsstand_to,
    m.level,
    m.area_id,
    a.area_name,
    m.block_id
from gebietsstaende as g
inner join memberships as m
    on {{ valid_at('m', 'g.gebietsstand') }}
left join areas as a
    on a.level = m.level
    and a.area_id = m.area_id
    and {{ valid_at('a', 'g.gebietsstand') }}
