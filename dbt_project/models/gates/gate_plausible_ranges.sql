{#- Input of the quality gate `plausible_ranges`: every indicator value that is not null, at every
    level. The ranges (catalogue: plausible_min, plausible_max; 0–100 for shares) and the levels
    they apply at (data_quality/gates.yml) are applied by the gate. -#}
select indicator_id, level, area_id, stichtag, value
from {{ ref('fct_indicator_values') }}
where value is not null
