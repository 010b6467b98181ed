/* lineage: the formulas come from the catalogue (registry), as the seed publishes them; depends_on: {{ ref('indicator_catalogue') }} */
{#- Every catalogue indicator for every unit of today's Gebietsstand at every Stichtag: the time
    series on today's boundaries (macro indicator_values over int_area_measures_current). -#}
{#- Incremental by Stichtag as int_area_measures_current (macros/incremental_stichtage.sql). -#}
{{ config(**stichtag_incremental(catalogue_lag_years(), on_current_gebietsstand=true)) }}
{{ indicator_values('int_area_measures_current', incremental=true) }}
