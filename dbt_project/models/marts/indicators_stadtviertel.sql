-- depends_on: {{ ref('indicator_catalogue') }}
{{ config(materialized='view') }}
{{ wide_indicator_view('stadtviertel') }}
