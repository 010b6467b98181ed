{#- Input of the quality gate `year_over_year`: every indicator value against the same unit's value
    at the previous Stichtag, where the unit kept its Baublöcke (same footprint at both Stichtage:
    a recut unit is not compared). change is in percent for counts (Anzahl) and in points
    otherwise. comparison_base is the smaller base (denominator, or the count itself) of the two
    values: the gate compares only where it reaches year_over_year.min_base of gates.yml, and only
    at the levels listed there (the public levels or some of them); the limits per indicator are
    in the catalogue. Only the public levels are compared: the Baublöcke are too small for the gate,
    and comparing them joined some 15 million values to themselves at Berlin size, which with the
    other gate test ran DuckDB out of its memory limit. The CTEs are not materialized, so that the
    gate's level filter reaches them. -#}
with days as (
    select stichtag, lag(stichtag) over (order by stichtag) as previous
    from {{ ref('int_stichtage') }}
),

footprints as {{ cte_not_materialized() }} (
    select
        m.level,
        m.area_id,
        d.stichtag,
        md5({{ ordered_list('m.block_id') }}) as footprint
    from {{ ref('dim_block_membership') }} as m
    inner join days as d
        on {{ valid_at('m', 'd.stichtag') }}
    where m.level in ({{ sql_list(var('public_levels')) }})
    group by m.level, m.area_id, d.stichtag
),

values_ as {{ cte_not_materialized() }} (
    select
        v.indicator_id,
        v.level,
        v.area_id,
        v.stichtag,
        v.value,
        c.unit,
        coalesce(v.denominator, v.numerator) as base
    from {{ ref('fct_indicator_values') }} as v
    inner join {{ ref('indicator_catalogue') }} as c on v.indicator_id = c.indicator_id
    where v.value is not null and v.level in ({{ sql_list(var('public_levels')) }})
)

select
    cur.indicator_id,
    cur.level,
    cur.area_id,
    cur.stichtag,
    d.previous as previous_stichtag,
    prev.value as previous_value,
    cur.value,
    case
        when cur.unit = 'Anzahl' then 100.0 * (cur.value - prev.value) / nullif(prev.value, 0)
        else cur.value - prev.value
    end as change,
    least(cur.base, prev.base) as comparison_base
from values_ as cur
inner join days as d on d.stichtag = cur.stichtag
inner join values_ as prev
    on prev.indicator_id = cur.indicator_id
    and prev.level = cur.level
    and prev.area_id = cur.area_id
    and prev.stichtag = d.previous
inner join footprints as f1
    on f1.level = cur.level
    and f1.area_id = cur.area_id
    and f1.stichtag = cur.stichtag
inner join footprints as f2
    on f2.level = cur.level
    and f2.area_id = cur.area_id
    and f2.stichtag = d.previous
where f1.footprint = f2.footprint
