{#- Every count that a release publishes, as a cell (measure × public area × Stichtag), with the
    primary-suppression rule that applies to it (see docs block `disclosure_cells`):
    - count_below_min: more than 0 and fewer than the measure's minimum (the largest
      disclosure_min_count of the catalogue indicators that publish the measure);
    - small_population: the numerator of a rate whose denominator is above 0 but below the
      indicator's disclosure_min_population.
    The numerators of indicators whose disclosure_rule is 'none' (balances, not counts of persons)
    are no cells; their denominators are. -#}
{%- set registry = measure_registry() -%}
{%- set levels = var('public_levels') -%}

with all_indicators as (
    select * from {{ ref('indicator_catalogue') }}
),

catalogue as (
    select * from all_indicators
    where disclosure_rule = 'count'
),

area_measures as (
    select * from {{ ref('int_area_measures') }}
    where level in ({% for l in levels %}'{{ l }}'{{ ", " if not loop.last }}{% endfor %})
),

measures_long as (
    {%- for group in registry %}{% set outer = loop %}{% for measure in group.measures %}
    select level, area_id, stichtag, '{{ measure }}' as measure, cast({{ measure }} as double) as value
    from area_measures
    {%- if not (outer.last and loop.last) %}
    union all
    {%- endif %}
    {%- endfor %}{% endfor %}
),

area_keys as (
    -- a cell's key for the Cell Key Method: the sum of its records' keys, modulo 1
    select aa.stichtag, aa.level, aa.area_id, av.measure, sum(av.key_sum) as key_sum
    from {{ ref('disclosure_area_atoms') }} as aa
    inner join {{ ref('disclosure_atom_values') }} as av
        on av.stichtag = aa.stichtag
        and av.atom_id = aa.atom_id
    group by aa.stichtag, aa.level, aa.area_id, av.measure
),

published_measures as (
    select measure, max(min_count) as min_count
    from (
        select numerator_measure as measure,
            coalesce(disclosure_min_count, {{ var('disclosure_min_count') }}) as min_count
        from catalogue
        union all
        -- every denominator is a count of persons or households, whatever the numerator is
        select denominator_measure as measure,
            coalesce(disclosure_min_count, {{ var('disclosure_min_count') }}) as min_count
        from all_indicators
        where denominator_measure is not null
    ) as m
    group by measure
),

small_population as (
    -- numerator cells of rates on too small a population
    select distinct c.numerator_measure as measure, d.level, d.area_id, d.stichtag
    from catalogue as c
    inner join measures_long as d
        on d.measure = c.denominator_measure
    where d.value > 0
        and d.value < coalesce(c.disclosure_min_population, {{ var('disclosure_min_population') }})
),

cells as (
    select
        v.stichtag,
        v.level,
        v.area_id,
        v.measure,
        v.value,
        p.min_count,
        k.key_sum - floor(k.key_sum) as cell_key,
        case
            when v.value > 0 and v.value < p.min_count then 'count_below_min'
            when s.measure is not null then 'small_population'
        end as primary_reason
    from measures_long as v
    inner join published_measures as p
        on p.measure = v.measure
    left join small_population as s
        on s.measure = v.measure
        and s.level = v.level
        and s.area_id = v.area_id
        and s.stichtag = v.stichtag
    left join area_keys as k
        on k.measure = v.measure
        and k.level = v.level
        and k.area_id = v.area_id
        and k.stichtag = v.stichtag
    where v.value is not null  -- a source not delivered publishes nothing
)

select * from cells
