{#- Input of the quality gate `hierarchy` and of the dbt test assert_counts_add_up_the_hierarchy:
    for every unit with member units (its children in dim_area valid at the Stichtag: Baublock →
    Stadtviertel → … → Gemeinde, Sozialraum → Gemeinde) and every measure of the catalogue (the
    numerators and denominators), the unit's own count, the sum over its children and the
    difference. The tolerance lives with its consumers (gates.yml; the dbt test: values_differ). -#}
with catalogue as (
    select * from {{ ref('indicator_catalogue') }}
),

values_ as (
    select * from {{ ref('fct_indicator_values') }}
),

measures as (
    select distinct v.level, v.area_id, v.stichtag, c.numerator_measure as measure, v.numerator as amount
    from values_ as v
    inner join catalogue as c on v.indicator_id = c.indicator_id
    union
    select distinct v.level, v.area_id, v.stichtag, c.denominator_measure as measure, v.denominator as amount
    from values_ as v
    inner join catalogue as c on v.indicator_id = c.indicator_id
    where c.denominator_measure is not null
),

children as (
    select a.level, a.area_id, a.parent_level, a.parent_id, s.stichtag
    from {{ ref('dim_area') }} as a
    inner join {{ ref('int_stichtage') }} as s
        on {{ valid_at('a', 's.stichtag') }}
    where a.parent_id is not null
),

summed as (
    select
        ch.level as child_level,
        ch.parent_level,
        ch.parent_id,
        ch.stichtag,
        m.measure,
        -- rounded like the area measures: a parallel sum of fractions must not change the table
        round(sum(coalesce(m.amount, 0)), 6) as children_sum,
        count(*) as children
    from children as ch
    inner join measures as m
        on m.level = ch.level
        and m.area_id = ch.area_id
        and m.stichtag = ch.stichtag
    group by ch.level, ch.parent_level, ch.parent_id, ch.stichtag, m.measure
)

select
    s.child_level,
    s.parent_level,
    s.parent_id,
    s.stichtag,
    s.measure,
    s.children,
    coalesce(p.amount, 0) as parent_value,
    s.children_sum,
    coalesce(p.amount, 0) - s.children_sum as difference
from summed as s
left join measures as p
    on p.level = s.parent_level
    and p.area_id = s.parent_id
    and p.stichtag = s.stichtag
    and p.measure = s.measure
