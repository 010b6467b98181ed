{#- Shares of a whole (unit %) lie between 0 and 100, where numerator and denominator come from the
    same source. Not checked: a change in % (may be negative) and rates across two sources (e.g.
    Sozialgeld recipients per residents under 15 can exceed 100 in a small area when the Jobcenter's
    addresses differ from the register's; the quality gates bound those per indicator). In an
    incremental build, the Stichtage fct_indicator_values rebuilt (macros/tested_stichtage.sql). -#}
with catalogue as (
    select c.indicator_id
    from {{ ref('indicator_catalogue') }} as c
    inner join {{ ref('measure_catalogue') }} as n
        on n.measure_id = c.numerator_measure
    inner join {{ ref('measure_catalogue') }} as d
        on d.measure_id = c.denominator_measure
    where c.unit = '%'
        and n.source = d.source
        and n.role <> 'combination'
)

select v.*
from {{ ref('fct_indicator_values') }} as v
inner join catalogue as c
    on c.indicator_id = v.indicator_id
where v.value is not null
    and (v.value < 0 or v.value > 100)
    and {{ stichtag_tested('v.stichtag', 'rebuilt', catalogue_lag_years()) }}
