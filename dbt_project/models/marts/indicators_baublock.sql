-- depends_on: {{ ref('indicator_catalogue') }}
{{ config(materialized='view') }}
{{ wide_indicator_view('baublock', ref('fct_indicator_values'), ref('dim_area')) }}
