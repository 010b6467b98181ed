{#- Counts at every nested level add up to the level above, at every Stichtag, on the boundaries
    valid at that date: Baublock → Stadtviertel → Stadtteil → Stadtbezirk → Gemeinde. The
    non-nested Sozialräume add up to the Gemeinde as a whole. Checked for every numerator and
    denominator in the catalogue (up to rounding: the crosswalked housing stock is spread over the
    Baublöcke as fractions). Returns the units whose children do not add up. -#}
{%- set nested = [var('block_level')] + var('nested_levels') -%}


with values_ as (
    select * from {{ ref('fct_indicator_values') }}
),

areas as (
    select * from {{ ref('dim_area') }}
),

children_summed as (
    select
        v.indicator_id,
        a.parent_level as level,
        a.parent_id as area_id,
        v.stichtag,
        sum(v.numerator) as numerator,
        sum(v.denominator) as denominator
    from values_ as v
    inner join areas as a
        on a.level = v.level
        and a.area_id = v.area_id
        and {{ valid_at('a', 'v.stichtag') }}
    where a.parent_level is not null and a.is_nested
    group by v.indicator_id, a.parent_level, a.parent_id, v.stichtag
),

sozialraum_summed as (
    select
        v.indicator_id,
        'gemeinde' as level,
        v.stichtag,
        sum(v.numerator) as numerator,
        sum(v.denominator) as denominator
    from values_ as v
    where v.level in ({% for l in var('non_nested_levels') %}'{{ l }}'{{ "," if not loop.last }}{% endfor %})
    group by v.indicator_id, v.stichtag
),

hierarchy_mismatches as (
    select p.indicator_id, p.level, p.area_id, p.stichtag,
        p.numerator as parent_numerator, c.numerator as children_numerator,
        p.denominator as parent_denominator, c.denominator as children_denominator
    from values_ as p
    inner join children_summed as c
        on c.indicator_id = p.indicator_id
        and c.level = p.level
        and c.area_id = p.area_id
        and c.stichtag = p.stichtag
    where {{ values_differ('p.numerator', 'c.numerator') }}
       or {{ values_differ('p.denominator', 'c.denominator') }}
),

sozialraum_mismatches as (
    select g.indicator_id, g.level, g.area_id, g.stichtag,
        g.numerator as parent_numerator, s.numerator as children_numerator,
        g.denominator as parent_denominator, s.denominator as children_denominator
    from values_ as g
    inner join sozialraum_summed as s
        on s.indicator_id = g.indicator_id
        and s.stichtag = g.stichtag
    where g.level = 'gemeinde'
        and ({{ values_differ('g.numerator', 's.numerator') }} or {{ values_differ('g.denominator', 's.denominator') }})
),

-- every unit of every nested level above the Baublock must have been checked
unchecked as (
    select v.indicator_id, v.level, v.area_id, v.stichtag,
        v.numerator as parent_numerator, cast(null as double) as children_numerator,
        v.denominator as parent_denominator, cast(null as double) as children_denominator
    from values_ as v
    left join children_summed as c
        on c.indicator_id = v.indicator_id and c.level = v.level and c.area_id = v.area_id and c.stichtag = v.stichtag
    where v.level in ({% for l in nested[1:] %}'{{ l }}'{{ "," if not loop.last }}{% endfor %})
        and c.area_id is null
        and v.numerator <> 0
)

select * from hierarchy_mismatches
union all
select * from sozialraum_mismatches
union all
select * from unchecked
