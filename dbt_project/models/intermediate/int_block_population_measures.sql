{#- Residents (main residence) per Baublock and Stichtag, by the age groups and attributes the
    indicators need. Age limits are dbt vars (dbt_project.yml). -#}
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
        {{ keyed_count("is_foreign", 'foreign_nationals') }}
    from persons
    group by block_id, stichtag
)

select * from counted
