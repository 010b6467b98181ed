{#- Measures for every unit of every level and Stichtag: the sum over the Baublöcke that belong to
    the unit. `gebietsstand`:
    - 'stichtag': the memberships valid at each Stichtag (the Gebietsstand valid then);
    - 'current': the memberships valid at the current Gebietsstand (var current_gebietsstand, by
      default the latest Stichtag), for every Stichtag: the harmonised time series on today's
      boundaries.
    Data with addresses are Baublock sums and so re-aggregate exactly. A source delivered only
    aggregated on a level (the catalogue's `crosswalk`) was spread over the Baublöcke by population;
    an area that cuts one of its units (as the source's Gebietsstand at that Stichtag drew them) gets
    the flag <source>_estimated. An area with a Baublock that has no unit of that level at the
    Stichtag (a Gemeinde without Stadtviertel, for a source delivered per Stadtviertel) has no value
    of that source: it is not covered, and a sum over part of it is no count of it (null, flagged
    source_missing like an undelivered source). Every unit gets a row, also one without residents. -#}
{% macro area_measures(gebietsstand) %}
{%- set registry = measure_registry() -%}
{%- set crosswalked = crosswalked_sources() -%}
{%- set fractional = catalogue_registry().fractional_measures -%}

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
    {%- if gebietsstand == 'current' %}
    select m.level, m.area_id, m.block_id, s.stichtag
    from memberships as m
    cross join stichtage as s
    where {{ valid_at('m', current_gebietsstand_date()) }}
        -- built incrementally (int_area_measures_current): as below, while today's Gebietsstand stays
        and {{ stichtag_rebuilt('s.stichtag', catalogue_lag_years()) }}
    {%- else %}
    select m.level, m.area_id, m.block_id, s.stichtag
    from memberships as m
    inner join stichtage as s
        on {{ valid_at('m', 's.stichtag') }}
    -- built incrementally (int_area_measures): the rebuilt Stichtage and those lagging them
    where {{ stichtag_rebuilt('s.stichtag', catalogue_lag_years()) }}
    {%- endif %}
),
{% for cw in crosswalked %}
{{ cw.topic }}_units as (
    -- the units the source was delivered on: its Gebietsstand is the one valid at the Stichtag
    select m.block_id, s.stichtag, m.area_id as unit_id
    from memberships as m
    inner join stichtage as s
        on {{ valid_at('m', 's.stichtag') }}
    where m.level = '{{ cw.level }}'
),

{{ cw.topic }}_unit_sizes as (
    select stichtag, unit_id, count(*) as blocks
    from {{ cw.topic }}_units
    group by stichtag, unit_id
),

{{ cw.topic }}_uncovered as (
    -- the areas with a Baublock outside every unit the source was delivered on
    select g.level, g.area_id, g.stichtag
    from grid as g
    left join {{ cw.topic }}_units as u
        on u.block_id = g.block_id
        and u.stichtag = g.stichtag
    where u.block_id is null
    group by g.level, g.area_id, g.stichtag
),

{{ cw.topic }}_cut as (
    select p.level, p.area_id, p.stichtag, max(case when p.blocks < z.blocks then 1 else 0 end) = 1 as is_estimated
    from (
        select g.level, g.area_id, g.stichtag, u.unit_id, count(*) as blocks
        from grid as g
        inner join {{ cw.topic }}_units as u
            on u.block_id = g.block_id
            and u.stichtag = g.stichtag
        group by g.level, g.area_id, g.stichtag, u.unit_id
    ) as p
    inner join {{ cw.topic }}_unit_sizes as z
        on z.stichtag = p.stichtag
        and z.unit_id = p.unit_id
    group by p.level, p.area_id, p.stichtag
),
{% endfor %}
summed as (
    select
        g.level,
        g.area_id,
        g.stichtag,
        count(distinct g.block_id) as blocks,
        {%- for group in registry %}
        {%- for measure in group.measures %}
        {%- if measure in fractional %}
        round(sum(b.{{ measure }}), 6) as {{ measure }},
        {%- else %}
        {{ count_sum('b.' ~ measure) }} as {{ measure }},
        {%- endif %}
        {%- if measure in group.suppressed %}
        {{ count_sum('b.' ~ measure ~ '_suppressed_cells') }} as {{ measure }}_suppressed_cells,
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

available as (
    select
        s.level,
        s.area_id,
        s.stichtag,
        s.blocks,
        {%- for group in registry %}
        {%- set covered = ' and ' ~ group.topic ~ '_uncovered.area_id is null' if group.crosswalk else '' %}
        {%- for measure in group.measures %}
        case when a.has_{{ group.availability }}{{ covered }} then coalesce(s.{{ measure }}, 0) end as {{ measure }},
        {%- if measure in group.suppressed %}
        case when a.has_{{ group.availability }}{{ covered }} then coalesce(s.{{ measure }}_suppressed_cells, 0) end
            as {{ measure }}_suppressed_cells,
        {%- endif %}
        {%- endfor %}
        {%- endfor %}
        {%- for cw in crosswalked %}
        case when a.has_{{ cw.topic }} then coalesce({{ cw.topic }}_cut.is_estimated, false) end
            as {{ cw.topic }}_estimated,
        {%- endfor %}
        s.blocks_with_data
    from summed as s
    inner join availability as a
        on a.stichtag = s.stichtag
    {%- for cw in crosswalked %}
    left join {{ cw.topic }}_cut
        on {{ cw.topic }}_cut.level = s.level
        and {{ cw.topic }}_cut.area_id = s.area_id
        and {{ cw.topic }}_cut.stichtag = s.stichtag
    left join {{ cw.topic }}_uncovered
        on {{ cw.topic }}_uncovered.level = s.level
        and {{ cw.topic }}_uncovered.area_id = s.area_id
        and {{ cw.topic }}_uncovered.stichtag = s.stichtag
    {%- endfor %}
),

final as (
    select
        *,
        {%- for c in combined_measures() %}
        {% for part, coefficient in c.terms.items() %}{{ "" if loop.first else " + " }}{{ coefficient }} * {{ part }}{% endfor %}
            as {{ c.measure }}{{ "," if not loop.last }}
        {%- endfor %}
    from available
)

select * from final
{% endmacro %}

{#- The date of the current Gebietsstand: var current_gebietsstand, or the latest Stichtag. -#}
{% macro current_gebietsstand_date() -%}
    {%- if var('current_gebietsstand', none) -%}
    cast('{{ var("current_gebietsstand") }}' as date)
    {%- else -%}
    (select max(stichtag) from {{ ref('int_stichtage') }})
    {%- endif -%}
{%- endmacro %}

{#- The sum of a count (persons, households, events: whole numbers by the catalogue's kind) as a
    bigint, the type Spark's sum of a bigint has. DuckDB's sum of an integer is a 128-bit hugeint,
    and a table of hugeints scans about ten times slower than the same numbers as bigints (DuckDB
    1.5: 61,023 rows of 73 such columns, 2.8 s against 0.35 s), which every reader of the area
    measures paid, in every build of a Stichtag. -#}
{% macro count_sum(expression) -%}
    cast(sum({{ expression }}) as {{ dbt.type_bigint() }})
{%- endmacro %}
