-- Every unit valid at a Stichtag has a row for every catalogue indicator at that Stichtag.
with expected as (
    select c.indicator_id, a.level, a.area_id, s.stichtag
    from {{ ref('dim_area') }} as a
    cross join {{ ref('int_stichtage') }} as s
    cross join {{ ref('indicator_catalogue') }} as c
    where {{ valid_at('a', 's.stichtag') }}
)

select e.*
from expected as e
left join {{ ref('fct_indicator_values') }} as v
    on v.indicator_id = e.indicator_id
    and v.level = e.level
    and v.area_id = e.area_id
    and v.stichtag = e.stichtag
where v.indicator_id is null
