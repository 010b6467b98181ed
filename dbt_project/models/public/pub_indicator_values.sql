{#- The indicator values of every Stichtag on the Gebietsstand valid then, disclosure-controlled
    (macro public_indicator_values). -#}
{{ config(alias='indicator_values') }}
{{ public_indicator_values('stichtag') }}
