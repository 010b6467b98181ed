{#- The plan of an incremental build (orchestration.build_plan): which Stichtage it rebuilds and
    how its data tests are scoped, handed to dbt as JSON in the environment variable
    SOZIALMONITOR_DBT_PLAN (orchestration.dbt_runner). Read only while dbt executes: dbt would
    parse the whole project again for every new plan if it were a var, and what it parses does not
    depend on the plan. `name`: one of the plan's keys; `default` without a plan (every Stichtag:
    a full build, a build of a selection, the lineage docs, dbt run by hand). -#}
{% macro build_plan(name, default=none) -%}
    {%- if not execute -%}
        {{ return(default) }}
    {%- endif -%}
    {%- set text = env_var('SOZIALMONITOR_DBT_PLAN', '') -%}
    {%- if not text -%}
        {{ return(default) }}
    {%- endif -%}
    {{ return(fromjson(text).get(name, default)) }}
{%- endmacro %}
