{#- Input of the quality gate `completeness` (data_quality/suites.py) and of the dbt test
    assert_every_area_has_every_indicator: per level and Stichtag, how many indicator values the
    units valid at that Stichtag should have (every unit × every catalogue indicator) and how many
    fct_indicator_values holds. -#}
with expected as (
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
)

select
    level,
    stichtag,
    count(distinct area_id) as areas,
    count(*) as expected_values,
    count(*) filter (where present) as present_values,
    min(area_id || ' / ' || indicator_id) filter (where not present) as first_missing
from joined
group by level, stichtag
