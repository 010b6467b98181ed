-- Disclosure control, checked on what leaves the warehouse: no published numerator or denominator
-- of a count indicator lies between 1 and its minimum - 1, and no rate is published on fewer
-- persons than its minimum population (under suppression), unless it is 0: zeros are always
-- published, that is what lets a reader know that a withheld count is at least 1.
-- The rule is written out here on purpose, not taken from the macros that apply it
-- (macros/small_population.sql): a check that shares the code it checks shares its mistakes.
with v as (
    select * from {{ ref('pub_indicator_values') }}
),

c as (
    select
        indicator_id,
        disclosure_rule,
        coalesce(disclosure_min_count, {{ var('disclosure_min_count') }}) as min_count,
        coalesce(disclosure_min_population, {{ var('disclosure_min_population') }}) as min_population,
        denominator_measure
    from {{ ref('indicator_catalogue') }}
)

select v.indicator_id, v.level, v.area_id, v.stichtag, v.numerator, v.denominator
from v
inner join c on c.indicator_id = v.indicator_id
where (
        (c.disclosure_rule = 'count' and v.numerator > 0 and v.numerator < c.min_count)
        or (v.denominator > 0 and v.denominator < c.min_count)
        -- (with the Cell Key Method, rates on small populations are published from perturbed counts)
        or (c.disclosure_rule = 'count' and v.value is not null and c.denominator_measure is not null
            and coalesce(v.flags, '') not like '%perturbed%'
            and v.numerator <> 0
            and v.denominator > 0 and v.denominator < c.min_population)
    )
