{#- Input of the quality gate `plausible_ranges`: every indicator value that is not null, at every
    level, but the rates that no release publishes because they are taken over too few people:
    under suppression (var disclosure_method), a `count` rate whose numerator is above 0 and whose
    denominator is above 0 and below the indicator's minimum population (disclosure_min_population)
    is withheld as `small_population` (disclosure_cells, public_values). Over so few its value is
    noise, not a sign of a broken delivery: an aging index of 2,500 (225 residents of 65 and older,
    9 under 15) in a Stadtviertel of 382 residents stopped a Kreis's release. The Cell Key Method
    withholds nothing, so there every value is checked. The ranges (catalogue: plausible_min,
    plausible_max; 0–100 for shares) and the levels they apply at (data_quality/gates.yml) are
    applied by the gate. -#}
select v.indicator_id, v.level, v.area_id, v.stichtag, v.value
from {{ ref('fct_indicator_values') }} as v
inner join {{ ref('indicator_catalogue') }} as c
    on v.indicator_id = c.indicator_id
where
    v.value is not null
    {%- if var('disclosure_method') == 'suppression' %}
    and not (
        c.disclosure_rule = 'count'
        and c.denominator_measure is not null
        and v.numerator > 0
        and {{ below_min_population('v.denominator', min_population('c.disclosure_min_population')) }}
    )
    {%- endif %}
