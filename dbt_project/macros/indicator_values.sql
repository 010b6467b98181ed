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

{#- The catalogue's formulas are known when the model compiles (registry `indicators`). Each
    indicator is a row of constants (`indicators`: its id, denominator measure, factor and unit),
    crossed with the area measures: one scan of them, each indicator's numerator and denominator
    read by a `case` on its number. No long table of all measures is joined back to itself (at
    Berlin size such a join took 3 minutes), and the measures are not scanned once per indicator
    either (a union of one select per indicator, 64 in the shipped catalogue, which Spark planned
    as 64 file scans). -#}
{%- set indicators = catalogue_registry().indicators %}
with area_measures as (
    select * from {{ ref(area_model) }}
    {%- if incremental %}
    where {{ stichtag_rebuilt('stichtag', catalogue_lag_years()) }}
    {%- endif %}
),

indicators as (
    select * from (values
    {%- for ind in indicators %}
        ({{ loop.index }}, {{ text_literal(ind.id) }}, {{ text_literal(ind.denominator) if ind.denominator else 'null' }},
            cast({{ ind.factor }} as double), {{ text_literal(ind.unit) }}){{ "," if not loop.last }}
    {%- endfor %}
    ) as catalogue (indicator_no, indicator_id, denominator_measure, factor, unit)
),

joined as (
    select
        indicators.indicator_id,
        area_measures.level,
        area_measures.area_id,
        area_measures.stichtag,
        {{ _case_per_indicator(indicators, 'numerator', 'cast(null as double)') }} as numerator,
        {{ _case_per_indicator(indicators, 'denominator', 'cast(null as double)') }} as denominator,
        cast(indicators.denominator_measure as {{ dbt.type_string() }}) as denominator_measure,
        cast(indicators.factor as double) as factor,
        indicators.unit,
        {{ _case_per_indicator(indicators, 'suppressed', '0', suppressed) }} as suppressed_input_cells,
        {{ _case_per_indicator(indicators, 'estimated', 'false', estimated_by) }} as is_estimated
    from area_measures
    cross join indicators
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

{#- `case` on the indicator's number (`indicators.indicator_no`) giving, per indicator, the area
    measure `part` reads: its numerator or denominator as double, or the sum of the input cells the
    source withheld (`suppressed`: measure -> its column) or whether an input was estimated
    (`estimated_by`: measure -> its flag column) for numerator and denominator; `otherwise` for the
    indicators without one. -#}
{% macro _case_per_indicator(indicators, part, otherwise, columns={}) -%}
    {%- set branches = [] -%}
    {%- for ind in indicators -%}
        {%- set num, den = ind.numerator, ind.denominator -%}
        {%- if part == 'numerator' -%}
            {%- do branches.append((loop.index, 'cast(area_measures.' ~ num ~ ' as double)')) -%}
        {%- elif part == 'denominator' and den -%}
            {%- do branches.append((loop.index, 'cast(area_measures.' ~ den ~ ' as double)')) -%}
        {%- elif part in ('suppressed', 'estimated') and (num in columns or (den and den in columns)) -%}
            {%- set neutral = '0' if part == 'suppressed' else 'false' -%}
            {%- set operator = ' + ' if part == 'suppressed' else ' or ' -%}
            {%- set terms = [] -%}
            {%- for measure in [num, den] -%}
                {%- do terms.append('coalesce(' ~ ('area_measures.' ~ columns[measure] if measure and measure in columns else neutral) ~ ', ' ~ neutral ~ ')') -%}
            {%- endfor -%}
            {%- do branches.append((loop.index, terms | join(operator))) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if branches -%}
    case indicators.indicator_no
        {%- for number, expression in branches %}
            when {{ number }} then {{ expression }}
        {%- endfor %}
            else {{ otherwise }}
        end
    {%- else -%}
    {{ otherwise }}
    {%- endif -%}
{%- endmacro %}
