/* lineage: the formulas come from the catalogue (registry), as the seed publishes them; depends_on: {{ ref('indicator_catalogue') }} */
{#- Every catalogue indicator for every unit, level and Stichtag, on the Gebietsstand valid at the
    Stichtag (macro indicator_values). -#}
{{ indicator_values('int_area_measures') }}
