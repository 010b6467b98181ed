/* lineage: the formulas come from the catalogue (registry), as the seed publishes them; depends_on: {{ ref('indicator_catalogue') }} */
{#- Every catalogue indicator for every unit, level and Stichtag, on the Gebietsstand valid at the
    Stichtag (macro indicator_values). -#}
{#- Incremental by Stichtag, as int_area_measures (macros/incremental_stichtage.sql). -#}
{{ config(**stichtag_incremental(catalogue_lag_years())) }}
{{ indicator_values('int_area_measures', incremental=true) }}
