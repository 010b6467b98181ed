{#- Gebietsstand: a row is valid at a date when valid_from <= date and (valid_to is null or
    valid_to >= date). valid_to is inclusive, as the statistics office writes it ("gültig bis"). -#}
{% macro valid_at(alias, at) -%}
    ({{ alias }}.valid_from <= {{ at }} and ({{ alias }}.valid_to is null or {{ alias }}.valid_to >= {{ at }}))
{%- endmacro %}
