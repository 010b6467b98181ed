{#- Measures for every unit of every level and Stichtag, on the Gebietsstand valid at that
    Stichtag: the sum over the Baublöcke that belong to the unit at that date. Every unit valid at
    a Stichtag gets a row, also one without residents. -#}
{%- set registry = measure_registry() -%}

with memberships as (
    select * from {{ ref('int_block_memberships') }}
),

stichtage as (
    select * from {{ ref('int_stichtage') }}
),

block_measures as (
    select * from {{ ref('int_block_measures') }}
),

availability as (
    select * from {{ ref('int_source_availability') }}
),

grid as (
    select m.level, m.area_id, m.block_id, s.stichtag
    from memberships as m
    inner join stichtage as s
        on {{ valid_at('m', 's.stichtag') }}
),

summed as (
    select
        g.level,
        g.area_id,
        g.stichtag,
        count(distinct g.block_id) as blocks,
        {%- for group in registry %}
        {%- for measure in group.measures %}
        sum(b.{{ measure }}) as {{ measure }},
        {%- if measure in group.suppressed %}
        sum(b.{{ measure }}_suppressed_cells) as {{ measure }}_suppressed_cells,
        {%- endif %}
        {%- endfor %}
        {%- endfor %}
        count(b.block_id) as blocks_with_data
    from grid as g
    left join block_measures as b
        on b.block_id = g.block_id
        and b.stichtag = g.stichtag
    group by g.level, g.area_id, g.stichtag
),

final as (
    select
        s.level,
        s.area_id,
        s.stichtag,
        s.blocks,
        {%- for group in registry %}
        {%- for measure in group.measures %}
        case when a.has_{{ group.topic }} then coalesce(s.{{ measure }}, 0) end as {{ measure }},
        {%- if measure in group.suppressed %}
        case when a.has_{{ group.topic }} then coalesce(s.{{ measure }}_suppressed_cells, 0) end
            as {{ measure }}_suppressed_cells,
        {%- endif %}
        {%- endfor %}
        {%- endfor %}
        s.blocks_with_data
    from summed as s
    inner join availability as a
        on a.stichtag = s.stichtag
)

select * from final
