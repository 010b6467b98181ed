-- depends_on: {{ ref('indicator_catalogue') }}
{#- The Kreis's wide view, where the deployment has a level kreis (a Kreis's vars.yml,
    docs/kreis.md); a city has none, and there the model is disabled. Rows by Stichtag, as
    fct_indicator_values' (macros/incremental_stichtage.sql). -#}
{{ config(enabled='kreis' in var('nested_levels'), **stichtag_rows(catalogue_lag_years())) }}
{{ wide_indicator_view('kreis', ref('fct_indicator_values'), ref('dim_area')) }}
