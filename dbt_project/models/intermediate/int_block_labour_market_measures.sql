{#- (Each delivered Baublock row is one record for the Cell Key Method: its key enters the cell
    key of every count it contributes to.)
    Labour-market counts of the Bundesagentur für Arbeit per Baublock. Cells the BA suppressed
    ('*', true value 1 or 2) contribute nothing to the sum and are counted, so every aggregate
    says how many suppressed cells it lacks. -#}
{#- the Kennzahlenkatalog's measures of this model, each from its delivered `column` -#}
{%- set measures = catalogue_registry().model_measures['int_block_labour_market_measures'] -%}
with labour_market as (
    select * from {{ ref('stg_arbeitsagentur__labour_market') }}
)

select
    block_id,
    stichtag,
    {%- for m in measures %}
    coalesce({{ m.column }}, 0) as {{ m.id }},
    case when {{ m.column }}_suppressed then 1 else 0 end as {{ m.id }}_suppressed_cells,
    case when {{ m.column }} > 0 then _record_key else 0 end as {{ m.id }}__key{{ "," if not loop.last }}
    {%- endfor %}
from labour_market
