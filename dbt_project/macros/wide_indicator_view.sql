{#- One row per unit and Stichtag of a level, one column per catalogue indicator: the shape
    analysts paste into a spreadsheet. Columns follow the catalogue (seeds/generated/indicator_catalogue.csv). -#}
{% macro wide_indicator_view(level) %}
{%- set ids = [] -%}
{%- if execute -%}
    {%- set result = run_query("select indicator_id from " ~ ref('indicator_catalogue') ~ " order by indicator_id") -%}
    {%- for row in result.rows %}{% do ids.append(row[0]) %}{% endfor -%}
{%- endif %}
with values_ as (
    select * from {{ ref('fct_indicator_values') }}
    where level = '{{ level }}'
),

areas as (
    select * from {{ ref('dim_area') }}
    where level = '{{ level }}'
)

select
    v.area_id,
    min(a.area_name) as area_name,
    v.stichtag,
    {%- for id in ids %}
    max(case when v.indicator_id = '{{ id }}' then v.value end) as {{ id }}{{ "," if not loop.last }}
    {%- endfor %}
from values_ as v
left join areas as a
    on a.area_id = v.area_id
    and {{ valid_at('a', 'v.stichtag') }}
group by v.area_id, v.stichtag
{% endmacro %}
