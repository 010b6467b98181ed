{{ config(materialized='view') }}
{{ wide_indicator_view('baublock') }}
