{#- Measures for every unit of today's Gebietsstand at every Stichtag: the harmonised time series
    (macro area_measures). -#}
{{ area_measures('current') }}
