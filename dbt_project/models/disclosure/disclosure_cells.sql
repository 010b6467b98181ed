{#- Every count that a release publishes, as a cell (measure × public area × Stichtag), with the
    primary-suppression rule that applies to it (see docs block `disclosure_cells`):
    - count_below_min: more than 0 and fewer than the measure's minimum (the largest
      disclosure_min_count of the catalogue indicators that publish the measure);
    - small_population: the numerator (above 0) of a rate whose denominator is above 0 but below
      the indicator's disclosure_min_population.
    Zeros are never withheld: a release says that a withheld count is at least 1 (an attacker reads
    that too, and the secondary suppression and the audit take it into account).
    Which (measure, level) pairs are cells follows from the Kennzahlenkatalog (macro
    catalogue_registry): the numerators of `count` indicators, the parts of `derived` ones and the
    denominators that count people, at the levels where the indicator may be shown. Balances and
    measures that do not count people (areas, dwellings) are no cells.
    The units of today's Gebietsstand that differ from the Stichtag's (disclosure_area_atoms, level
    `<level>@<gebietsstand>`) are cells too: the harmonised series publishes them. Their rules are
    those of their level. -#}
{#- Incremental by Stichtag while today's Gebietsstand keeps its Baublöcke, every Stichtag when it
    moved (macros/incremental_stichtage.sql); its inputs are rebuilt with the lags of
    the area measures. -#}
{{ config(**stichtag_incremental(catalogue_lag_years(), on_current_gebietsstand=true)) }}
{%- set registry = measure_registry() -%}
{%- set levels = var('public_levels') -%}
{%- set cat = catalogue_registry() -%}
{%- set specs = [] -%}
{%- for c in cat.cells if c.level in levels %}{% do specs.append(c) %}{% endfor -%}
{%- set small = [] -%}
{%- for c in cat.small_population if c.level in levels %}{% do small.append(c) %}{% endfor -%}

with today_units as (
    -- units of today's Gebietsstand that are cells of their own (see disclosure_area_atoms)
    select distinct stichtag, level as cell_level, area_id
    from {{ ref('disclosure_area_atoms') }}
    where level like '%@%'
        and {{ stichtag_rebuilt('stichtag', catalogue_lag_years()) }}
),

area_measures as (
    select m.level as cell_level, m.* from {{ ref('int_area_measures') }} as m
    where m.level in ({{ sql_list(levels) }})
        and {{ stichtag_rebuilt('m.stichtag', catalogue_lag_years()) }}
    union all
    select u.cell_level, c.*
    from {{ ref('int_area_measures_current') }} as c
    inner join today_units as u
        on u.stichtag = c.stichtag
        and u.area_id = c.area_id
        and u.cell_level = c.level || '@' || {{ dbt.split_part('u.cell_level', "'@'", 2) }}
),

measures_long as (
    {%- set measures = [] %}
    {%- for group in registry %}{% for measure in group.measures %}{% do measures.append(measure) %}{% endfor %}{% endfor %}
    {{ unpivot_measures('area_measures', ['cell_level', 'level', 'area_id', 'stichtag'], measures) }}
),

area_keys as (
    -- a cell's key for the Cell Key Method: the sum of its records' keys, modulo 1
    select aa.stichtag, aa.level, aa.area_id, av.measure, {{ key_sum('av.key_sum') }} as key_sum
    from {{ ref('disclosure_area_atoms') }} as aa
    inner join {{ ref('disclosure_atom_values') }} as av
        on av.stichtag = aa.stichtag
        and av.atom_id = aa.atom_id
    where {{ stichtag_rebuilt('aa.stichtag', catalogue_lag_years()) }}
    group by aa.stichtag, aa.level, aa.area_id, av.measure
),

published_measures as (
    select measure, level, coalesce(min_count, {{ var('disclosure_min_count') }}) as min_count
    from (values
        {%- for c in specs %}
        ('{{ c.measure }}', '{{ c.level }}', {{ c.min_count if c.min_count is not none else 'cast(null as integer)' }}){{ "," if not loop.last }}
        {%- endfor %}
    -- a VALUES list needs a name; sqlfluff counts the name as an unused alias
    ) as p (measure, level, min_count)  -- noqa: AL05
),

small_population_rules as (
    select numerator, denominator, level, {{ min_population('min_population') }} as min_population
    from (values
        {%- for c in small %}
        ('{{ c.numerator }}', '{{ c.denominator }}', '{{ c.level }}', {{ c.min_population if c.min_population is not none else 'cast(null as integer)' }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as r (numerator, denominator, level, min_population)  -- noqa: AL05
),

small_population as (
    -- numerator cells of rates on too small a population
    select distinct r.numerator as measure, d.cell_level, d.area_id, d.stichtag
    from small_population_rules as r
    inner join measures_long as d
        on d.measure = r.denominator
        and d.level = r.level
    where {{ below_min_population('d.value', 'r.min_population') }}
),

cells as (
    select
        v.stichtag,
        v.cell_level as level,
        v.area_id,
        v.measure,
        v.value,
        p.min_count,
        k.key_sum - floor(k.key_sum) as cell_key,
        case
            when v.value > 0 and v.value < p.min_count then 'count_below_min'
            when v.value > 0 and s.measure is not null then 'small_population'
        end as primary_reason
    from measures_long as v
    inner join published_measures as p
        on p.measure = v.measure
        and p.level = v.level
    left join small_population as s
        on s.measure = v.measure
        and s.cell_level = v.cell_level
        and s.area_id = v.area_id
        and s.stichtag = v.stichtag
    left join area_keys as k
        on k.measure = v.measure
        and k.level = v.cell_level
        and k.area_id = v.area_id
        and k.stichtag = v.stichtag
    where v.value is not null  -- a source not delivered publishes nothing
)

select * from cells
