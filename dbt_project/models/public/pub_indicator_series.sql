{#- The harmonised time series: every Stichtag on today's Gebietsstand (column gebietsstand: the
    date its boundaries hold from), disclosure-controlled by the same pattern as the Stichtag tables
    (macro public_indicator_values). `estimated` in flags marks values of a source delivered only
    on coarser units that a recut cut through. -#}
{{ config(alias='indicator_series') }}
{{ public_indicator_values('today') }}
