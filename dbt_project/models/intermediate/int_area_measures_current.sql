{#- Measures for every unit of today's Gebietsstand at every Stichtag: the harmonised time series
    (macro area_measures). -#}
{#- Incremental by Stichtag as int_area_measures while today's Gebietsstand keeps its Baublöcke;
    every Stichtag when it moved (macros/incremental_stichtage.sql). -#}
{{ config(**stichtag_incremental(catalogue_lag_years(), on_current_gebietsstand=true)) }}
{{ area_measures('current') }}
