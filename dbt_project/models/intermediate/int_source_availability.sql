{#- Which sources were delivered for which Stichtag. An indicator whose source is missing for a
    Stichtag is null and flagged, never 0. -#}
with stichtage as (
    select * from {{ ref('int_stichtage') }}
)

select
    s.stichtag,
    {%- for topic in measure_topics() %}
    exists (select 1 from {{ source('raw', topic) }} as r where r.stichtag = s.stichtag) as has_{{ topic }}{{ "," if not loop.last }}
    {%- endfor %}
from stichtage as s
