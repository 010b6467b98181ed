{#- Children per Baublock and Stichtag from the Gesundheitsamt, Jugendamt and Schulamt records: one
    keyed count per measure the Kennzahlenkatalog assigns to this model, of the records of its
    source that meet its `condition`. -#}
{{ config(**stichtag_incremental()) }}
with records as (
    select * from {{ ref('int_child_records_assigned_to_blocks') }}
    where block_id is not null and {{ stichtag_rebuilt('stichtag') }}
)

select
    block_id,
    stichtag,
    {{ catalogue_counts('int_block_child_measures', source_column='source') | join(",\n    ") }}
from records
group by block_id, stichtag
