{#- (Each delivered Baublock row is one record for the Cell Key Method: its key enters the cell
    key of every count it contributes to.)
    Labour-market counts of the Bundesagentur für Arbeit per Baublock. Cells the BA suppressed
    ('*', true value 1 or 2) contribute nothing to the sum and are counted, so every aggregate
    says how many suppressed cells it lacks. -#}
{%- set columns = [('unemployed_total', 'unemployed'), ('unemployed_sgb2', 'unemployed_sgb2'),
    ('unemployed_sgb3', 'unemployed_sgb3'), ('long_term_unemployed', 'long_term_unemployed'),
    ('employees_svb', 'employees_svb'), ('low_earners', 'low_earners')] -%}
with labour_market as (
    select * from {{ ref('stg_arbeitsagentur__labour_market') }}
)

select
    block_id,
    stichtag,
    {%- for column, measure in columns %}
    coalesce({{ column }}, 0) as {{ measure }},
    case when {{ column }}_suppressed then 1 else 0 end as {{ measure }}_suppressed_cells,
    case when {{ column }} > 0 then _record_key else 0 end as {{ measure }}__key{{ "," if not loop.last }}
    {%- endfor %}
from labour_market
