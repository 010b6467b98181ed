{#- Schemas are the layer names (staging, intermediate, marts, reference), not "<target>_<layer>":
    analysts query `marts.fct_indicator_values`, not `main_marts.fct_indicator_values`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
