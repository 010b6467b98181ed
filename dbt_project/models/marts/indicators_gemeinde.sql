-- depends_on: {{ ref('indicator_catalogue') }}
{#- rows by Stichtag, as fct_indicator_values' (macros/incremental_stichtage.sql) -#}
{{ config(**stichtag_rows(catalogue_lag_years())) }}
{{ wide_indicator_view('gemeinde', ref('fct_indicator_values'), ref('dim_area')) }}
