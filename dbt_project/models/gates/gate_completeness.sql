{#- Input of the quality gate `completeness` (data_quality/suites.py) and of the dbt test
    assert_every_area_has_every_indicator: per level and Stichtag, how many indicator values the
    units valid at that Stichtag should have (every unit × every catalogue indicator) and how many
    fct_indicator_values holds. A row for every level of dim_area at every Stichtag: a level without
    units valid at a Stichtag shows with 0 areas (the gate blocks it), not as a missing row.
    Counted without forming the grid of expected values (units × indicators × Stichtage, as many
    rows as the mart): fct_indicator_values has one row per indicator, unit and Stichtag (its unique
    test), so the values present are its rows that meet a unit valid at their Stichtag and a
    catalogue indicator. Only a level and Stichtag with fewer values than expected is searched for
    its first missing one. A duplicated value would count twice and could hide a missing one: the
    mart's unique test stops the build before that (in an incremental build, on the Stichtage it
    rebuilt, the only ones where a duplicate can arise). -#}
with grid as (
    select l.level, s.stichtag
    from (select distinct level from {{ ref('dim_area') }}) as l
    cross join {{ ref('int_stichtage') }} as s
),

catalogue as (
    select indicator_id from {{ ref('indicator_catalogue') }}
),

units as (
    select a.level, s.stichtag, a.area_id
    from {{ ref('dim_area') }} as a
    inner join {{ ref('int_stichtage') }} as s
        on {{ valid_at('a', 's.stichtag') }}
),

expected as (
    select
        u.level,
        u.stichtag,
        count(distinct u.area_id) as areas,
        count(*) * (select count(*) from catalogue) as expected_values
    from units as u
    group by u.level, u.stichtag
    having (select count(*) from catalogue) > 0
),

present as (
    select u.level, u.stichtag, count(*) as present_values
    from {{ ref('fct_indicator_values') }} as v
    inner join units as u
        on u.level = v.level
        and u.area_id = v.area_id
        and u.stichtag = v.stichtag
    inner join catalogue as c
        on c.indicator_id = v.indicator_id
    group by u.level, u.stichtag
),

counted as (
    select e.level, e.stichtag, e.areas, e.expected_values, coalesce(p.present_values, 0) as present_values
    from expected as e
    left join present as p
        on p.level = e.level
        and p.stichtag = e.stichtag
),

incomplete as (
    select level, stichtag
    from counted
    where present_values < expected_values
),

missing as (
    select u.level, u.stichtag, min(u.area_id || ' / ' || c.indicator_id) as first_missing
    from incomplete as i
    inner join units as u
        on u.level = i.level
        and u.stichtag = i.stichtag
    cross join catalogue as c
    left join (
        select v.level, v.area_id, v.stichtag, v.indicator_id
        from {{ ref('fct_indicator_values') }} as v
        inner join incomplete as i2
            on i2.level = v.level
            and i2.stichtag = v.stichtag
    ) as v
        on v.level = u.level
        and v.area_id = u.area_id
        and v.stichtag = u.stichtag
        and v.indicator_id = c.indicator_id
    where v.indicator_id is null
    group by u.level, u.stichtag
)

select
    g.level,
    g.stichtag,
    coalesce(c.areas, 0) as areas,
    coalesce(c.expected_values, 0) as expected_values,
    coalesce(c.present_values, 0) as present_values,
    m.first_missing
from grid as g
left join counted as c
    on c.level = g.level
    and c.stichtag = g.stichtag
left join missing as m
    on m.level = g.level
    and m.stichtag = g.stichtag
