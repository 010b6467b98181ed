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
        count(*) as residents,
        count(case when age < {{ var('minor_age_limit') }} then 1 end) as residents_minor,
        count(case when age >= {{ var('senior_age_limit') }} then 1 end) as residents_senior,
        count(case when age < {{ var('quotient_young_limit') }} then 1 end) as residents_quotient_young,
        count(case when age >= {{ var('quotient_old_limit') }} then 1 end) as residents_quotient_old,
        count(case when age >= {{ var('quotient_young_limit') }} and age < {{ var('quotient_old_limit') }} then 1 end)
            as residents_quotient_working,
        count(case when age >= {{ var('working_age_min') }} and age <= {{ var('working_age_max') }} then 1 end)
            as residents_working_age,
        count(case when age < {{ var('sgb2_age_limit') }} then 1 end) as residents_below_sgb2_age,
        count(case when is_foreign then 1 end) as foreign_nationals
    from persons
    group by block_id, stichtag
)

select * from counted
