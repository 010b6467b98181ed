{#- The configuration of every published index: int_public_index_catalogue (Python) under the
    enforced contract of _public.yml. -#}
{{ config(alias='index_catalogue') }}

select
    index_id,
    kind,
    name_de,
    description_de,
    levels,
    config
from {{ ref('int_public_index_catalogue') }}
