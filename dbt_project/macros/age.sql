{#- Completed years of age at a Stichtag from birth year and month (the register gives no day).
    A person born in the Stichtag's month has had the birthday: the Stichtag is the month's end. -#}
{% macro age_at(birth_year, birth_month, stichtag) -%}
    (extract(year from {{ stichtag }}) - {{ birth_year }}
        - case when {{ birth_month }} > extract(month from {{ stichtag }}) then 1 else 0 end)
{%- endmacro %}
