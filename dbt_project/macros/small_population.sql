{#- The small-population rule, in one place for everything that applies it: a rate taken over
    more than 0 and fewer persons than its indicator's minimum population is not published
    (disclosure_cells withholds its numerator as `small_population`, public_values names that
    reason, and gate_plausible_ranges leaves such rates out because no release publishes them).
    `min_population` is the catalogue's column `disclosure_min_population`; empty means the var. -#}
{% macro min_population(column) -%}
    coalesce({{ column }}, {{ var('disclosure_min_population') }})
{%- endmacro %}

{% macro below_min_population(denominator, min_population) -%}
    ({{ denominator }} > 0 and {{ denominator }} < {{ min_population }})
{%- endmacro %}
