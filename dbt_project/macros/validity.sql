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

{#- Two sums differ (one null and the other not, or apart by more than a relative 1e-6: sums of
    fractions, such as a crosswalked source, are not exact in floating point). -#}
{% macro values_differ(a, b) -%}
    (({{ a }} is null) <> ({{ b }} is null) or abs({{ a }} - {{ b }}) > 1e-6 * greatest(1, abs({{ a }})))
{%- endmacro %}
