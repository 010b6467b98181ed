{#- Every catalogue indicator for every unit of today's Gebietsstand at every Stichtag: the time
    series on today's boundaries (macro indicator_values over int_area_measures_current). -#}
{{ indicator_values('int_area_measures_current') }}
