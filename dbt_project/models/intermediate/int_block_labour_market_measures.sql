{#- (Each delivered Baublock row is one record for the Cell Key Method: its key enters the cell
    key of every count it contributes to.)
    Labour-market counts of the Bundesagentur für Arbeit per Baublock. Cells the BA suppressed
    ('*', true value 1 or 2) contribute nothing to the sum and are counted, so every aggregate
    says how many suppressed cells it lacks. -#}
with labour_market as (
    select * from {{ ref('stg_arbeitsagentur__labour_market') }}
)

select
    block_id,
    stichtag,
    coalesce(unemployed_total, 0) as unemployed,
    case when unemployed_total_suppressed then 1 else 0 end as unemployed_suppressed_cells,
    case when unemployed_total > 0 then _record_key else 0 end as unemployed__key,
    coalesce(long_term_unemployed, 0) as long_term_unemployed,
    case when long_term_unemployed_suppressed then 1 else 0 end as long_term_unemployed_suppressed_cells,
    case when long_term_unemployed > 0 then _record_key else 0 end as long_term_unemployed__key,
    coalesce(employees_svb, 0) as employees_svb,
    case when employees_svb_suppressed then 1 else 0 end as employees_svb_suppressed_cells,
    case when employees_svb > 0 then _record_key else 0 end as employees_svb__key
from labour_market
