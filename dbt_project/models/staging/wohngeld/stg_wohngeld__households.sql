{{ config(**stichtag_rows()) }}
with source as (
    select * from {{ source('wohngeld', 'wohngeld') }}
),

renamed as (
    select
        stichtag,
        {{ gemeinde_of('wohngeld') }} as gemeinde,
        application_number as record_id,
        street_name,
        {{ normalize_street_name('street_name') }} as street_name_normalized,
        house_number_text,
        {{ house_number_from_text('house_number_text') }} as house_number,
        {{ house_number_suffix_from_text('house_number_text') }} as house_number_suffix,
        household_size,
        benefit_eur,
        approved_until,
        _record_key,
        _source_file,
        _source_line
    from source
)

select * from renamed
