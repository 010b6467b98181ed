{#- Input of the quality gate `completeness` (data_quality/suites.py) and of the dbt test
    assert_every_area_has_every_indicator: per level and Stichtag, how many indicator values the
    units valid at that Stichtag should have (every unit × every catalogue indicator) and how many
    fct_indicator_values holds. A row for every level of dim_area at every Stichtag: a level without
    units valid at a Stichtag shows with 0 areas (the gate blocks it), not as a missing row. -#}
with grid as (
    select l.level, s.stichtag
    from (select distinct level from {{ ref('dim_area') }}) as l
    cross join {{ ref('int_stichtage') }} as s
),

expected as (
    select a.level, s.stichtag, a.area_id, c.indicator_id
    from {{ ref('dim_area') }} as a
    inner join {{ ref('int_stichtage') }} as s
        on {{ valid_at('a', 's.stichtag') }}
    cross join {{ ref('indicator_catalogue') }} as c
),

joined as (
    select e.level, e.stichtag, e.area_id, e.indicator_id, v.indicator_id is not null as present
    from expected as e
    left join {{ ref('fct_indicator_values') }} as v
        on v.level = e.level
        and v.area_id = e.area_id
        and v.stichtag = e.stichtag
        and v.indicator_id = e.indicator_id
),

per_stichtag as (
    select
        level,
        stichtag,
        count(distinct area_id) as areas,
        count(*) as expected_values,
        count(*) filter (where present) as present_values,
        min(area_id || ' / ' || indicator_id) filter (where not present) as first_missing
    from joined
    group by level, stichtag
)

select
    g.level,
    g.stichtag,
    coalesce(p.areas, 0) as areas,
    coalesce(p.expected_values, 0) as expected_values,
    coalesce(p.present_values, 0) as present_values,
    p.first_missing
from grid as g
left join per_stichtag as p
    on p.level = g.level
    and p.stichtag = g.stichtag
