/* lineage: the formulas come from the catalogue (registry), as the seed publishes them; depends_on: {{ ref('indicator_catalogue') }} */
{#- Every catalogue indicator for every unit of today's Gebietsstand at every Stichtag: the time
    series on today's boundaries (macro indicator_values over int_area_measures_current). -#}
{{ indicator_values('int_area_measures_current') }}
