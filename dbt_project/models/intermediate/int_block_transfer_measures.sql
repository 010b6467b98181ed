{#- Transfer recipients per Baublock from the departments' address lists. -#}
with records as (
    select * from {{ ref('int_transfer_records_assigned_to_blocks') }}
    where block_id is not null
)

select
    block_id,
    stichtag,
    {{ keyed_count("source = 'jobcenter_sgb2'", 'sgb2_recipients') }},
    {{ keyed_count("source = 'jobcenter_sgb2' and not is_employable", 'sgb2_non_employable') }},
    {{ keyed_count("source = 'jobcenter_sgb2' and not is_employable and age < 15", 'sgb2_non_employable_under_15') }},
    {{ keyed_count("source = 'jobcenter_sgb2' and months_in_receipt >= " ~ var('sgb2_long_term_months'), 'sgb2_long_term_recipients') }},
    {{ keyed_count("source = 'sozialamt_sgb12' and benefit_type = 'GSiAE'", 'sgb12_gsiae_recipients') }},
    {{ keyed_count("source = 'sozialamt_sgb12' and benefit_type = 'GSiAE' and age >= " ~ var('senior_age_limit'), 'sgb12_gsiae_senior_recipients') }},
    {{ keyed_count("source = 'sozialamt_sgb12' and benefit_type = 'HLU'", 'sgb12_hlu_recipients') }},
    {{ keyed_count("source = 'wohngeld'", 'wohngeld_households') }}
from records
group by block_id, stichtag
