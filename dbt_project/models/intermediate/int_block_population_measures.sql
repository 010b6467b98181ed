{#- Residents (main residence) per Baublock and Stichtag, by the age groups and attributes the
    indicators need. The age limits of the quotients are dbt vars (dbt_project.yml); the fixed age
    bands are those of the Kennzahlenkatalog's ids (residents_age_00_02 = under 3, …). -#}
{%- set bands = [('00_02', 0, 3), ('03_05', 3, 6), ('06_09', 6, 10), ('10_14', 10, 15), ('15_17', 15, 18),
    ('18_24', 18, 25), ('25_44', 25, 45), ('45_64', 45, 65), ('65_79', 65, 80)] -%}
with persons as (
    select * from {{ ref('int_persons_assigned_to_blocks') }}
    where is_resident and block_id is not null
),

counted as (
    select
        block_id,
        stichtag,
        {{ keyed_count('true', 'residents') }},
        {{ keyed_count("age < " ~ var('minor_age_limit'), 'residents_minor') }},
        {{ keyed_count("age >= " ~ var('senior_age_limit'), 'residents_senior') }},
        {{ keyed_count("age < " ~ var('quotient_young_limit'), 'residents_quotient_young') }},
        {{ keyed_count("age >= " ~ var('quotient_old_limit'), 'residents_quotient_old') }},
        {{ keyed_count("age >= " ~ var('quotient_young_limit') ~ " and age < " ~ var('quotient_old_limit'), 'residents_quotient_working') }},
        {{ keyed_count("age >= " ~ var('working_age_min') ~ " and age <= " ~ var('working_age_max'), 'residents_working_age') }},
        {{ keyed_count("age < " ~ var('sgb2_age_limit'), 'residents_below_sgb2_age') }},
        {{ keyed_count("age < 15", 'residents_under_15') }},
        {{ keyed_count("age >= 60 and age < 80", 'residents_60_79') }},
        {%- for id, low, high in bands %}
        {{ keyed_count("age >= " ~ low ~ " and age < " ~ high, 'residents_age_' ~ id) }},
        {%- endfor %}
        {{ keyed_count("age >= 80", 'residents_age_80_plus') }},
        {{ keyed_count("is_foreign", 'foreign_nationals') }},
        {{ keyed_count("has_migration_background", 'migration_background') }},
        {{ keyed_count("moved_in_date <= cast(" ~ dbt.dateadd('year', -5, 'stichtag') ~ " as date)", 'residents_5y_at_address') }},
        {{ keyed_count("moved_in_date <= cast(" ~ dbt.dateadd('year', -10, 'stichtag') ~ " as date)", 'residents_10y_at_address') }}
    from persons
    group by block_id, stichtag
)

select * from counted
