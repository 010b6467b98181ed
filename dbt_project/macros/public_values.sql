{#- The indicator values that leave the warehouse, for `pub_indicator_values` (geography
    'stichtag': each Stichtag on the Gebietsstand valid then) and `pub_indicator_series` ('today':
    every Stichtag on today's Gebietsstand, the harmonised series). Public levels only (no
    Baublöcke), rounded, and disclosure-controlled: every numerator and denominator is a cell of
    disclosure_pattern and is shown only when that cell is published; the value only when both are.
    On today's Gebietsstand a unit that a recut changed is a cell of its own
    (`<level>@<gebietsstand>`); a unit that did not change is the cell of the Stichtag's table, so
    both tables always agree. The numerator of a `derived` indicator (a balance such as births −
    deaths) is formed from its parts as published and withheld when any part is. Only the levels
    and periods the catalogue allows for an indicator are published. A withheld value is null with
    a reason code, never 0 and never a missing row. One reason code covers primary and secondary
    suppression alike: telling them apart would tell that a count is below the minimum. -#}
{% macro public_indicator_values(geography) %}
{%- set parts = catalogue_registry().derived_parts %}

with values_ as (
    select v.*
    from {{ ref('fct_indicator_values' if geography == 'stichtag' else 'fct_indicator_values_current') }} as v
    inner join {{ ref('indicator_levels') }} as l
        on l.indicator_id = v.indicator_id
        and l.level = v.level
    inner join {{ ref('indicator_catalogue') }} as p
        on p.indicator_id = v.indicator_id
    where v.level in ({{ sql_list(var('public_levels')) }})
        and extract(year from v.stichtag) >= p.first_period
        and extract(year from v.stichtag) <= coalesce(p.last_period, 9999)
),

catalogue as (
    select
        indicator_id,
        numerator_measure,
        denominator_measure,
        disclosure_rule,
        cast(factor as double) as factor,
        {{ min_population('disclosure_min_population') }} as min_population
    from {{ ref('indicator_catalogue') }}
),

today as (
    select * from {{ ref('int_current_gebietsstand') }}
),

pattern as (
    select * from {{ ref('disclosure_pattern') }}
),

cells as (
    {%- if geography == 'stichtag' %}
    select stichtag, level, area_id, measure, status, published_value
    from pattern
    where level not like '%@%'
    {%- else %}
    -- a unit of today's Gebietsstand is its own cell where a recut changed it, else the Stichtag's
    select p.stichtag, {{ dbt.split_part('p.level', "'@'", 1) }} as level, p.area_id, p.measure, p.status,
        p.published_value
    from pattern as p
    cross join today as t
    where p.level = {{ dbt.split_part('p.level', "'@'", 1) }} || '@' || cast(t.gebietsstand as {{ dbt.type_string() }})
    union all
    select s.stichtag, s.level, s.area_id, s.measure, s.status, s.published_value
    from pattern as s
    cross join today as t
    where s.level not like '%@%'
        and not exists (
            select 1 from pattern as p
            where p.level = s.level || '@' || cast(t.gebietsstand as {{ dbt.type_string() }})
                and p.area_id = s.area_id
                and p.stichtag = s.stichtag
                and p.measure = s.measure
        )
    {%- endif %}
),

areas as (
    select * from {{ ref('dim_area') }}
),

derived_parts as (
    select indicator_id, measure, cast(coefficient as double) as coefficient
    from (values
        {%- for p in parts %}
        ('{{ p.indicator }}', '{{ p.measure }}', {{ p.coefficient }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as d (indicator_id, measure, coefficient)
),

derived as (
    -- a balance as published: the sum of its parts as disclosure control lets them out
    select
        v.indicator_id,
        v.level,
        v.area_id,
        v.stichtag,
        max(case when c.status = 'suppressed' or c.measure is null then 1 else 0 end) = 1 as withheld,
        sum(p.coefficient * c.published_value) as numerator_out,
        max(case when c.status = 'perturbed' then 1 else 0 end) = 1 as is_perturbed
    from values_ as v
    inner join derived_parts as p
        on p.indicator_id = v.indicator_id
    left join cells as c
        on c.measure = p.measure
        and c.level = v.level
        and c.area_id = v.area_id
        and c.stichtag = v.stichtag
    group by v.indicator_id, v.level, v.area_id, v.stichtag
),

joined as (
    select
        v.*,
        a.area_name,
        t.gebietsstand,
        c.min_population,
        c.factor,
        c.denominator_measure,
        coalesce(n.status = 'suppressed', false) or coalesce(dv.withheld, false) as numerator_withheld,
        coalesce(d.status = 'suppressed', false) as denominator_withheld,
        -- the counts as disclosure control lets them out (with the Cell Key Method: perturbed)
        case
            when dv.indicator_id is not null then dv.numerator_out
            when n.measure is null then v.numerator
            else n.published_value
        end as numerator_out,
        case when d.measure is null then v.denominator else d.published_value end as denominator_out,
        coalesce(n.status = 'perturbed', false) or coalesce(d.status = 'perturbed', false)
            or coalesce(dv.is_perturbed, false) as is_perturbed
    from values_ as v
    inner join catalogue as c
        on c.indicator_id = v.indicator_id
    left join cells as n
        -- the numerator is a cell only under the rule 'count'; as an equality, so that the join is
        -- a hash join (a condition on the left side alone made it a nested loop: 98 s at Berlin's
        -- 542 Stadtviertel)
        on n.measure = case when c.disclosure_rule = 'count' then c.numerator_measure end
        and n.level = v.level
        and n.area_id = v.area_id
        and n.stichtag = v.stichtag
    left join cells as d
        on d.measure = c.denominator_measure
        and d.level = v.level
        and d.area_id = v.area_id
        and d.stichtag = v.stichtag
    left join derived as dv
        on dv.indicator_id = v.indicator_id
        and dv.level = v.level
        and dv.area_id = v.area_id
        and dv.stichtag = v.stichtag
    cross join today as t
    left join areas as a
        on a.level = v.level
        and a.area_id = v.area_id
        and {{ valid_at('a', 'v.stichtag' if geography == 'stichtag' else 't.current_date') }}
),

final as (
    select
        indicator_id,
        level,
        area_id,
        area_name,
        {%- if geography == 'today' %}
        gebietsstand,
        {%- endif %}
        stichtag,
        case
            when numerator_withheld or denominator_withheld then null
            when not is_perturbed then {{ published_round('value', var('public_decimals')) }}
            -- perturbed counts: the value is computed from what is published
            when denominator_measure is null then {{ published_round('numerator_out * factor', var('public_decimals')) }}
            when denominator_out is null or denominator_out = 0 then null
            else {{ published_round('numerator_out * factor / denominator_out', var('public_decimals')) }}
        end as value,
        case when numerator_withheld then null else {{ sozialmonitor.nearest_bigint('numerator_out') }} end as numerator,
        case when denominator_withheld then null else {{ sozialmonitor.nearest_bigint('denominator_out') }} end as denominator,
        unit,
        numerator_withheld or denominator_withheld as is_suppressed,
        case
            when not (numerator_withheld or denominator_withheld) then null
            when not denominator_withheld and {{ below_min_population('denominator', 'min_population') }}
                then 'small_population'
            else 'disclosure'
        end as suppression_reason,
        nullif(concat_ws(',', flags,
            case when numerator_withheld or denominator_withheld then 'suppressed' end,
            case when is_perturbed then 'perturbed' end), '') as flags
    from joined
)

select * from final
{% endmacro %}
