{#- Measures for every unit of every level and Stichtag, on the Gebietsstand valid at that
    Stichtag (macro area_measures). -#}
{#- Incremental by Stichtag: a Stichtag's rows read the Baublock values of the Stichtage its lagged
    measures look back to, so it is rebuilt with them (macros/incremental_stichtage.sql). -#}
{{ config(**stichtag_incremental(catalogue_lag_years())) }}
{{ area_measures('stichtag') }}
