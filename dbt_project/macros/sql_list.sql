{#- The values as a list of SQL string literals, for `in (...)`: ['a', 'b'] → 'a', 'b'. Levels and
    codes come from the project's vars, never from data, so they are quoted, not escaped. -#}
{% macro sql_list(values) -%}
    {% for v in values %}'{{ v }}'{{ ", " if not loop.last }}{% endfor %}
{%- endmacro %}
