-- depends_on: {{ ref('indicator_catalogue') }}
{#- The SQL of the wide views a release's DuckDB file offers (indicators_<level>, one per public
    level), rendered by the same macro as the marts' views (wide_indicator_view) over the release's
    own table `main.indicator_values`: the release executes it in its file and has no SQL of its
    own for them. -#}
{%- set levels = var('public_levels') %}
{% for level in levels %}
select
    '{{ level }}' as level,
    'indicators_{{ level }}' as view_name,
    {{ text_literal(wide_indicator_view(level, 'main.indicator_values')) }} as view_sql
{{ "union all" if not loop.last }}
{%- endfor %}
