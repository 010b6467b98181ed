{#- Input of the quality gate `hierarchy` and of the dbt test assert_counts_add_up_the_hierarchy:
    for every unit with member units (its children in dim_area valid at the Stichtag: Baublock →
    Stadtviertel → … → Gemeinde, Sozialraum → Gemeinde) and every measure of the catalogue (the
    numerators and denominators), the unit's own count, the sum over its children and the
    difference. The children are the units whose parent it is, at whatever level: where the
    Gebietsgliederung skips a level they are Baublöcke of a Stadtteil, Stadtteile of a Gemeinde.
    The nested children of a unit are summed together, whatever their levels (a Stadtteil with
    Stadtviertel and Baublöcke of its own: child_level names both, 'baublock,stadtviertel'); each
    non-nested level (the Sozialräume) is a partition of its own. The tolerance lives with its
    consumers (gates.yml; the dbt test: values_differ). -#}
with catalogue as (
    select * from {{ ref('indicator_catalogue') }}
),

values_ as (
    select * from {{ ref('fct_indicator_values') }}
),

sides as (
    select 1 as side
    union all
    select 2 as side
),

-- every value's numerator (side 1) and denominator (side 2) as one row each, every distinct row once:
-- one aggregation over the values read once (the union of two distinct selects took 2.2x as long at
-- 1M residents); two indicators with different counts for one measure of a unit stay two rows
measures as (
    select distinct
        v.level,
        v.area_id,
        v.stichtag,
        case when s.side = 1 then c.numerator_measure else c.denominator_measure end as measure,
        case when s.side = 1 then v.numerator else v.denominator end as amount
    from values_ as v
    inner join catalogue as c on v.indicator_id = c.indicator_id
    cross join sides as s
    where s.side = 1 or c.denominator_measure is not null
),

children as (
    select a.level, a.is_nested, a.area_id, a.parent_level, a.parent_id, s.stichtag
    from {{ ref('dim_area') }} as a
    inner join {{ ref('int_stichtage') }} as s
        on {{ valid_at('a', 's.stichtag') }}
    where a.parent_id is not null
),

summed_per_level as (
    select
        ch.level as child_level,
        case when ch.is_nested then '' else ch.level end as partition_,
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
    group by ch.level, ch.is_nested, ch.parent_level, ch.parent_id, ch.stichtag, m.measure
),

summed as (
    -- one row per partition: the nested children together, each non-nested level on its own
    select
        {{ ordered_list('child_level') }} as child_level,
        parent_level,
        parent_id,
        stichtag,
        measure,
        round(sum(children_sum), 6) as children_sum,
        sum(children) as children
    from summed_per_level
    group by partition_, parent_level, parent_id, stichtag, measure
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
-- a unit whose count is null although some children have one is not covered by its source as a
-- whole (a source delivered per Stadtviertel, in a Gemeinde without Stadtviertel): it publishes
-- no value, so there is nothing to add up (a unit without any row stays checked)
where p.level is null or p.amount is not null or s.children_sum = 0
