{#- The raw tables on an engine that does not hold them itself: Spark reads each source table as the
    lake's Parquet folder <lake>/<schema>/<table> (written by orchestration/engines.py, sync_lake).
    DuckDB holds the raw schema in its own file: nothing to do. Run as on-run-start. -#}
{% macro register_lake_sources() -%}
    {{ return(adapter.dispatch('register_lake_sources', 'sozialmonitor')()) }}
{%- endmacro %}

{% macro default__register_lake_sources() -%}
    select 1
{%- endmacro %}

{% macro spark__register_lake_sources() -%}
    {%- if execute -%}
    {%- set lake = env_var('SOZIALMONITOR_LAKE', '../lake') -%}
    {%- set schemas = [] -%}
    {%- for source in graph.sources.values() -%}
        {%- if source.schema not in schemas -%}
            {%- do schemas.append(source.schema) -%}
            {%- do run_query('create database if not exists ' ~ source.schema) -%}
        {%- endif -%}
        {#- dropped first: an external table, its files stay; a new lake file is read afresh -#}
        {%- do run_query('drop table if exists ' ~ source.schema ~ '.' ~ source.identifier) -%}
        {%- do run_query('create table ' ~ source.schema ~ '.' ~ source.identifier
            ~ " using parquet location '" ~ lake ~ '/' ~ source.schema ~ '/' ~ source.identifier ~ "'") -%}
    {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
