{#- Area, green space and noise-exposed area per Baublock (Umweltamt). -#}
select
    block_id,
    stichtag,
    area_m2,
    green_m2,
    noise_m2
from {{ ref('stg_umwelt__environment') }}
