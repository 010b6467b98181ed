{{ config(**stichtag_rows()) }}
with source as (
    select * from {{ source('sozialamt', 'sozialamt_sgb12') }}
),

renamed as (
    select
        stichtag,
        {{ gemeinde_of('sozialamt_sgb12') }} as gemeinde,
        case_number as record_id,
        benefit_type,
        birth_year,
        -- The case list gives the birth year only: age in completed years at the 31.12. Stichtag.
        extract(year from stichtag) - birth_year as age,
        sex,
        street_name,
        {{ normalize_street_name('street_name') }} as street_name_normalized,
        house_number_text,
        {{ house_number_from_text('house_number_text') }} as house_number,
        {{ house_number_suffix_from_text('house_number_text') }} as house_number_suffix,
        benefit_start,
        _record_key,
        _source_file,
        _source_line
    from source
)

select * from renamed
