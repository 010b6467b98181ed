{#- Which sources were delivered for which Stichtag (and, for lagged measures, for the Stichtag
    that many years earlier). An indicator whose source is missing for a Stichtag is null and
    flagged, never 0. Read from each source's staging model (the catalogue's `staging`), which
    keeps every row of its raw table. -#}
{%- set staging = catalogue_registry().staging_models %}
with stichtage as (
    select * from {{ ref('int_stichtage') }}
)

select
    s.stichtag,
    {%- for a in measure_availabilities() %}
    exists(
        select 1 from {{ ref(staging[a.topic]) }} as r
        where r.stichtag = {% if a.years %}cast({{ dbt.dateadd('year', -a.years, 's.stichtag') }} as date){% else %}s.stichtag{% endif %}
    ) as has_{{ a.name }}{{ "," if not loop.last }}
    {%- endfor %}
from stichtage as s
