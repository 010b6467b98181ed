{#- Gebietsstand: a row is valid at a date when valid_from <= date <= valid_to, where valid_to is
    inclusive ("gültig bis") and null while the row still holds.
    Written without OR on purpose: `valid_to is null or valid_to >= d` inside a LEFT JOIN makes
    DuckDB fall back to a nested-loop join (minutes instead of a second at a million rows);
    coalesce keeps the equality keys of the join usable for a hash join. -#}
{% macro valid_at(alias, at) -%}
    ({{ alias }}.valid_from <= {{ at }} and coalesce({{ alias }}.valid_to, {{ open_end() }}) >= {{ at }})
{%- endmacro %}

{#- The date that stands for "still valid". -#}
{% macro open_end() -%}
    cast('9999-12-31' as date)
{%- endmacro %}

{#- Two sums differ (one null and the other not, or apart by more than 0.001). Counts of persons
    are whole numbers, so a real difference is at least 1; sums of fractions (areas, a crosswalked
    source, rounded per area to 6 decimals) may differ in their last digits. -#}
{% macro values_differ(a, b) -%}
    (({{ a }} is null) <> ({{ b }} is null) or abs({{ a }} - {{ b }}) > 0.001)
{%- endmacro %}
