{#- The indicator catalogue as published: what each indicator means and how it is computed. -#}
{{ config(alias='indicator_catalogue') }}

select * from {{ ref('indicator_catalogue') }}
