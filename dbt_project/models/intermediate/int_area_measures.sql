{#- Measures for every unit of every level and Stichtag, on the Gebietsstand valid at that
    Stichtag (macro area_measures). -#}
{{ area_measures('stichtag') }}
