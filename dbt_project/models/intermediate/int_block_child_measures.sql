{#- Children per Baublock and Stichtag from the Gesundheitsamt, Jugendamt and Schulamt records: one
    count per measure the Kennzahlenkatalog assigns to this model, of the records of its source
    that meet its `condition`. -#}
with records as (
    select * from {{ ref('int_child_records_assigned_to_blocks') }}
    where block_id is not null
)

select
    block_id,
    stichtag,
    {%- for m in catalogue_registry().model_measures['int_block_child_measures'] %}
    {{ keyed_count("source = '" ~ m.source ~ "'" ~ (" and " ~ m.condition if m.condition else ""), m.id) }}{{ "," if not loop.last }}
    {%- endfor %}
from records
group by block_id, stichtag
