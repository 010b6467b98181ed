{#- Area, green space and noise-exposed area per Baublock (Umweltamt): the Kennzahlenkatalog's
    measures of this model, each from its delivered `column`. -#}
select
    block_id,
    stichtag,
    {%- for m in catalogue_registry().model_measures['int_block_environment_measures'] %}
    {{ m.column }}{{ " as " ~ m.id if m.column != m.id }}{{ "," if not loop.last }}
    {%- endfor %}
from {{ ref('stg_umwelt__environment') }}
