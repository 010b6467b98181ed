{#- Households per Baublock and Stichtag (all, by size, with children, single parents): one keyed
    count per measure the Kennzahlenkatalog assigns to this model, of the households that meet its
    `condition`. -#}
{{ config(**stichtag_incremental()) }}
with households as (
    select * from {{ ref('int_households') }}
    where block_id is not null and {{ stichtag_rebuilt('stichtag') }}
)

select
    block_id,
    stichtag,
    {{ catalogue_counts('int_block_household_measures') | join(",\n    ") }}
from households
group by block_id, stichtag
