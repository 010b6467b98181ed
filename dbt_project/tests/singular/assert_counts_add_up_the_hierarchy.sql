{#- Counts at every nested level add up to the level above, at every Stichtag, on the boundaries
    valid at that date: Baublock → Stadtviertel → Stadtteil → Stadtbezirk → Gemeinde; the
    Sozialräume add up to the Gemeinde. Checked for every numerator and denominator measure in the
    catalogue (up to rounding: the crosswalked housing stock is spread over the Baublöcke as
    fractions). The sums are the view gate_hierarchy, the input of the quality gate `hierarchy`
    (data_quality/suites.py): one logic, two consumers. Returns the units whose children do not add
    up, the units of a nested level above the Baublock with a count but no member units at all
    (never checked; measure then names the indicator), and the view's key (child level, unit,
    Stichtag, measure) where it is missing or not unique: two indicators that publish different
    counts for one measure of one unit give two rows; and the measures whose children's sums differ
    between the indicators that share them (indicator_spread). That is the view's unique-key test, here so
    that the view is computed once for both. In an incremental build, the Stichtage from the
    earliest rebuilt one on (macros/tested_stichtage.sql). -#}
{%- set nested = [var('block_level')] + var('nested_levels') -%}

with sums as (
    select * from {{ ref('gate_hierarchy') }}
    where {{ stichtag_tested('stichtag', 'from_earliest') }}
),

mismatches as (
    select 'children do not add up' as problem, parent_level as level, parent_id as area_id, stichtag,
        measure, parent_value, children_sum
    from sums
    where {{ values_differ('parent_value', 'children_sum') }}
),

disagreeing as (
    select 'indicators sharing the measure disagree' as problem, parent_level as level, parent_id as area_id,
        stichtag, measure, indicator_spread as parent_value, children_sum
    from sums
    where {{ values_differ('indicator_spread', '0') }}
),

not_unique as (
    select 'key missing or not unique' as problem, parent_level as level, parent_id as area_id, stichtag,
        measure, cast(count(*) as double) as parent_value, cast(null as double) as children_sum
    from sums
    group by child_level, parent_level, parent_id, stichtag, measure
    having count(*) > 1
        or child_level is null or parent_level is null or parent_id is null or stichtag is null
        or measure is null
),

checked as (
    select distinct parent_level as level, parent_id as area_id, stichtag
    from sums
),

unchecked as (
    select 'no member units' as problem, v.level, v.area_id, v.stichtag, v.indicator_id as measure,
        v.numerator as parent_value, cast(null as double) as children_sum
    from {{ ref('fct_indicator_values') }} as v
    left join checked as c
        on c.level = v.level and c.area_id = v.area_id and c.stichtag = v.stichtag
    where v.level in ({{ sql_list(nested[1:]) }})
        and c.area_id is null
        and v.numerator <> 0
        and {{ stichtag_tested('v.stichtag', 'from_earliest') }}
)

select * from mismatches
union all
select * from disagreeing
union all
select * from unchecked
union all
select * from not_unique
