{#- The indicator catalogue applied to the measures of every unit, level and Stichtag of
    `area_model`, in long form. value = numerator × factor / denominator (or the count itself for
    count indicators); null with a flag where the denominator is 0 or the source was not delivered.
    Flags: source_missing, denominator_zero, input_suppressed (the BA withheld input cells) and
    estimated (a source delivered only on coarser units was spread over the Baublöcke by
    population, and this area cuts such a unit). -#}
{% macro indicator_values(area_model, incremental=false) %}
{%- set registry = measure_registry() -%}
{%- set estimated_by = {} -%}
{%- for group in registry if group.crosswalk %}{% for m in group.measures %}{% do estimated_by.update({m: group.topic ~ '_estimated'}) %}{% endfor %}{% endfor -%}
{%- set suppressed = {} -%}
{%- for group in registry %}{% for m, col in group.suppressed.items() %}{% do suppressed.update({m: m ~ '_suppressed_cells'}) %}{% endfor %}{% endfor -%}

with area_measures as (
    select * from {{ ref(area_model) }}
    {%- if incremental %}
    where {{ stichtag_rebuilt('stichtag', catalogue_lag_years()) }}
    {%- endif %}
),

catalogue as (
    select * from {{ ref('indicator_catalogue') }}
),

measures_long as (
    {%- for measure in all_measures() %}
    select
        level, area_id, stichtag,
        '{{ measure }}' as measure,
        cast({{ measure }} as double) as measure_value,
        {{ suppressed[measure] if measure in suppressed else '0' }} as suppressed_cells,
        {{ estimated_by[measure] if measure in estimated_by else 'false' }} as is_estimated
    from area_measures
    {%- if not loop.last %}
    union all
    {%- endif %}
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
        coalesce(n.suppressed_cells, 0) + coalesce(d.suppressed_cells, 0) as suppressed_input_cells,
        coalesce(n.is_estimated, false) or coalesce(d.is_estimated, false) as is_estimated
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
            case when suppressed_input_cells > 0 then 'input_suppressed' end,
            case when is_estimated then 'estimated' end
        ), '') as flags
    from joined
)

select * from final
{% endmacro %}
