{#- The indicator catalogue applied to the measures of every unit, level and Stichtag, in long
    form. value = numerator × factor / denominator (or the count itself for count indicators);
    null with a flag where the denominator is 0 or the source was not delivered. -#}
{%- set registry = measure_registry() -%}

with area_measures as (
    select * from {{ ref('int_area_measures') }}
),

catalogue as (
    select * from {{ ref('indicator_catalogue') }}
),

measures_long as (
    {%- for group in registry %}
    {%- set outer = loop %}
    {%- for measure in group.measures %}
    select
        level, area_id, stichtag,
        '{{ measure }}' as measure,
        cast({{ measure }} as double) as measure_value,
        {{ measure ~ '_suppressed_cells' if measure in group.suppressed else '0' }} as suppressed_cells
    from area_measures
    {%- if not (outer.last and loop.last) %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- endfor %}
),

joined as (
    select
        c.indicator_id,
        n.level,
        n.area_id,
        n.stichtag,
        n.measure_value as numerator,
        d.measure_value as denominator,
        c.denominator_measure,
        cast(c.factor as double) as factor,
        c.unit,
        coalesce(n.suppressed_cells, 0) + coalesce(d.suppressed_cells, 0) as suppressed_input_cells
    from catalogue as c
    inner join measures_long as n
        on n.measure = c.numerator_measure
    left join measures_long as d
        on d.measure = c.denominator_measure
        and d.level = n.level
        and d.area_id = n.area_id
        and d.stichtag = n.stichtag
),

final as (
    select
        indicator_id,
        level,
        area_id,
        stichtag,
        numerator,
        denominator,
        case
            when numerator is null then null
            when denominator_measure is null then numerator * factor
            when denominator is null or denominator = 0 then null
            else numerator * factor / denominator
        end as value,
        unit,
        suppressed_input_cells,
        nullif(concat_ws(',',
            case when numerator is null or (denominator_measure is not null and denominator is null)
                then 'source_missing' end,
            case when denominator = 0 then 'denominator_zero' end,
            case when suppressed_input_cells > 0 then 'input_suppressed' end
        ), '') as flags
    from joined
)

select * from final
