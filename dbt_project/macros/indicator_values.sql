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

{#- One scan of the area measures per indicator, its numerator and denominator read as columns:
    the catalogue's formula is known when the model compiles (registry `indicators`), so there is
    no long table of all measures to join back to itself (at Berlin size that join took 3 minutes). -#}
with area_measures as (
    select * from {{ ref(area_model) }}
    {%- if incremental %}
    where {{ stichtag_rebuilt('stichtag', catalogue_lag_years()) }}
    {%- endif %}
),

joined as (
    {%- for ind in catalogue_registry().indicators %}
    {%- set num = ind.numerator %}
    {%- set den = ind.denominator %}
    select
        {{ text_literal(ind.id) }} as indicator_id,
        level,
        area_id,
        stichtag,
        cast({{ num }} as double) as numerator,
        {{ 'cast(' ~ den ~ ' as double)' if den else 'cast(null as double)' }} as denominator,
        {{ text_literal(den) if den else 'cast(null as ' ~ dbt.type_string() ~ ')' }} as denominator_measure,
        cast({{ ind.factor }} as double) as factor,
        {{ text_literal(ind.unit) }} as unit,
        coalesce({{ suppressed[num] if num in suppressed else '0' }}, 0)
            + coalesce({{ suppressed[den] if den and den in suppressed else '0' }}, 0) as suppressed_input_cells,
        coalesce({{ estimated_by[num] if num in estimated_by else 'false' }}, false)
            or coalesce({{ estimated_by[den] if den and den in estimated_by else 'false' }}, false) as is_estimated
    from area_measures
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
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
