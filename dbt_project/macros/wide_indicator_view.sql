{#- One row per unit and Stichtag of a level, one column per catalogue indicator: the shape
    analysts paste into a spreadsheet. Columns follow the catalogue (generated/default/seeds/indicator_catalogue.csv).

    The one definition of the wide views, for both places that have them:
    - the marts' views indicators_<level>: `values` = fct_indicator_values, which has no names, so
      they come from `areas` (dim_area, valid at the Stichtag);
    - the views of a release's DuckDB file: `values` = the release's own indicator_values (names
      included, no `areas`); the model release_indicator_views renders their SQL, the release
      executes it (orchestration/release/build.py). -#}
{% macro wide_indicator_view(level, values, areas=none) %}
{%- set ids = [] -%}
{%- if execute -%}
    {%- set result = run_query("select indicator_id from " ~ ref('indicator_catalogue') ~ " order by indicator_id") -%}
    {%- for row in result.rows %}{% do ids.append(row[0]) %}{% endfor -%}
{%- endif %}
select
    v.area_id,
    min({{ 'a' if areas is not none else 'v' }}.area_name) as area_name,
    v.stichtag,
    {%- for id in ids %}
    max(case when v.indicator_id = '{{ id }}' then v.value end) as {{ id }}{{ "," if not loop.last }}
    {%- endfor %}
from {{ values }} as v
{%- if areas is not none %}
left join {{ areas }} as a
    on a.level = v.level
    and a.area_id = v.area_id
    and {{ valid_at('a', 'v.stichtag') }}
{%- endif %}
where v.level = '{{ level }}'
group by v.area_id, v.stichtag
order by v.area_id, v.stichtag
{% endmacro %}

{#- `text` as an SQL string literal (for SQL that a model stores as data). -#}
{% macro text_literal(text) -%}
    {{ return(adapter.dispatch('text_literal')(text)) }}
{%- endmacro %}

{% macro default__text_literal(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}
