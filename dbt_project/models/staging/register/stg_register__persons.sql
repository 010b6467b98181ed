{{ config(**stichtag_rows()) }}
with source as (
    select * from {{ source('melderegister', 'register_persons') }}
),

renamed as (
    select
        stichtag,
        {{ gemeinde_of('register_persons') }} as gemeinde,
        person_key,
        birth_year,
        birth_month,
        {{ age_at('birth_year', 'birth_month', 'stichtag') }} as age,
        sex,
        nationality_1,
        nationality_2,
        -- Foreign national: no German nationality (code 000) among the nationalities given.
        (nationality_1 <> '000' and coalesce(nationality_2, '') <> '000') as is_foreign,
        migration_background = 'j' as has_migration_background,
        street_key,
        house_number,
        {{ normalize_suffix('house_number_suffix') }} as house_number_suffix,
        household_key,
        moved_in_date,
        residence_status,
        residence_status = '{{ var("resident_status") }}' as is_resident,
        _record_key,
        _source_file,
        _source_line
    from source
)

select * from renamed
