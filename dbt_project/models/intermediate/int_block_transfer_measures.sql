{#- Transfer recipients per Baublock from the departments' address lists. -#}
with records as (
    select * from {{ ref('int_transfer_records_assigned_to_blocks') }}
    where block_id is not null
)

select
    block_id,
    stichtag,
    count(case when source = 'jobcenter_sgb2' then 1 end) as sgb2_recipients,
    count(case when source = 'jobcenter_sgb2' and not is_employable then 1 end) as sgb2_non_employable,
    count(case when source = 'sozialamt_sgb12' and benefit_type = 'GSiAE' then 1 end) as sgb12_gsiae_recipients,
    count(case when source = 'sozialamt_sgb12' and benefit_type = 'HLU' then 1 end) as sgb12_hlu_recipients,
    count(case when source = 'wohngeld' then 1 end) as wohngeld_households
from records
group by block_id, stichtag
